import { ResnetError } from '@resnet-ts/core';

/**
 * Thrown when a dataset file is missing or not in the expected format. `file` names the
 * file so the message can be acted on without a debugger.
 */
export class DatasetFileError extends ResnetError {
  override name = 'DatasetFileError';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}
