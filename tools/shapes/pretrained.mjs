/**
 * The committed pretrained weights the fine-tuning test starts from, as a user starts from
 * ImageNet weights: `resnet18_w16` (ResNet-18 at a quarter of the width) trained on
 * arrow, crescent, ellipse, heart, hexagon, rhombus, ring and star (never the folder's circle,
 * cross, square, triangle), at 64 px, in PyTorch's layout, by PyTorch (99.5% held-out on those
 * shapes). Made from seeds, in a minute on one core:
 *
 *   node tools/shapes/fine-tune-experiment.mjs dump /tmp/pre --per-class 600 --seed 1000
 *   node tools/shapes/fine-tune-experiment.mjs dump /tmp/pre-val --per-class 25 --seed 9000
 *   python3 tools/shapes/fine-tune-torch.py pretrain tools/shapes/fixtures/resnet18_w16-shapes-64.safetensors \
 *     --data /tmp/pre --val-data /tmp/pre-val --model resnet18_w16 --epochs 10 --lr 3e-3
 */
import { fileURLToPath } from 'node:url';

/** Path of the weights file. */
export const PRETRAINED = fileURLToPath(
  new URL('./fixtures/resnet18_w16-shapes-64.safetensors', import.meta.url),
);
/** The registry name of the model the weights belong to. */
export const PRETRAINED_MODEL = 'resnet18_w16';
/** The image side the weights were pretrained at. */
export const PRETRAINED_SIZE = 64;
