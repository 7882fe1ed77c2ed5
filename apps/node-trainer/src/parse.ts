import { InvalidArgumentError } from 'commander';

/** Parses a whole number of at least `min`; commander turns the thrown error into a usage error. */
export function integer(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected a whole number >= ${min}, got '${value}'.`);
    }
    return n;
  };
}

/** Parses a finite number strictly above `exclusiveMin` (or at least it, with `inclusive`). */
export function number(exclusiveMin: number, { inclusive = false } = {}) {
  return (value: string): number => {
    const n = Number(value);
    const ok =
      value.trim() !== '' &&
      Number.isFinite(n) &&
      (inclusive ? n >= exclusiveMin : n > exclusiveMin);
    if (!ok) {
      const bound = inclusive ? `>= ${exclusiveMin}` : `> ${exclusiveMin}`;
      throw new InvalidArgumentError(`expected a number ${bound}, got '${value}'.`);
    }
    return n;
  };
}

/** Parses a fraction in [0, 1). */
export function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) {
    throw new InvalidArgumentError(`expected a fraction in [0, 1), got '${value}'.`);
  }
  return n;
}

/** Parses a comma-separated list of whole numbers, e.g. `30,60,80`. */
export function integerList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) {
    throw new InvalidArgumentError(
      `expected comma-separated whole numbers such as 30,60, got '${value}'.`,
    );
  }
  return parts.map(Number);
}
