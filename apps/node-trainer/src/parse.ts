import { ValueError } from '@resnet-ts/core';
import { integerParser, type TextParser } from '@resnet-ts/train/node';
import { InvalidArgumentError } from 'commander';

/** A text parser as commander's argParser: its error becomes commander's usage error. */
export function argParser<T>(parse: TextParser<T>): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (e) {
      throw e instanceof ValueError ? new InvalidArgumentError(e.message) : e;
    }
  };
}

/** Parses a whole number of at least `min` as a flag's value. */
export const integer = (min: number) => argParser(integerParser(min));

/** An option's key as its flag: `batchSize` as `--batch-size`. */
export const flagOf = (key: string) => `--${key.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)}`;
