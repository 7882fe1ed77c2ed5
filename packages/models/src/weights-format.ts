/** The weight-file formats {@link loadTorchStateDict} reads. */
export type WeightsFormat = 'pth' | 'safetensors';

/** What {@link sniffWeightsFormat} found: a format it reads, or what the bytes look like. */
export type SniffResult = { format: WeightsFormat } | { format: null; looksLike: string };

function startsWith(bytes: Uint8Array, ...prefix: number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

function ascii(bytes: Uint8Array, n: number): string {
  return String.fromCharCode(...bytes.subarray(0, n));
}

/** Formats people hand over instead of weights, with the advice to give. */
function lookAlike(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'an empty file';
  if (bytes[0] === 0x80 && bytes[1] !== undefined && bytes[1] <= 5) {
    return 'a bare pickle, e.g. a torch.save file from PyTorch before 1.6 (legacy format); load it in PyTorch and save it again with torch.save, which writes the zip format since 1.6';
  }
  if (startsWith(bytes, 0x1f, 0x8b)) return 'a gzip file; decompress it first';
  if (startsWith(bytes, 0x89, 0x48, 0x44, 0x46)) return 'an HDF5 file (a Keras .h5 model)';
  if (startsWith(bytes, 0x89, 0x50, 0x4e, 0x47)) return 'a PNG image';
  if (startsWith(bytes, 0xff, 0xd8, 0xff)) return 'a JPEG image';
  if (startsWith(bytes, 0x50, 0x4b)) return 'a zip archive that is not a torch.save file';
  if (ascii(bytes, 4) === 'GGUF') return 'a GGUF file (llama.cpp)';
  if (bytes[0] === 0x08 && bytes.length > 2) return 'possibly an ONNX or other protobuf file';
  const head = ascii(bytes, Math.min(bytes.length, 64)).trimStart();
  if (head.startsWith('{') || head.startsWith('[')) {
    return 'JSON text (a tfjs model.json or a config?), not a weights file';
  }
  if (head.startsWith('<')) return 'HTML or XML text (a download error page?)';
  return `unrecognised bytes (${[...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`;
}

/**
 * Which weights format `bytes` holds, from its first bytes alone: a `torch.save` zip
 * (`PK\x03\x04` with a `data.pkl` entry name in its first local header), or safetensors
 * (a little-endian header length that fits the file, then `{`). For anything else, a short
 * description of what the bytes look like, for an error message.
 */
export function sniffWeightsFormat(bytes: Uint8Array): SniffResult {
  if (startsWith(bytes, 0x50, 0x4b, 0x03, 0x04)) {
    const nameLen = bytes.length >= 30 ? bytes[26] | (bytes[27] << 8) : 0;
    const name = ascii(bytes.subarray(30, 30 + nameLen), nameLen);
    // PyTorch writes data.pkl first; other zips of ours may not, so any entry under a folder counts.
    if (name.endsWith('/data.pkl') || name.includes('/')) return { format: 'pth' };
    return { format: null, looksLike: lookAlike(bytes) };
  }
  if (bytes.length >= 10) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const header = view.getBigUint64(0, true);
    if (header > 1n && header <= BigInt(bytes.length - 8) && bytes[8] === 0x7b) {
      return { format: 'safetensors' };
    }
  }
  return { format: null, looksLike: lookAlike(bytes) };
}
