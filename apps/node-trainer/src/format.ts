import { sanitizeForTerminal } from '@resnet-ts/core';

/** {@link sanitizeForTerminal} for text of several lines: the line breaks stay. */
export function sanitizeLines(text: string): string {
  return text.split('\n').map(sanitizeForTerminal).join('\n');
}
