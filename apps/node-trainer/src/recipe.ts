import type { DatasetName } from '@resnet-ts/data';
import { OPTIMIZER_NAMES, SCHEDULER_NAMES } from '@resnet-ts/train';
import { MOMENTUM_OPTIMIZERS, type RunRecipe } from '@resnet-ts/train/node';
import { fraction, integer, integerList, number } from './parse.js';

/** Every hyper-parameter of a run, after defaults are filled in (train/node's run.json recipe). */
export type Recipe = RunRecipe;

/** Options given on the command line; anything left out comes from the recipe. */
export type RecipeOverrides = Partial<Recipe>;

/**
 * Default hyper-parameters by dataset. The MNIST recipe is the README's first command: tuned to
 * pass 97% test accuracy on the 2,000 held-out digits in a few CPU minutes. The CIFAR-10 recipe
 * is the usual ResNet one: SGD with momentum, OneCycle, weight decay 5e-4.
 */
const MNIST: Omit<Recipe, 'seed' | 'milestones'> = {
  epochs: 3,
  batchSize: 128,
  lr: 0.005,
  optimizer: 'adam',
  scheduler: 'onecycle',
  weightDecay: 0,
  momentum: 0.9,
  valSplit: 0.1,
};
const BY_DATASET: Record<DatasetName, Omit<Recipe, 'seed' | 'milestones'>> = {
  mnist: MNIST,
  // The IDX training files hold 60,000 digits: 1/12 of them is the usual 5,000 for validation.
  'mnist-idx': { ...MNIST, valSplit: 1 / 12 },
  cifar10: {
    epochs: 30,
    batchSize: 128,
    lr: 0.1,
    optimizer: 'sgd',
    scheduler: 'onecycle',
    weightDecay: 5e-4,
    momentum: 0.9,
    valSplit: 0.1,
  },
  // Fine-tuning pretrained weights (--weights), as torchvision's transfer-learning tutorial:
  // SGD with momentum at a rate that keeps the pretrained features, a few epochs.
  folder: {
    epochs: 5,
    batchSize: 32,
    lr: 0.01,
    optimizer: 'sgd',
    scheduler: 'cosine',
    weightDecay: 1e-4,
    momentum: 0.9,
    valSplit: 0.2,
  },
};

/** What a default may depend on: the dataset and the options resolved before it in the table. */
type Context = { dataset: DatasetName } & Partial<Recipe>;

/** One hyper-parameter: its flag, parser, help and default. */
interface RecipeOption<K extends keyof Recipe = keyof Recipe> {
  key: K;
  flag: string;
  help: string;
  /** Parses the flag's text; throws commander's InvalidArgumentError. */
  parse?: (text: string) => Recipe[K];
  choices?: readonly string[];
  /** Listed under "Advanced options" in --help. */
  advanced?: boolean;
  default: (c: Context) => Recipe[K];
  /** How the default is described in --help. */
  defaultHelp: string;
  /** The optimizers or schedulers that use it; giving it for another one draws a warning. */
  usedWith?: (r: Recipe) => string | undefined;
}

const byDataset = <K extends keyof (typeof BY_DATASET)['mnist']>(key: K) =>
  `the recipe: ${Object.entries(BY_DATASET)
    .map(([d, r]) => `${d} ${typeof r[key] === 'number' ? Number(r[key].toPrecision(4)) : r[key]}`)
    .join(', ')}`;

/**
 * The recipe's options, in the order their defaults are resolved (a default may use the
 * options before it). This one table gives the CLI its flags and help, the recipe its
 * defaults, and `--resume` the list of flags a run keeps; run.json's schema is train's.
 */
export const RECIPE_OPTIONS: RecipeOption[] = [
  {
    key: 'epochs',
    flag: '--epochs <n>',
    help: 'number of epochs',
    parse: integer(1),
    default: (c) => BY_DATASET[c.dataset].epochs,
    defaultHelp: byDataset('epochs'),
  },
  {
    key: 'batchSize',
    flag: '--batch-size <n>',
    help: 'images per batch',
    parse: integer(1),
    default: (c) => BY_DATASET[c.dataset].batchSize,
    defaultHelp: byDataset('batchSize'),
  },
  {
    key: 'optimizer',
    flag: '--optimizer <name>',
    help: 'optimizer',
    choices: OPTIMIZER_NAMES,
    default: (c) => BY_DATASET[c.dataset].optimizer,
    defaultHelp: byDataset('optimizer'),
  },
  {
    key: 'lr',
    flag: '--lr <rate>',
    help: 'learning rate; the peak rate for onecycle',
    parse: number(0),
    // The recipe's rate is tuned for the recipe's optimizer; another optimizer starts from a
    // rate it tolerates.
    default: (c) => {
      const base = BY_DATASET[c.dataset];
      if (c.optimizer === base.optimizer) return base.lr;
      return c.optimizer === 'sgd' ? 0.05 : 0.001;
    },
    defaultHelp: `${byDataset('lr')}; with another --optimizer 0.05 for sgd, 0.001 for the others`,
  },
  {
    key: 'scheduler',
    flag: '--scheduler <name>',
    help: 'learning-rate schedule',
    choices: SCHEDULER_NAMES,
    default: (c) => BY_DATASET[c.dataset].scheduler,
    defaultHelp: byDataset('scheduler'),
  },
  {
    key: 'weightDecay',
    flag: '--weight-decay <wd>',
    help: 'weight decay',
    parse: number(0, { inclusive: true }),
    default: (c) => BY_DATASET[c.dataset].weightDecay,
    defaultHelp: byDataset('weightDecay'),
  },
  {
    key: 'seed',
    flag: '--seed <n>',
    help: 'random seed for initialisation, shuffling and augmentation',
    parse: integer(0),
    default: () => 0,
    defaultHelp: '0',
  },
  {
    key: 'momentum',
    flag: '--momentum <m>',
    help: 'momentum for sgd and rmsprop',
    parse: number(0, { inclusive: true }),
    advanced: true,
    default: (c) => (c.optimizer === 'sgd' ? BY_DATASET[c.dataset].momentum : 0),
    defaultHelp: "0.9 for sgd, PyTorch's 0 for rmsprop",
    usedWith: (r) =>
      MOMENTUM_OPTIMIZERS.includes(r.optimizer) ? undefined : `--optimizer ${r.optimizer}`,
  },
  {
    key: 'milestones',
    flag: '--milestones <epochs>',
    help: 'epochs at which multistep divides the rate by 10',
    parse: integerList,
    advanced: true,
    default: (c) =>
      c.scheduler === 'multistep' && c.epochs !== undefined
        ? [Math.round(c.epochs / 2), Math.round((c.epochs * 3) / 4)]
        : [],
    defaultHelp: 'half and three quarters of the epochs',
    usedWith: (r) => (r.scheduler === 'multistep' ? undefined : `--scheduler ${r.scheduler}`),
  },
  {
    key: 'valSplit',
    flag: '--val-split <fraction>',
    help: 'fraction of the training set held out for validation',
    parse: fraction,
    advanced: true,
    default: (c) => BY_DATASET[c.dataset].valSplit,
    defaultHelp: byDataset('valSplit'),
  },
];

/** Fills in the defaults for `dataset` under what the user gave explicitly; nothing given is changed. */
export function resolveRecipe(dataset: DatasetName, given: RecipeOverrides): Recipe {
  const context: Context = { dataset };
  for (const o of RECIPE_OPTIONS) {
    const value = given[o.key];
    (context as Record<string, unknown>)[o.key] = value === undefined ? o.default(context) : value;
  }
  const { dataset: _, ...recipe } = context;
  return recipe as Recipe;
}

/** Flags the user gave that the chosen optimizer or schedule does not use, with why. */
export function unusedOptions(recipe: Recipe, given: RecipeOverrides): string[] {
  return RECIPE_OPTIONS.flatMap((o) => {
    if (given[o.key] === undefined) return [];
    const other = o.usedWith?.(recipe);
    return other ? [`${o.flag.split(' ')[0]} has no effect with ${other}`] : [];
  });
}
