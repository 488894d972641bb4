import type { Command } from './command.ts';

/** Where summaries start in `accord --help`. */
const SUMMARY_COLUMN = 50;

/** A command's lines in the program's usage: the synopsis, its summary beside it when it fits, else under it. */
function usageLines({ synopsis, summary }: Pick<Command, 'synopsis' | 'summary'>): string[] {
  const lines = synopsis.split('\n').map((line) => `  ${line}`);
  const notes = summary ? summary.split('\n') : [];
  if (notes.length > 0 && lines.length === 1 && lines[0]!.length < SUMMARY_COLUMN - 1) lines[0] = `${lines[0]!.padEnd(SUMMARY_COLUMN)}${notes.shift()}`;
  return [...lines, ...notes.map((note) => `${' '.repeat(SUMMARY_COLUMN)}${note}`)];
}

/** What `accord --help` prints: every command's synopsis and summary, then the environment and the exit codes. */
export function programUsage(commands: readonly Command[]): string {
  return `accord — governance and contract registry for payer-to-payer API networks

Usage:
${[...commands, { synopsis: 'accord <command> --help', summary: 'help for one command' }, { synopsis: 'accord --version', summary: 'the release of this accord' }].flatMap(usageLines).join('\n')}

Environment: ACCORD_URL and ACCORD_TOKEN for commands that talk to the server; ACCORD_DATA_DIR,
HOST, PORT and the rest for the service (see README).
Output: --format json (or --json) on any command but serve prints one JSON document on stdout:
the result, or {"error": {"kind", "message", "exitCode", "status", "problem"}} when it fails.
Exit codes: 0 done; 1 refused (the server said no: bad input, not found, conflict, forbidden);
3 could not run (usage, configuration, token not accepted, server unreachable, busy or failing).
gate check: 0 pass, 1 fail, 2 pending, 3 error; certify: 0 passed, 1 failed, 3 error or
timeout; diff and matrix validate: 1 findings.`;
}

/** The usage error's synopsis for a group of commands (`accord gate`): the first line of each one's synopsis. */
export function groupSynopsis(commands: readonly Command[]): string {
  return commands.map((c) => c.synopsis.split('\n')[0]).join(' | ');
}
