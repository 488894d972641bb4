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

/** What every command runs with. */
export interface CommandContext {
  config: Config;
  io: Io;
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
   * answers --help). Without options every argument reaches `run` as a positional.
   */
  options?: ParseArgsConfig['options'];
  /** Runs the command and returns its exit code. */
  run(args: CommandArgs, context: CommandContext): Promise<number>;
}
