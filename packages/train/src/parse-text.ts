import { ValueError } from '@resnet-ts/core';

/** Turns a setting's text (a command-line flag, a form field) into its value, or throws a {@link ValueError}. */
export type TextParser<T> = (text: string) => T;

/** A parser of whole numbers of at least `min`. */
export function integerParser(min: number): TextParser<number> {
  return (value) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new ValueError(`expected a whole number >= ${min}, got '${value}'.`);
    }
    return n;
  };
}

/** A parser of finite numbers strictly above `exclusiveMin` (or at least it, with `inclusive`). */
export function numberParser(exclusiveMin: number, { inclusive = false } = {}): TextParser<number> {
  return (value) => {
    const n = Number(value);
    const ok =
      value.trim() !== '' &&
      Number.isFinite(n) &&
      (inclusive ? n >= exclusiveMin : n > exclusiveMin);
    if (!ok) {
      const bound = inclusive ? `>= ${exclusiveMin}` : `> ${exclusiveMin}`;
      throw new ValueError(`expected a number ${bound}, got '${value}'.`);
    }
    return n;
  };
}

/** Parses a fraction in [0, 1). */
export function parseFraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) {
    throw new ValueError(`expected a fraction in [0, 1), got '${value}'.`);
  }
  return n;
}

/** Parses a comma-separated list of whole numbers, e.g. `30,60,80`. */
export function parseIntegerList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) {
    throw new ValueError(`expected comma-separated whole numbers such as 30,60, got '${value}'.`);
  }
  return parts.map(Number);
}
