import { OPTIMIZER_NAMES } from './optim/create-optimizer.js';
import {
  integerParser,
  numberParser,
  parseFraction,
  parseIntegerList,
  type TextParser,
} from './parse-text.js';
import { MOMENTUM_OPTIMIZERS, type RunRecipe } from './run-recipe.js';
import { SCHEDULER_NAMES } from './schedulers/create-scheduler.js';

/** The hyper-parameters a dataset's recipe fixes; the seed and the milestones have general defaults. */
export type RecipeDefaults = Omit<RunRecipe, 'seed' | 'milestones'>;

const MNIST: RecipeDefaults = {
  epochs: 3,
  batchSize: 128,
  lr: 0.005,
  optimizer: 'adam',
  scheduler: 'onecycle',
  weightDecay: 0,
  momentum: 0.9,
  valSplit: 0.1,
};

/**
 * Tuned recipes for the datasets of `@resnet-ts/data`'s catalog, by name. The MNIST recipe is
 * the README's first command: tuned to pass 97% test accuracy on the 2,000 held-out digits in a
 * few CPU minutes. The CIFAR-10 recipe is the usual ResNet one: SGD with momentum, OneCycle,
 * weight decay 5e-4.
 */
export const DATASET_RECIPES = {
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
  // Fine-tuning pretrained weights, as torchvision's transfer-learning tutorial: SGD with
  // momentum at a rate that keeps the pretrained features, a few epochs.
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
} as const satisfies Record<string, RecipeDefaults>;

/** What a default may depend on: the dataset's recipe and the settings resolved before it. */
type Context = { base: RecipeDefaults } & Partial<RunRecipe>;

/** One hyper-parameter of a recipe: how it is read from text, described and defaulted. */
export interface RecipeSetting<K extends keyof RunRecipe = keyof RunRecipe> {
  key: K;
  /** What the value is called in a usage line, e.g. `n` in `--epochs <n>`. */
  valueName: string;
  help: string;
  /** Reads the value from text; throws a `ValueError`. Absent for a choice among `choices`. */
  parse?: TextParser<RunRecipe[K]>;
  choices?: readonly string[];
  /** Rarely changed: listed apart in a help screen. */
  advanced?: boolean;
  default: (c: Context) => RunRecipe[K];
  /** How the default is described in help. */
  defaultHelp: string;
  /** The setting that makes this one unused with its current value (momentum with adam), if any. */
  usedWith?: (r: RunRecipe) => keyof RunRecipe | undefined;
}

const byDataset = <K extends keyof RecipeDefaults>(key: K) =>
  `the recipe: ${Object.entries(DATASET_RECIPES as Record<string, RecipeDefaults>)
    .map(([d, r]) => `${d} ${typeof r[key] === 'number' ? Number(r[key].toPrecision(4)) : r[key]}`)
    .join(', ')}`;

/**
 * The recipe's settings, in the order their defaults are resolved (a default may use the
 * settings before it) and in run.json's order. This one table gives a command line its flags
 * and help, {@link resolveRecipe} its defaults, and a resumed run the settings it keeps.
 */
export const RECIPE_SETTINGS: readonly RecipeSetting[] = [
  {
    key: 'epochs',
    valueName: 'n',
    help: 'number of epochs',
    parse: integerParser(1),
    default: (c) => c.base.epochs,
    defaultHelp: byDataset('epochs'),
  },
  {
    key: 'batchSize',
    valueName: 'n',
    help: 'images per batch',
    parse: integerParser(1),
    default: (c) => c.base.batchSize,
    defaultHelp: byDataset('batchSize'),
  },
  {
    key: 'optimizer',
    valueName: 'name',
    help: 'optimizer',
    choices: OPTIMIZER_NAMES,
    default: (c) => c.base.optimizer,
    defaultHelp: byDataset('optimizer'),
  },
  {
    key: 'lr',
    valueName: 'rate',
    help: 'learning rate; the peak rate for onecycle',
    parse: numberParser(0),
    // The recipe's rate is tuned for the recipe's optimizer; another optimizer starts from a
    // rate it tolerates.
    default: (c) => {
      if (c.optimizer === c.base.optimizer) return c.base.lr;
      return c.optimizer === 'sgd' ? 0.05 : 0.001;
    },
    defaultHelp: `${byDataset('lr')}; with another optimizer 0.05 for sgd, 0.001 for the others`,
  },
  {
    key: 'scheduler',
    valueName: 'name',
    help: 'learning-rate schedule',
    choices: SCHEDULER_NAMES,
    default: (c) => c.base.scheduler,
    defaultHelp: byDataset('scheduler'),
  },
  {
    key: 'weightDecay',
    valueName: 'wd',
    help: 'weight decay',
    parse: numberParser(0, { inclusive: true }),
    default: (c) => c.base.weightDecay,
    defaultHelp: byDataset('weightDecay'),
  },
  {
    key: 'seed',
    valueName: 'n',
    help: 'random seed for initialisation, shuffling and augmentation',
    parse: integerParser(0),
    default: () => 0,
    defaultHelp: '0',
  },
  {
    key: 'momentum',
    valueName: 'm',
    help: 'momentum for sgd and rmsprop',
    parse: numberParser(0, { inclusive: true }),
    advanced: true,
    default: (c) => (c.optimizer === 'sgd' ? c.base.momentum : 0),
    defaultHelp: "0.9 for sgd, PyTorch's 0 for rmsprop",
    usedWith: (r) => (MOMENTUM_OPTIMIZERS.includes(r.optimizer) ? undefined : 'optimizer'),
  },
  {
    key: 'milestones',
    valueName: 'epochs',
    help: 'epochs at which multistep divides the rate by 10',
    parse: parseIntegerList,
    advanced: true,
    default: (c) =>
      c.scheduler === 'multistep' && c.epochs !== undefined
        ? [Math.round(c.epochs / 2), Math.round((c.epochs * 3) / 4)]
        : [],
    defaultHelp: 'half and three quarters of the epochs',
    usedWith: (r) => (r.scheduler === 'multistep' ? undefined : 'scheduler'),
  },
  {
    key: 'valSplit',
    valueName: 'fraction',
    help: 'fraction of the training set held out for validation',
    parse: parseFraction,
    advanced: true,
    default: (c) => c.base.valSplit,
    defaultHelp: byDataset('valSplit'),
  },
];

/**
 * Fills in the defaults of `base` (e.g. a {@link DATASET_RECIPES} entry) under what was given
 * explicitly; nothing given is changed, so a chosen optimizer never rewrites a given rate.
 */
export function resolveRecipe(base: RecipeDefaults, given: Partial<RunRecipe>): RunRecipe {
  const context: Context = { base };
  for (const s of RECIPE_SETTINGS) {
    const value = given[s.key];
    (context as Record<string, unknown>)[s.key] = value === undefined ? s.default(context) : value;
  }
  const { base: _, ...recipe } = context;
  return recipe as RunRecipe;
}

/** A given setting that the recipe does not use, and the setting whose value is why. */
export interface UnusedSetting {
  key: keyof RunRecipe;
  because: keyof RunRecipe;
}

/** The settings given that the chosen optimizer or schedule does not use (momentum with adam). */
export function unusedSettings(recipe: RunRecipe, given: Partial<RunRecipe>): UnusedSetting[] {
  return RECIPE_SETTINGS.flatMap((s) => {
    if (given[s.key] === undefined) return [];
    const because = s.usedWith?.(recipe);
    return because ? [{ key: s.key, because }] : [];
  });
}
