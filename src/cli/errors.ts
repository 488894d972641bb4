import { BackupError } from '../backup/errors.ts';
import { AccordError } from '../errors.ts';
import { oneLine } from '../lib/text.ts';
import type { Command, Io } from './command.ts';

/**
 * What kind of failure a CLI run ended in, as `--format json` reports it:
 * - `usage`: the arguments are wrong (exit 3);
 * - `configuration`: the environment is (no ACCORD_TOKEN, an invalid setting; exit 3);
 * - `unreachable`: the server did not answer (exit 3);
 * - `unauthorized`: the server does not accept the token (HTTP 401; exit 3);
 * - `unavailable`: the server is busy or failing (HTTP 429, 5xx; exit 3);
 * - `refused`: the server (or a local check) answered no for this request (HTTP 4xx; exit 1);
 * - `error`: anything else that kept the command from running (a file that cannot be read; exit 3).
 */
export type FailureKind = 'usage' | 'configuration' | 'unreachable' | 'unauthorized' | 'unavailable' | 'refused' | 'error';

/** What a failure carries besides its message: its kind, and the server's answer when there was one. */
export interface FailureDetails {
  kind?: FailureKind;
  /** The HTTP status the server answered with. */
  status?: number;
  /** The server's problem+json body (RFC 9457), as it came. */
  problem?: unknown;
  /** What text output adds after the message, and JSON leaves out (the program's usage after an unknown command). */
  more?: string;
}

/** A failure the CLI reports with an exit code: 1 refused, 3 could not run. */
export class CliFailure extends Error {
  readonly kind: FailureKind;
  readonly status: number | undefined;
  readonly problem: unknown;
  readonly more: string;

  constructor(
    message: string,
    readonly exitCode: 1 | 3,
    details: FailureDetails = {},
  ) {
    super(message);
    this.kind = details.kind ?? (exitCode === 1 ? 'refused' : 'error');
    this.status = details.status;
    this.problem = details.problem;
    this.more = details.more ?? '';
  }
}

/** The usage error of `command`: its synopsis, then `detail` if any (exit 3). */
export function usageFailure(command: Pick<Command, 'synopsis'>, detail?: string): CliFailure {
  return new CliFailure(`Usage: ${command.synopsis}${detail ? `\n${detail}` : ''}`, 3, { kind: 'usage' });
}

/**
 * What `--format json` prints on stdout instead of a result when a command fails: one JSON
 * document, so a script reads stdout whatever happened and the exit code says which it got.
 * `output` holds what the command had printed before it failed, when anything.
 */
export interface ErrorReport {
  error: { kind: FailureKind; message: string; exitCode: number; status?: number; problem?: unknown };
  output?: string[];
}

/** The exit code and the JSON report of a failure (see reportError). */
export function describeFailure(error: unknown): ErrorReport['error'] {
  if (error instanceof CliFailure) {
    return { kind: error.kind, message: error.message, exitCode: error.exitCode, ...(error.status ? { status: error.status } : {}), ...(error.problem !== undefined ? { problem: error.problem } : {}) };
  }
  if (error instanceof BackupError) return { kind: error.reason === 'unusable-backup' ? 'refused' : 'error', message: error.message, exitCode: error.reason === 'unusable-backup' ? 1 : 3 };
  if (error instanceof AccordError) {
    const refused = error.status < 500;
    const message = `${oneLine(error.message)}${error.errors ? `\n${error.errors.map((e) => oneLine(`  ${e.location}: ${e.message}`)).join('\n')}` : ''}`;
    return { kind: refused ? 'refused' : 'error', message, exitCode: refused ? 1 : 3, problem: error.toProblem() };
  }
  return { kind: 'error', message: `unexpected error: ${(error as Error).stack ?? String(error)}`, exitCode: 3 };
}

/**
 * Reports what went wrong and returns the exit code: a CliFailure's own, 1 for a refusal (an
 * AccordError below 500) or a backup that cannot be trusted, 3 for everything else. As text on
 * stderr (`accord: …`); with `--format json` as one ErrorReport on stdout, with `output` the
 * lines the command printed before it failed.
 */
export function reportError(error: unknown, io: Io, options: { json?: boolean; output?: string[] } = {}): number {
  const failure = describeFailure(error);
  if (options.json) io.out(JSON.stringify({ error: failure, ...(options.output?.length ? { output: options.output } : {}) } satisfies ErrorReport, null, 2));
  else io.err(`accord: ${failure.message}${error instanceof CliFailure ? error.more : ''}`);
  return failure.exitCode;
}
