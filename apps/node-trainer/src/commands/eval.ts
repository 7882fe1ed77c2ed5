import { formatValue, sanitizeForTerminal } from '@resnet-ts/core';
import {
  DATASET_NAMES,
  DataLoader,
  type DatasetName,
  datasetInfo,
  isDatasetName,
} from '@resnet-ts/data';
import { loadDataset } from '@resnet-ts/data/node';
import { ConfusionMatrix, classRecall, evaluate } from '@resnet-ts/train';
import { formatPercent, formatTable } from '@resnet-ts/train/node';
import { activateBackend, type BackendOptions } from '../backend.js';
import { displayPath, loadModel } from '../checkpoint.js';
import { CliError, UsageError } from '../errors.js';
import type { Reporter } from '../reporter.js';

/** The options of `eval`. */
export interface EvalOptions extends BackendOptions {
  dataset?: DatasetName;
  workers?: number;
  skipBadFiles?: boolean;
  dataDir?: string;
  download?: boolean;
  batchSize: number;
  limitTest?: number;
}

/** `resnet-ts eval <checkpoint>`: test accuracy, loss and the confusion matrix. */
export async function runEval(
  checkpoint: string,
  opts: EvalOptions,
  report: Reporter,
): Promise<void> {
  await activateBackend(opts, report);
  const { model, meta, weights } = await loadModel(checkpoint);
  const name = opts.dataset ?? meta.dataset.name;
  if (!isDatasetName(name)) {
    throw new CliError(
      `${displayPath(weights)} was trained on ${formatValue(name)}, which eval cannot load by name; pass --dataset (${DATASET_NAMES.join(', ')})`,
    );
  }
  if (name === 'folder' && !opts.dataDir) {
    throw new UsageError('a folder dataset needs --data-dir DIR: a folder of class subfolders');
  }
  const have = meta.dataset.input;
  // A folder is read at the size the model was trained at, through the run's test transforms.
  const wanted = name === 'folder' ? have : datasetInfo(name).input;
  if (wanted.size !== have.size || wanted.channels !== have.channels) {
    throw new CliError(
      `${displayPath(weights)} takes ${have.size}×${have.size}×${have.channels} images, but --dataset ${name} has ${wanted.size}×${wanted.size}×${wanted.channels}`,
    );
  }
  const ds = await loadDataset(name, {
    dataDir: opts.dataDir,
    download: opts.download,
    log: (message) => report.info(message),
    valSplit: 0,
    seed: 0,
    limitTest: opts.limitTest,
    testOnly: true,
    imageSize: have.size,
    workers: opts.workers,
    skipBadFiles: opts.skipBadFiles,
  });
  const classes = meta.dataset.classes;
  if (name === 'folder' && ds.classes.join('\n') !== classes.join('\n')) {
    await ds.close?.();
    throw new CliError(
      `${displayPath(weights)} knows the classes ${classes.join(', ')}, but the data has ${ds.classes.join(', ')}`,
    );
  }
  const labels = classes.map(sanitizeForTerminal);
  const loader = new DataLoader(ds.test, { batchSize: opts.batchSize });
  const confusion = new ConfusionMatrix(classes.length);
  const r = await evaluate(model, loader, { metrics: { confusion } }).finally(() => ds.close?.());
  model.dispose();
  const matrix = r.metrics.confusion as number[][];
  const correct = matrix.reduce((s, row, i) => s + row[i], 0);
  const recall = classRecall(matrix);
  report.info(
    `Checkpoint: ${displayPath(weights)} (${sanitizeForTerminal(meta.model.name)}, epoch ${meta.epoch})  Data: ${name} test split, ${r.count} images`,
  );
  report.info(
    `\nConfusion matrix (rows: true class, columns: predicted)\n${formatTable(
      ['', ...labels.map((c) => c.slice(0, 5)), 'recall'],
      matrix.map((row, i) => [labels[i], ...row.map(String), formatPercent(recall[i])]),
    )}\n`,
  );
  report.result(
    `Test accuracy: ${formatPercent(r.accuracy)} (${correct}/${r.count}), loss ${r.loss.toFixed(4)}`,
    {
      accuracy: r.accuracy,
      loss: r.loss,
      correct,
      total: r.count,
      confusionMatrix: matrix,
      classes,
      checkpoint: weights,
      dataset: name,
    },
    'eval',
  );
}
