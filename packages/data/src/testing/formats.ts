import { Generator } from '@resnet-ts/core';

/** An IDX file of unsigned bytes. */
export function idx(dims: number[], data: Uint8Array, magicType = 0x08): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  header.set([0, 0, magicType, dims.length]);
  const view = new DataView(header.buffer);
  for (const [i, d] of dims.entries()) view.setUint32(4 + 4 * i, d, false);
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

/** A CIFAR-10 batch of `labels.length` records: 1 label byte + R, G, B planes. */
export function cifarBatch(labels: number[], seed: number): { bytes: Uint8Array; hwc: Uint8Array } {
  const g = new Generator(seed);
  const bytes = new Uint8Array(labels.length * 3073);
  const hwc = new Uint8Array(labels.length * 3072);
  labels.forEach((label, r) => {
    bytes[r * 3073] = label;
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < 1024; p++) {
        const v = g.randint(256);
        bytes[r * 3073 + 1 + c * 1024 + p] = v;
        hwc[r * 3072 + p * 3 + c] = v;
      }
    }
  });
  return { bytes, hwc };
}
