/**
 * An upload refused in plain words: what the first bytes say a file is, sizes people read,
 * and the reassurance every refusal ends with. No library code here, so the page's main
 * thread can use it without loading TensorFlow.js.
 */

/** Appended to every refusal: a failed upload never touches the weights in use. */
export const UNCHANGED = 'The current weights are unchanged.';

const SIGNATURES: Array<[number[] | string, string]> = [
  [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG image'],
  [[0xff, 0xd8, 0xff], 'a JPEG image'],
  ['GIF8', 'a GIF image'],
  ['RIFF', 'a RIFF file (a WebP image or WAV sound)'],
  ['%PDF', 'a PDF document'],
  [[0x1f, 0x8b], 'a gzip-compressed file'],
  [
    [0x80, 0x02],
    'a Python pickle in the format PyTorch wrote before 1.6 (save it again with a newer torch.save)',
  ],
];

/**
 * What a file's first bytes say it is, when they say it is something other than weights
 * (`'a PNG image'`), or null. A safetensors file begins with its header's length (8 bytes,
 * little-endian, the top four zero for any sane header) and then `{`; a file that begins
 * so is left to the safetensors reader whatever its first bytes resemble.
 */
export function sniffNonWeights(bytes: Uint8Array): string | null {
  const safetensorsLike = bytes.length > 8 && bytes.subarray(4, 8).every((b) => b === 0);
  if (safetensorsLike && bytes[8] === 0x7b) return null;
  for (const [signature, what] of SIGNATURES) {
    const expected =
      typeof signature === 'string' ? [...signature].map((c) => c.charCodeAt(0)) : signature;
    if (bytes.length >= expected.length && expected.every((b, i) => bytes[i] === b)) return what;
  }
  return null;
}

/** A size in words: `1.4 MB`, `812 KB`. */
export function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(n / 1024)} KB`;
}
