import { ResnetError } from '@resnet-ts/core';

/**
 * Thrown when a dataset file is missing or not in the expected format. `file` names the
 * file so the message can be acted on without a debugger.
 */
export class DatasetFileError extends ResnetError {
  override name = 'DatasetFileError';
  /** The message without the file name in front. */
  readonly detail: string;

  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.detail = message;
  }
}

/**
 * Thrown when a picture cannot be used: not a format this package decodes, corrupt, or
 * larger than the pixel limit. A {@link DatasetFileError}, so one `catch` covers both.
 */
export class ImageFileError extends DatasetFileError {
  override name = 'ImageFileError';
}
