#!/usr/bin/env node
/**
 * Writes a drawn-shapes image folder: `node tools/shapes/make-shapes-folder.mjs DIR
 * [--seed N] [--set target|pretrain] [--train N] [--val N] [--min-size N] [--max-size N]
 * [--no-corrupt]`. See shapes.mjs.
 */
import { parseArgs } from 'node:util';
import { makeShapesFolder, PRETRAIN_CLASSES, TARGET_CLASSES } from './shapes.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seed: { type: 'string', default: '0' },
    set: { type: 'string', default: 'target' },
    train: { type: 'string', default: '40' },
    val: { type: 'string', default: '20' },
    'min-size': { type: 'string', default: '48' },
    'max-size': { type: 'string', default: '112' },
    'no-corrupt': { type: 'boolean', default: false },
  },
});

function int(name) {
  const v = Number(values[name]);
  if (!Number.isInteger(v) || v < 0) {
    console.error(`--${name} must be a non-negative integer, got ${JSON.stringify(values[name])}`);
    process.exit(2);
  }
  return v;
}

if (positionals.length !== 1) {
  console.error(
    'usage: make-shapes-folder.mjs DIR [--seed N] [--set target|pretrain] [--train N] [--val N]',
  );
  process.exit(2);
}
if (values.set !== 'target' && values.set !== 'pretrain') {
  console.error(`--set must be 'target' or 'pretrain', got ${JSON.stringify(values.set)}`);
  process.exit(2);
}
try {
  const result = await makeShapesFolder(positionals[0], {
    seed: int('seed'),
    classes: values.set === 'target' ? TARGET_CLASSES : PRETRAIN_CLASSES,
    train: int('train'),
    val: int('val'),
    minSize: int('min-size'),
    maxSize: int('max-size'),
    corrupt: !values['no-corrupt'],
  });
  console.log(
    `${positionals[0]}: ${result.classes.length} classes (${result.classes.join(', ')}), ` +
      `${result.files.train.length} train and ${result.files.val.length} val images` +
      (result.corrupt ? `, corrupt file ${result.corrupt}` : ''),
  );
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
