import { Module } from '@resnet-ts/core';

/**
 * Freezes a classifier for fine-tuning, as torchvision's transfer-learning tutorial does:
 * every parameter stops training but those of the classifier head `fc` (the ResNet family's).
 * Returns the head, or undefined, changing nothing, when the model has no `fc` module
 * (VanResNet's head is `fc1`/`fc2`).
 */
export function freezeBackbone(model: Module): Module | undefined {
  const head = (model as { fc?: unknown }).fc;
  if (!(head instanceof Module)) return undefined;
  model.requiresGrad(false);
  head.requiresGrad(true);
  return head;
}
