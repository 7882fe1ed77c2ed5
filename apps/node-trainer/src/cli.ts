#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { defaultBackendOrder } from '@resnet-ts/core';
import { DATASET_NAMES } from '@resnet-ts/data';
import { MODEL_NAMES } from '@resnet-ts/models';
import { RECIPE_SETTINGS, type RecipeSetting } from '@resnet-ts/train/node';
import { Command, CommanderError, Option } from 'commander';
import { FREEZE_CHOICES } from './choices.js';
import { CliError, ExitCode } from './errors.js';
import { sanitizeLines } from './format.js';
import { argParser, flagOf, integer } from './parse.js';
import { outputMode, Reporter } from './reporter.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

function outputOptions(cmd: Command): Command {
  return cmd
    .option('--json', 'print one JSON event per line instead of text (for scripts)')
    .option('--quiet', 'print only errors and the final result');
}

function dataOptions(cmd: Command, defaultDataset: string | undefined): Command {
  const dataset = new Option('--dataset <name>', 'dataset').choices(DATASET_NAMES);
  if (defaultDataset) dataset.default(defaultDataset);
  return cmd
    .addOption(dataset)
    .option(
      '--data-dir <dir>',
      'directory holding mnist-idx or cifar10 files (default: data/<dataset>), or a folder of class subfolders',
    )
    .option('--download', 'download the dataset into --data-dir if it is missing');
}

/** A recipe setting as a flag; its default is the recipe's, filled in by `resolveRecipe`. */
function recipeOption(s: RecipeSetting): Option {
  const option = new Option(
    `${flagOf(s.key)} <${s.valueName}>`,
    `${s.help} (default: ${s.defaultHelp})`,
  );
  if (s.parse) option.argParser(argParser(s.parse));
  if (s.choices) option.choices(s.choices);
  return option;
}

/** `--backend` and `--threads`, which every command that computes takes. */
function backendOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--backend <name>', 'compute backend')
        .choices(['auto', ...defaultBackendOrder()])
        .default('auto'),
    )
    .option(
      '--threads <n>',
      'threads of the wasm backend (default: every core, at most 8; 1: single-threaded)',
      integer(1),
    );
}

/** How a folder of pictures is read (`--dataset folder`). */
function folderReadOptions(cmd: Command): Command {
  return cmd
    .option('--workers <n>', 'folder: decode pictures in n worker threads (default: 0)', integer(0))
    .option('--skip-bad-files', 'folder: skip (and list) files that are not decodable pictures');
}

// Each command's module is imported when it runs, so --help and usage errors answer at once
// without starting a backend or loading any data.
function buildProgram(): Command {
  const program = new Command('resnet-ts')
    .description('Train, evaluate and run residual networks in Node on the best backend available.')
    .version(pkg.version)
    .showHelpAfterError(true)
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  resnet-ts train                                  VanResNet on the embedded MNIST digits
  resnet-ts train --model resnet18 --dataset cifar10 --download
  resnet-ts train --resume runs/<timestamp>        continue after Ctrl-C
  resnet-ts eval runs/<timestamp>
  resnet-ts predict runs/<timestamp> digit.png --top 3

Exit codes: 0 done, 1 failed (data, checkpoint, divergence), 2 bad command line, 130 interrupted.`,
    );

  const train = program
    .command('train', { isDefault: true })
    .description('train a model (default: VanResNet on the embedded MNIST digits)')
    .addOption(
      new Option('--model <name>', 'model to train').choices(MODEL_NAMES).default('vanresnet'),
    );
  dataOptions(train, 'mnist')
    .option('--val-dir <dir>', 'folder: validation pictures in the same class subfolders')
    .option('--image-size <n>', 'folder: side of the square model input (default: 224)', integer(8))
    .option(
      '--weights <file>',
      "initial weights, .pth or PyTorch-layout .safetensors (torchvision's)",
    )
    .addOption(
      new Option('--freeze <part>', 'train only the classifier head (fc) of a ResNet').choices(
        FREEZE_CHOICES,
      ),
    );
  folderReadOptions(train);
  for (const s of RECIPE_SETTINGS.filter((s) => !s.advanced)) train.addOption(recipeOption(s));
  backendOptions(train)
    .option('--out <dir>', 'where each run gets its own <timestamp>/ directory', 'runs')
    .option('--resume <dir>', 'continue an interrupted run from its directory');
  outputOptions(train);
  train.optionsGroup('Advanced options:');
  for (const s of RECIPE_SETTINGS.filter((s) => s.advanced)) train.addOption(recipeOption(s));
  train
    .option('--limit-train <n>', 'use only the first n training images (quick checks)', integer(1))
    .option('--limit-test <n>', 'use only the first n test images (quick checks)', integer(1))
    .option('--log-every <n>', 'without a terminal, also print a line every n batches', integer(1))
    .action(async (opts, cmd) => {
      const { runTrain } = await import('./commands/train.js');
      await runTrain(opts, reporterFor(opts), cmd);
    });

  const evalCmd = program
    .command('eval')
    .description("accuracy and confusion matrix of a checkpoint on its dataset's test split")
    .argument('<checkpoint>', 'a run directory, its checkpoint directory or a .safetensors file');
  backendOptions(
    dataOptions(evalCmd, undefined).option('--batch-size <n>', 'images per batch', integer(1), 256),
  );
  folderReadOptions(outputOptions(evalCmd).optionsGroup('Advanced options:'))
    .option('--limit-test <n>', 'use only the first n test images', integer(1))
    .action(async (checkpoint, opts) => {
      const { runEval } = await import('./commands/eval.js');
      await runEval(checkpoint, opts, reporterFor(opts));
    });

  const predict = program
    .command('predict')
    .description('classify PNG or JPEG images with a checkpoint')
    .argument('<checkpoint>', 'a run directory, its checkpoint directory or a .safetensors file')
    .argument('<image...>', 'PNG or JPEG files')
    .option('--top <k>', 'how many classes to show per image', integer(1), 3)
    .addOption(
      new Option('--invert <when>', 'invert gray images (auto: when the background is light)')
        .choices(['auto', 'yes', 'no'])
        .default('auto'),
    );
  outputOptions(backendOptions(predict)).action(async (checkpoint, images, opts) => {
    const { runPredict } = await import('./commands/predict.js');
    await runPredict(checkpoint, images, opts, reporterFor(opts));
  });

  const exportCmd = program
    .command('export')
    .description('write a checkpoint as a PyTorch .pth, PyTorch-layout safetensors or ONNX file')
    .argument('<checkpoint>', 'a run directory, its checkpoint directory or a .safetensors file')
    .addOption(
      new Option('--format <format>', 'pth: torch.load; safetensors: PyTorch layout; onnx: NCHW')
        .choices(['pth', 'safetensors', 'onnx'])
        .makeOptionMandatory(),
    )
    .option(
      '--out <file>',
      'where to write (default: model.pth, model.pytorch.safetensors or model.onnx beside the checkpoint)',
    )
    .option(
      '--training-state',
      "pth: also the optimizer's and scheduler's state, to continue in PyTorch",
    )
    .option('--opset <n>', 'onnx: operator set version (9-17)', integer(9), 13);
  outputOptions(backendOptions(exportCmd)).action(async (checkpoint, opts) => {
    const { runExport } = await import('./commands/export.js');
    await runExport(checkpoint, opts, reporterFor(opts));
  });

  const backends = program
    .command('backends')
    .description('report which backend would be used, and why each other one is skipped');
  outputOptions(backendOptions(backends)).action(async (opts) => {
    const { runBackends } = await import('./commands/backends.js');
    await runBackends(opts, reporterFor(opts));
  });

  return program;
}

function reporterFor(opts: { json?: boolean; quiet?: boolean; logEvery?: number }): Reporter {
  return new Reporter(
    outputMode(opts, process.stdout.isTTY === true),
    process.stdout,
    process.stderr,
    opts.logEvery ?? 0,
  );
}

function writeJsonError(message: string, exitCode: number): void {
  process.stdout.write(`${JSON.stringify({ event: 'error', message, exitCode })}\n`);
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return ExitCode.ok;
  } catch (e) {
    const json = argv.includes('--json');
    if (e instanceof CommanderError) {
      // Help and version end with exit code 0; every other parse error is a usage error,
      // which commander has already printed with the usage.
      if (e.exitCode === 0) return ExitCode.ok;
      if (json) writeJsonError(e.message.replace(/^error: /, ''), ExitCode.usage);
      return ExitCode.usage;
    }
    const message = e instanceof Error ? e.message : String(e);
    const code = e instanceof CliError ? e.exitCode : ExitCode.failure;
    // An empty message means the command already said everything (an interrupted run).
    if (message) {
      if (json) writeJsonError(message, code);
      process.stderr.write(`error: ${sanitizeLines(message)}\n`);
    }
    if (!(e instanceof CliError) && process.env.RESNET_TS_DEBUG && e instanceof Error) {
      process.stderr.write(`${e.stack}\n`);
    }
    return code;
  }
}

const code = await main(process.argv);
// Exit explicitly: a GPU or wasm runtime can keep the event loop alive after the work is done.
process.exit(code);
