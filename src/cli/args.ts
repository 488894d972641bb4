import { parseArgs } from 'node:util';
import type { Command, CommandArgs } from './command.ts';
import { CliFailure } from './errors.ts';
import { withFormatOptions } from './output.ts';

/**
 * Parses a command's arguments against its options, plus --help and (src/cli/output.ts)
 * --format and --json (strict, positionals allowed); a mistake is a usage error (exit 3). A
 * command without options gets every argument but --help as a positional.
 */
export function parseCommandArgs(command: Pick<Command, 'options'>, args: string[]): CommandArgs {
  const options = withFormatOptions(command.options);
  if (!options) return { values: { help: args.includes('--help') }, positionals: args.filter((a) => a !== '--help') };
  try {
    const { values, positionals } = parseArgs({ args, options: { ...options, help: { type: 'boolean' } }, allowPositionals: true, strict: true });
    return { values: values as CommandArgs['values'], positionals };
  } catch (error) {
    throw new CliFailure(`${(error as Error).message}\nRun with --help for usage.`, 3, { kind: 'usage' });
  }
}

/** The string flags of `names` that `values` lacks, as a usage detail (`Missing --partner, --api`); undefined when none is. */
export function missingFlags(values: CommandArgs['values'], names: string[]): string | undefined {
  const missing = names.filter((name) => typeof values[name] !== 'string' || values[name] === '');
  return missing.length > 0 ? `Missing ${missing.map((m) => `--${m}`).join(', ')}` : undefined;
}
