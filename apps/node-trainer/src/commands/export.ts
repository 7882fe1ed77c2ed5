import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '@resnet-ts/core/node';
import {
  encodeWeightsMeta,
  exportOnnx,
  toTorchSafetensors,
  toTorchStateDict,
  writeTorchCheckpoint,
  writeTorchFile,
} from '@resnet-ts/models';
import { findCheckpoint, restoreRecipeState } from '@resnet-ts/train/node';
import { activateBackend, type BackendOptions } from '../backend.js';
import { displayPath, loadModel } from '../checkpoint.js';
import { CliError } from '../errors.js';
import type { Reporter } from '../reporter.js';

/** The formats `export` writes. */
export const EXPORT_FORMATS = ['pth', 'safetensors', 'onnx'] as const;

/** The options of `export`. */
export interface ExportOptions extends BackendOptions {
  format: (typeof EXPORT_FORMATS)[number];
  out?: string;
  /** pth only: also the optimizer's and scheduler's state, as a training checkpoint dict. */
  trainingState?: boolean;
  opset: number;
}

const FILE_NAMES: Record<ExportOptions['format'], string> = {
  pth: 'model.pth',
  safetensors: 'model.pytorch.safetensors',
  onnx: 'model.onnx',
};

/**
 * `resnet-ts export <checkpoint> --format pth|safetensors|onnx`: the model in a file PyTorch
 * or any ONNX runtime loads. pth: `torch.save(model.state_dict())`'s format, or with
 * `--training-state` `{'epoch', 'model', 'optimizer', 'scheduler'}` to continue the run in
 * PyTorch; safetensors: PyTorch's layouts; onnx: NCHW input `input`, output `logits`.
 */
export async function runExport(
  checkpoint: string,
  opts: ExportOptions,
  report: Reporter,
): Promise<void> {
  await activateBackend(opts, report);
  const { model, meta, weights } = await loadModel(checkpoint);
  const { dir, runDir } = await findCheckpoint(checkpoint);
  const out = resolve(opts.out ?? join(dir ?? dirname(weights), FILE_NAMES[opts.format]));
  try {
    let bytes: Uint8Array;
    let layout: string;
    if (opts.format === 'onnx') {
      const { inChannels, inputSize } = meta.model;
      bytes = exportOnnx(model, {
        inputShape: ['N', inChannels, inputSize, inputSize],
        opset: opts.opset,
      });
      layout = `ONNX opset ${opts.opset}, input "input" [N, ${inChannels}, ${inputSize}, ${inputSize}] (NCHW), output "logits"`;
    } else if (opts.format === 'safetensors') {
      bytes = toTorchSafetensors(model, { ...encodeWeightsMeta(meta), layout: 'pytorch' });
      layout =
        "PyTorch's state-dict layout (conv OIHW, Linear [out, in]), for safetensors.torch.load_file";
    } else if (opts.trainingState) {
      bytes = await trainingCheckpoint(model, dir, runDir, meta.epoch);
      layout =
        "torch.save({'epoch', 'model', 'optimizer', 'scheduler'}) in PyTorch's layouts and state_dict() formats";
    } else {
      bytes = writeTorchFile(toTorchStateDict(model) as never);
      layout =
        "torch.save(model.state_dict()) in PyTorch's layouts, for load_state_dict(strict=True)";
    }
    await writeFileAtomic(out, bytes);
    report.result(
      `wrote ${displayPath(out)} (${bytes.length.toLocaleString('en-US')} bytes): ${layout}`,
      { file: out, format: opts.format, bytes: bytes.length, model: meta.model, epoch: meta.epoch },
      'export',
    );
  } finally {
    model.dispose();
  }
}

/** `--training-state`: the run's optimizer and schedule restored, in a PyTorch training checkpoint. */
async function trainingCheckpoint(
  model: Parameters<typeof writeTorchCheckpoint>[0],
  dir: string | undefined,
  runDir: string | undefined,
  epoch: number,
): Promise<Uint8Array> {
  if (!dir || !runDir) {
    throw new CliError(
      '--training-state needs a run directory made by resnet-ts train (with run.json and a checkpoint)',
    );
  }
  const { optimizer, scheduler } = await restoreRecipeState(model, runDir, dir).catch((e) => {
    throw new CliError(`cannot export the training state of ${displayPath(runDir)}: ${e.message}`);
  });
  const paramNames = model
    .namedParameters()
    .filter(([, p]) => p.trainable)
    .map(([name]) => name);
  return writeTorchCheckpoint(model, {
    optimizer: optimizer.stateDict(),
    scheduler,
    epoch,
    paramNames,
  });
}
