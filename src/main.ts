import { parseCommandArgs } from './cli/args.ts';
import { COMMANDS } from './cli/commands/index.ts';
import type { Command, Io } from './cli/command.ts';
import { CliFailure, reportError, usageFailure } from './cli/errors.ts';
import { asksForJson, CommandOutput, formatsItself, outputFormat } from './cli/output.ts';
import { forTerminal } from './cli/terminal.ts';
import { groupSynopsis, programUsage } from './cli/usage.ts';
import type { Config, loadConfig } from './config.ts';
import { accordVersion } from './lib/version.ts';

/** The environment a run reads its configuration from (loadConfig's default: the process's). */
type Env = Parameters<typeof loadConfig>[0];

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
  return new CliFailure(`Unknown command "${words[0]}"`, 3, { kind: 'usage', more: `\n\n${USAGE}` });
}

/** `accord help <command>`: that command's help, or every help of a group (`accord help audit`). */
function helpFor(words: string[]): string {
  const found = findCommand(words);
  if (found && found.args.length === 0) return found.command.help;
  const group = words.length === 1 ? commandGroup(words[0]!) : [];
  if (group.length > 0) return group.map((c) => c.help).join('\n\n');
  throw new CliFailure(`Unknown command "${words.join(' ')}"`, 3, { kind: 'usage', more: `\n\n${USAGE}` });
}

/** Finds the command `argv` names, answers its --help or runs it; `run.output` is where its output went, once it runs. */
async function dispatch(argv: string[], io: Io, env: Env | undefined, run: { output?: CommandOutput }): Promise<number> {
  const [first, ...rest] = argv;
  if (!first || first === '--help' || first === '-h' || (first === 'help' && rest.length === 0)) {
    io.out(USAGE);
    return 0;
  }
  if (first === '--version' || first === '-v' || first === 'version') {
    io.out(`accord ${accordVersion()}`);
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
  const format = outputFormat(found.command, args.values);
  // Read only now: help and a mistyped command need no (valid) configuration.
  // Imported only now too: --help and --version start without the configuration's dependencies.
  const { loadConfig } = await import('./config.ts');
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    throw new CliFailure(`configuration: ${(error as Error).message}`, 3, { kind: 'configuration' });
  }
  const output = (run.output = new CommandOutput(format, io, formatsItself(found.command)));
  return output.finish(await found.command.run(args, { config, io: output.io, format, print: output.print }));
}

/**
 * Runs the CLI and returns the exit code. By default it prints to stdout/stderr with control
 * characters escaped: what it prints may come from other people (names, comments, documents).
 * A failure is reported as text on stderr, or with --format json as JSON on stdout.
 * @param argv arguments after the program name
 * @param env the environment to configure from (tests run the CLI in-process against a server); the process's by default
 */
export async function main(argv: string[], io: Io = { out: (l) => console.log(forTerminal(l)), err: (l) => console.error(forTerminal(l)) }, env?: Env): Promise<number> {
  const run: { output?: CommandOutput } = {};
  try {
    return await dispatch(argv, io, env, run);
  } catch (error) {
    return reportError(error, io, { json: run.output ? run.output.format === 'json' : asksForJson(argv), output: run.output?.heldBack() });
  }
}
