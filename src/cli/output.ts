import { representationNamed } from '../lib/representations.ts';
import type { Command, CommandArgs, Io, OutputFormat } from './command.ts';
import { CliFailure } from './errors.ts';

/**
 * `--format json` for every command, in one place. The dispatcher adds `--format text|json` and
 * its alias `--json` to every command with options; a command prints its result with
 * `context.print` and gets JSON for free. With JSON, stdout carries exactly one JSON document —
 * the result, or `{"error": …}` (src/cli/errors.ts) — so a script parses stdout whatever
 * happened and reads the exit code to know which. Commands that format their output themselves
 * (they declare `format` or `json`: gate check, diff, matrix validate) keep their own formats;
 * `--json` and `--format json` mean the same for them too.
 */

/** Whether `argv` asks for JSON; read before parsing, so that a usage error is reported as JSON too. */
export function asksForJson(argv: readonly string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return false;
    if (arg === '--json' || arg === '--format=json' || (arg === '--format' && argv[i + 1] === 'json')) return true;
  }
  return false;
}

/** Whether a command formats its own output (declares `format` or `json`), so its stdout is left as it writes it. */
export function formatsItself(command: Pick<Command, 'options'>): boolean {
  return command.options !== undefined && ('format' in command.options || 'json' in command.options);
}

/** A command's options with `--format` and `--json` added where it does not declare them; none for a command without options. */
export function withFormatOptions(options: Command['options']): Command['options'] {
  if (!options) return undefined;
  return { format: { type: 'string' }, json: { type: 'boolean' }, ...options };
}

/**
 * The format a run asked for. `--json` and `--format json` are made the same for the command
 * (`values` updated in place: a command that reads either sees JSON); giving both with different
 * meanings, or a format other than text or json to a command without its own formats, is a usage
 * error.
 */
export function outputFormat(command: Pick<Command, 'options'>, values: CommandArgs['values']): OutputFormat {
  const ownFormats = command.options !== undefined && 'format' in command.options;
  // The same names as the API's ?format= (md is markdown, txt is text).
  if (typeof values.format === 'string') values.format = representationNamed(values.format) ?? values.format;
  if (values.json === true && values.format !== undefined && values.format !== 'json') {
    throw new CliFailure(`--json is short for --format json; it cannot go with --format ${String(values.format)}`, 3, { kind: 'usage' });
  }
  if (!ownFormats && values.format !== undefined && values.format !== 'text' && values.format !== 'json') {
    throw new CliFailure('--format must be text or json', 3, { kind: 'usage' });
  }
  if (values.json === true || values.format === 'json') {
    values.json = true;
    values.format = 'json';
    return 'json';
  }
  return 'text';
}

/**
 * Where a command's output goes. Text: straight through. JSON: `print` writes the result as one
 * JSON document on stdout; lines the command writes with `io.out` besides are held back — sent
 * to stderr after a printed result, or wrapped as `{"exitCode": n, "output": [lines]}` when the
 * command printed no result (a command without a structured one, such as backup) — so stdout
 * always holds one document. A command that formats itself writes straight through.
 */
export class CommandOutput {
  readonly io: Io;
  private readonly held: string[] = [];
  private printed = false;
  private readonly wrapped: boolean;

  constructor(
    readonly format: OutputFormat,
    private readonly real: Io,
    formatsOwnOutput: boolean,
  ) {
    this.wrapped = format === 'json' && !formatsOwnOutput;
    this.io = this.wrapped ? { out: (line) => this.held.push(line), err: real.err } : real;
  }

  /** The command's result: JSON with --format json, else its text. Call it once. */
  readonly print = <T>(result: T, text: (result: T) => string): void => {
    this.printed = true;
    if (this.format === 'json') this.real.out(JSON.stringify(result, null, 2));
    else this.real.out(text(result));
  };

  /** After the command returned `code`: what was held back goes out (see the class); returns `code`. */
  finish(code: number): number {
    if (!this.wrapped) return code;
    if (this.printed) for (const line of this.held) this.real.err(line);
    else this.real.out(JSON.stringify({ exitCode: code, output: this.held }, null, 2));
    return code;
  }

  /** The lines held back so far, for an error report. */
  heldBack(): string[] {
    return [...this.held];
  }
}
