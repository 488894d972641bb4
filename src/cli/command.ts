import type { ParseArgsConfig } from 'node:util';
import type { Config } from '../config.ts';

/** Where the CLI writes; tests may pass their own. */
export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** A command's arguments as node:util's parseArgs returns them. */
export interface CommandArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** The output format a command was asked for: `--format json` (or its alias `--json`), else text. */
export type OutputFormat = 'text' | 'json';

/** What every command runs with. */
export interface CommandContext {
  config: Config;
  io: Io;
  /** `json` when the run asked for `--format json` or `--json` (see src/cli/output.ts). */
  format: OutputFormat;
  /**
   * Prints the command's result: with `--format json` as one JSON document on stdout, else the
   * lines `text` renders. A command that prints its result this way gets `--format text|json`
   * and `--json` without declaring them.
   */
  print<T>(result: T, text: (result: T) => string): void;
}

/** One CLI command: the words that call it, what `accord --help` lists of it, its help and its run. */
export interface Command {
  /** The words that call it, e.g. `gate check`. */
  name: string;
  /** How to call it, as `accord --help` lists it and a usage error repeats it. */
  synopsis: string;
  /** What it does, beside or under the synopsis in `accord --help`. */
  summary?: string;
  /** What `accord <name> --help` and `accord help <name>` print. */
  help: string;
  /**
   * Its options for node:util's parseArgs (strict, positionals allowed; the dispatcher adds and
   * answers --help, and adds --format text|json and --json unless the command declares its own
   * `format` or `json`). Without options every argument reaches `run` as a positional.
   */
  options?: ParseArgsConfig['options'];
  /** Runs the command and returns its exit code. */
  run(args: CommandArgs, context: CommandContext): Promise<number>;
}

/** A command's run in its own module (src/cli/run/): given the command too, for its usage error. */
export type CommandRun = (args: CommandArgs, context: CommandContext, command: Command) => Promise<number>;

/**
 * A command whose run lives in another module, imported only when the command runs: `accord
 * --help`, `--version` and the other commands never load what it needs (the service, Spectral,
 * the database drivers), so the CLI starts in well under 300 ms.
 */
export function lazyCommand(spec: Omit<Command, 'run'>, load: () => Promise<{ run: CommandRun }>): Command {
  const command: Command = { ...spec, run: async (args, context) => (await load()).run(args, context, command) };
  return command;
}
