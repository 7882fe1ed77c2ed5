/** Exit codes of the CLI, following the shell's conventions. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  // 128 + SIGINT (2): what a shell reports for a process stopped by Ctrl-C.
  interrupted: 130,
} as const;

/** A failure the user can act on: printed as a message without a stack trace, exit code 1. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.failure,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A bad command line: printed with the usage, exit code 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.usage);
    this.name = 'UsageError';
  }
}
