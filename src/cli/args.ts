import { parseArgs } from 'node:util';
import type { Command, CommandArgs } from './command.ts';
import { CliFailure } from './errors.ts';

/**
 * Parses a command's arguments against its options, plus --help (strict, positionals allowed);
 * a mistake is a usage error (exit 3). A command without options gets every argument but --help
 * as a positional.
 */
export function parseCommandArgs(command: Pick<Command, 'options'>, args: string[]): CommandArgs {
  if (!command.options) return { values: { help: args.includes('--help') }, positionals: args.filter((a) => a !== '--help') };
  try {
    const { values, positionals } = parseArgs({ args, options: { ...command.options, help: { type: 'boolean' } }, allowPositionals: true, strict: true });
    return { values: values as CommandArgs['values'], positionals };
  } catch (error) {
    throw new CliFailure(`${(error as Error).message}\nRun with --help for usage.`, 3);
  }
}
