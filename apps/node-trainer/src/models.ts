import type { Generator, Module } from '@resnet-ts/core';
import { type ResNetName, type ResNetStem, resnet, VanResNet } from '@resnet-ts/models';
import * as v from 'valibot';
import { MODEL_NAMES, type ModelName } from './choices.js';
import { CliError } from './errors.js';

/**
 * Everything needed to rebuild a model before loading its weights; saved in every checkpoint
 * so `eval` and `predict` need nothing but the checkpoint.
 */
export interface ModelSpec {
  name: ModelName;
  inChannels: number;
  inputSize: number;
  numClasses: number;
  /** ResNets only. */
  stem?: ResNetStem;
}

const size = (max: number) => v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(max));

/** What a {@link ModelSpec} read from a file must look like before a model is built from it. */
export const modelSpecSchema = v.object({
  name: v.picklist(MODEL_NAMES),
  inChannels: size(4),
  inputSize: size(1024),
  numClasses: size(100_000),
  stem: v.optional(v.picklist(['cifar', 'imagenet'])),
});

/** The spec of `name` for images of `inputSize`² × `inChannels`. */
export function modelSpec(
  name: ModelName,
  inChannels: number,
  inputSize: number,
  numClasses: number,
): ModelSpec {
  if (name === 'vanresnet') return { name, inChannels, inputSize, numClasses };
  // ImageNet's stem shrinks a 32×32 image to 1×1 before the last stage; small images get the CIFAR stem.
  return { name, inChannels, inputSize, numClasses, stem: inputSize < 64 ? 'cifar' : 'imagenet' };
}

/** Builds the model a spec describes, initialised from `generator`. */
export function buildModel(spec: ModelSpec, generator?: Generator): Module {
  if (!(MODEL_NAMES as readonly string[]).includes(spec.name)) {
    throw new CliError(`unknown model '${spec.name}'; expected one of ${MODEL_NAMES.join(', ')}`);
  }
  if (spec.name === 'vanresnet') {
    return new VanResNet({
      inChannels: spec.inChannels,
      inputSize: spec.inputSize,
      numClasses: spec.numClasses,
      generator,
    });
  }
  return resnet(spec.name as ResNetName, {
    inChannels: spec.inChannels,
    numClasses: spec.numClasses,
    stem: spec.stem ?? 'cifar',
    generator,
  });
}
