import { BackupError } from '../backup/errors.ts';
import { AccordError } from '../errors.ts';
import { oneLine } from '../lib/text.ts';
import type { Command, Io } from './command.ts';

/** A failure the CLI reports with an exit code: 1 refused by the server, 3 anything else. */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 3,
  ) {
    super(message);
  }
}

/** The usage error of `command`: its synopsis, then `detail` if any (exit 3). */
export function usageFailure(command: Pick<Command, 'synopsis'>, detail?: string): CliFailure {
  return new CliFailure(`Usage: ${command.synopsis}${detail ? `\n${detail}` : ''}`, 3);
}

/**
 * Prints what went wrong on stderr and returns the exit code: a CliFailure's own, 1 for a
 * refusal (an AccordError below 500) or a backup that cannot be trusted, 3 for everything else.
 */
export function reportError(error: unknown, io: Io): number {
  if (error instanceof CliFailure) {
    io.err(`accord: ${error.message}`);
    return error.exitCode;
  }
  if (error instanceof BackupError) {
    io.err(`accord: ${error.message}`);
    return error.reason === 'unusable-backup' ? 1 : 3;
  }
  if (error instanceof AccordError) {
    io.err(`accord: ${oneLine(error.message)}${error.errors ? `\n${error.errors.map((e) => oneLine(`  ${e.location}: ${e.message}`)).join('\n')}` : ''}`);
    return error.status < 500 ? 1 : 3;
  }
  io.err(`accord: unexpected error: ${(error as Error).stack ?? String(error)}`);
  return 3;
}
