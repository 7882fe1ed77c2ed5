import { FileFormatError } from '@resnet-ts/core';

/**
 * Thrown for a `torch.save` file (or a part of it: its zip archive, its pickle, a storage)
 * that does not follow the format or breaks one of the reader's limits. `part` says which
 * layer found the problem.
 */
export class TorchFileError extends FileFormatError {
  override name = 'TorchFileError';
  /** The layer of the file that is wrong. */
  readonly part: 'zip' | 'pickle' | 'tensor' | 'format';

  constructor(part: TorchFileError['part'], message: string) {
    super(message);
    this.part = part;
  }
}

/**
 * Thrown when a pickle names a Python global the reader does not allow (`os.system`,
 * `builtins.eval`, any class that is not a state-dict building block). Nothing named in a
 * file is ever imported or called: the reader knows its few building blocks by name.
 */
export class UnsafeGlobalError extends TorchFileError {
  override name = 'UnsafeGlobalError';
  /** The refused global, `module.name`. */
  readonly global: string;

  constructor(global: string, message: string) {
    super('pickle', message);
    this.global = global;
  }
}
