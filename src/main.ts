import { parseCommandArgs } from './cli/args.ts';
import { COMMANDS } from './cli/commands/index.ts';
import type { Command, Io } from './cli/command.ts';
import { CliFailure, reportError, usageFailure } from './cli/errors.ts';
import { forTerminal } from './cli/terminal.ts';
import { groupSynopsis, programUsage } from './cli/usage.ts';
import { loadConfig, type Config } from './config.ts';

const USAGE = programUsage(COMMANDS);

/** The command `words` start with (`gate check …`), and the arguments after its name. */
function findCommand(words: string[]): { command: Command; args: string[] } | undefined {
  for (const command of COMMANDS) {
    const name = command.name.split(' ');
    if (name.every((word, i) => words[i] === word)) return { command, args: words.slice(name.length) };
  }
  return undefined;
}

/** The commands whose first word is `word` (`accord gate`, `accord evidence`). */
function commandGroup(word: string): Command[] {
  return COMMANDS.filter((c) => c.name.startsWith(`${word} `));
}

/** Unknown words: a group's usage when they name a group, else the program's. */
function notACommand(words: string[]): CliFailure {
  const group = commandGroup(words[0]!);
  if (group.length > 0) return usageFailure({ synopsis: groupSynopsis(group) });
  return new CliFailure(`Unknown command "${words[0]}"\n\n${USAGE}`, 3);
}

/** `accord help <command>`: that command's help, or every help of a group (`accord help audit`). */
function helpFor(words: string[]): string {
  const found = findCommand(words);
  if (found && found.args.length === 0) return found.command.help;
  const group = words.length === 1 ? commandGroup(words[0]!) : [];
  if (group.length > 0) return group.map((c) => c.help).join('\n\n');
  throw new CliFailure(`Unknown command "${words.join(' ')}"\n\n${USAGE}`, 3);
}

/** Finds the command `argv` names, answers its --help or runs it. */
async function dispatch(argv: string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  if (!first || first === '--help' || first === '-h' || (first === 'help' && rest.length === 0)) {
    io.out(USAGE);
    return 0;
  }
  if (first === 'help') {
    io.out(helpFor(rest));
    return 0;
  }
  const found = findCommand(argv);
  if (!found) throw notACommand(argv);
  const args = parseCommandArgs(found.command, found.args);
  if (args.values.help) {
    io.out(found.command.help);
    return 0;
  }
  // Read only now: help and a mistyped command need no (valid) configuration.
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    throw new CliFailure(`configuration: ${(error as Error).message}`, 3);
  }
  return found.command.run(args, { config, io });
}

/**
 * Runs the CLI and returns the exit code. By default it prints to stdout/stderr with control
 * characters escaped: what it prints may come from other people (names, comments, documents).
 * @param argv arguments after the program name
 */
export async function main(argv: string[], io: Io = { out: (l) => console.log(forTerminal(l)), err: (l) => console.error(forTerminal(l)) }): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    return reportError(error, io);
  }
}
