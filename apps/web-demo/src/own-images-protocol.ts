/**
 * Messages between the page's "Your images" mode and its worker. The worker decodes the
 * pictures (through `ImageFolder.fromFiles`), owns the model and trains it; the page only
 * shows what it is told.
 */
import type { BackendName } from '@resnet-ts/core';
import type { SkippedFile } from '@resnet-ts/data';

/** The models this mode fine-tunes: the seed's small VanResNet, or torchvision's ResNet-18. */
export type OwnModelName = 'vanresnet' | 'resnet18';

/**
 * A picture and where it sits in the picked folder (`root/class/name.jpg`): a `File` that
 * crosses into a worker keeps its bytes and name but loses `webkitRelativePath`.
 */
export interface PickedFile {
  file: File;
  path: string;
}

/** What the training controls of this mode ask for. */
export interface OwnTrainConfig {
  model: OwnModelName;
  /** Side of the square the pictures are resized to. */
  imageSize: number;
  epochs: number;
  batchSize: number;
  lr: number;
  /** Share of each class's pictures held out to measure accuracy after each epoch (0–0.5). */
  valFraction: number;
  /** With pretrained weights: train only the new head, the backbone's weights stay fixed. */
  freezeBackbone: boolean;
  seed: number;
}

/** Where the own-images worker is; `decoding` covers reading the folder and resizing it. */
export type OwnState = 'loading' | 'idle' | 'decoding' | 'training' | 'stopping';

/** What the page asks of the own-images worker; the worker answers in order, Stop at once. */
export type ToOwnWorker =
  | { type: 'init'; backend: BackendName; wasmPaths: Record<string, string> }
  | { type: 'folder'; files: PickedFile[] }
  | { type: 'pretrained'; bytes: Uint8Array; fileName: string }
  | { type: 'forgetPretrained' }
  | { type: 'train'; config: OwnTrainConfig }
  | { type: 'stop' }
  | { type: 'predict'; id: number; files: PickedFile[] }
  | { type: 'export'; format: 'safetensors' | 'onnx' };

/** The folder as the worker read it. */
export interface FolderSummary {
  classes: string[];
  /** Pictures per class, in `classes` order. */
  counts: number[];
  /** Files with a picture's extension that could not be decoded, and why. */
  skipped: SkippedFile[];
}

/** One picture's prediction. */
export interface OwnPrediction {
  /** Where the picture was in the list sent. */
  index: number;
  name: string;
  label: number;
  className: string;
  confidence: number;
  probs: number[];
}

/** What the own-images worker reports. */
export type FromOwnWorker =
  | { type: 'ready'; backend: BackendName }
  | { type: 'initError'; message: string }
  | { type: 'state'; state: OwnState; message?: string }
  | ({ type: 'folder' } & FolderSummary)
  | { type: 'folderError'; message: string }
  | {
      type: 'pretrained';
      ok: boolean;
      message: string;
      /** The weights file training will start from, or null for random weights. */
      startsFrom: string | null;
    }
  | { type: 'batch'; step: number; epoch: number; steps: number; loss: number }
  | {
      type: 'epoch';
      epoch: number;
      trainLoss: number;
      trainAccuracy: number;
      /** Null when nothing was held out. */
      valAccuracy: number | null;
    }
  | { type: 'trained'; classes: string[]; epochs: number; message: string }
  | {
      type: 'predictions';
      id: number;
      results: OwnPrediction[];
      /** Files that could not be read as pictures, and why; each reason names its file. */
      skipped: SkippedFile[];
    }
  | { type: 'file'; format: 'safetensors' | 'onnx'; bytes: Uint8Array; fileName: string }
  | { type: 'error'; message: string };
