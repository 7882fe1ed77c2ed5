/** The base class of every error resnet-ts throws on purpose. */
export class ResnetError extends Error {
  override name = 'ResnetError';
}

/** Thrown when a value passed to the library is not what it expected. */
export class ValueError extends ResnetError {
  override name = 'ValueError';
}

/** Renders a value for an error message: shapes as `[8,16,16,32]`, strings quoted. */
export function describe(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(describe).join(',')}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') {
    try {
      return JSON.stringify(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}
