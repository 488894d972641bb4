import { oneLine } from '../../lib/text.ts';
import { callServer, segment } from '../client.ts';
import type { Command } from '../command.ts';
import { usageFailure } from '../errors.ts';
import { contentTypeOf, readInputFile } from '../files.ts';

/** A finding the server lists with a registration (a diff change, a lint warning): only what the text needs. */
interface Finding {
  rule?: string;
  method?: string;
  path?: string;
  location?: string;
  message?: string;
  /** 1-based, when the server says so this way. */
  line?: number;
  column?: number;
  /** Spectral's own range (0-based). */
  range?: { start?: { line?: number; character?: number } };
}

/** What POST /v1/contracts/{partner}/{api}/versions answers (RegisteredVersion), as far as the text reads it. */
export interface Registered {
  partner: string;
  api: string;
  version: string;
  state: string;
  sha256: string;
  commit: string;
  diff?: { against: string; summary: { breaking: number; warning: number; info: number }; bump: string; breaking: Finding[] };
  lint?: { warnings?: Finding[] };
}

/** Breaking changes the text lists before it says "and N more". */
const LISTED = 10;

/** One finding on one line: where (the operation unless the message names it, else the location with Spectral's line:column when given), message, rule. */
function findingLine(f: Finding): string {
  const start = f.range?.start;
  const line = typeof f.line === 'number' ? f.line : typeof start?.line === 'number' ? start.line + 1 : undefined;
  const column = typeof f.column === 'number' ? f.column : typeof start?.character === 'number' ? start.character + 1 : undefined;
  const at = line !== undefined ? ` (line ${line}${column !== undefined ? `:${column}` : ''})` : '';
  const message = f.message ?? '';
  const where = f.method && f.path ? (message.includes(f.path) ? '' : `${f.method.toUpperCase()} ${f.path}`) : `${f.location || '/'}${at}`;
  return oneLine(`    - ${where ? `${where}: ` : ''}${message} [${f.rule ?? 'finding'}]`);
}

/** The text a board member reads: what was registered, what changed against the version before it, warnings, the next step. */
export function registeredText(v: Registered, created: boolean): string {
  const ref = `${v.partner}/${v.api}@${v.version}`;
  const lines = [oneLine(`${created ? 'Registered' : 'Already registered (identical)'} ${ref} [${v.state}] commit ${v.commit.slice(0, 12)} sha256 ${v.sha256}`)];
  if (v.diff) {
    const { summary, breaking } = v.diff;
    lines.push(oneLine(`  Diff against ${v.diff.against}: ${summary.breaking} breaking, ${summary.warning} warnings, ${summary.info} info (${v.diff.bump} bump)`));
    lines.push(...breaking.slice(0, LISTED).map(findingLine));
    if (breaking.length > LISTED) lines.push(`    … and ${breaking.length - LISTED} more breaking changes (accord diff ${v.partner}/${v.api}@${v.diff.against} ${ref})`);
  } else lines.push('  Diff: none (the first version of this API)');
  const warnings = Array.isArray(v.lint?.warnings) ? v.lint.warnings : [];
  if (warnings.length > 0) lines.push(`  Lint: ${warnings.length} warning${warnings.length === 1 ? '' : 's'}`, ...warnings.map(findingLine));
  if (created) lines.push(oneLine(`Next: open a change request for it: accord change open --partner ${v.partner} --api ${v.api} --version ${v.version} --summary "what changes and why"`));
  return lines.join('\n');
}

/** `accord contract register`: one contract version through the running server, with the diff summary it answers. */
export const contractRegister: Command = {
  name: 'contract register',
  synopsis: 'accord contract register <file> --partner P --api A [--version V] [--format text|json]',
  summary: 'register one contract version through the running server',
  help: `accord contract register <file> --partner <id> --api <id> [--version <semver>] [--format text|json]

Registers one OpenAPI 3.0/3.1 document (YAML or JSON, by file extension) through the server at
ACCORD_URL with ACCORD_TOKEN (author or admin). The version defaults to the document's info.version.
Prints what was registered, the diff against the version before it (breaking, warnings, info,
the semver bump and each breaking change), any lint warnings, and the next step. --json is short
for --format json (the server's answer as it came). Exit 0 registered or already registered with
identical content, 1 refused (invalid document, different content, breaking without a major
bump, forbidden), 3 could not run.`,
  options: { partner: { type: 'string' }, api: { type: 'string' }, version: { type: 'string' } },
  async run({ values, positionals }, { config, print }) {
    const file = positionals[0];
    if (!file || positionals.length > 1 || !values.partner || !values.api) throw usageFailure(contractRegister);
    const query = values.version ? `?version=${encodeURIComponent(values.version as string)}` : '';
    const result = await callServer(config, 'POST', `/v1/contracts/${segment(values.partner)}/${segment(values.api)}/versions${query}`, {
      text: await readInputFile(file),
      contentType: contentTypeOf(file),
    });
    print(result.json as Registered, (v) => registeredText(v, result.status === 201));
    return 0;
  },
};
