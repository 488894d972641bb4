import { oneLine } from '../lib/text.ts';
import { groupByOperation, verdictLine, type Finding, type FindingGroup } from './by-operation.ts';
import { consequenceOf, inlineCode, type RuleLookup } from './consequence.ts';
import { toGitHubAnnotations } from './githubactions.ts';
import type { DiffArtifacts } from './lines.ts';
import { toSarif } from './sarif.ts';
import type { Change, DiffResult, Level } from './types.ts';
import type { CliDiffFormat } from './formats.ts';

export { verdictLine };

// In their own module so `accord diff --help` lists them without loading the renderers.
export { CLI_DIFF_FORMATS, DIFF_FORMATS, type CliDiffFormat, type DiffFormat } from './formats.ts';

/** How a finding's level reads to a partner. */
export const LEVEL_WORDS: Record<Level, string> = { breaking: 'Breaking', warning: 'Needs review', info: 'Compatible' };

/** What a rendering may use besides the result: a title, and the compared documents (for lines). */
export interface RenderOptions {
  /** The Markdown heading. */
  title?: string;
  /** The compared documents' URIs and texts: SARIF and annotations point at their lines. */
  artifacts?: DiffArtifacts;
  /** Accord's version, for SARIF's tool. */
  toolVersion?: string;
  /** Where consequences come from: the rule table unless a test injects its own. */
  lookup?: RuleLookup;
}

/** A diff as JSON answers it: each change with its plain-language `consequence` (the result itself stays as computed). */
export function withConsequences<R extends DiffResult>(result: R, lookup?: RuleLookup): R & { changes: Array<Change & { consequence: string }> } {
  return { ...result, changes: result.changes.map((c) => ({ ...c, consequence: consequenceOf(c, lookup ? { lookup } : {}) })) };
}

/** `METHOD path (summary)` for the operations a shared change affects. */
function operationNames(g: FindingGroup, f: Finding, code: (s: string) => string = (s) => s, escape: (s: string) => string = (s) => s): string[] {
  return f.operations.map((op) => {
    const summary = g.summaries?.get(op);
    return `${code(op)}${summary ? ` (${escape(summary)})` : ''}`;
  });
}

/** The line saying which shared schema changes also reach an operation (listed under the schema, not again here). */
function alsoShared(g: FindingGroup, code: (s: string) => string = (s) => s): string | undefined {
  if (!g.sharedSchemas?.length) return undefined;
  const names = g.sharedSchemas.map((n) => (n === '' ? 'shared definitions' : `shared schema ${code(n)}`));
  return `Also affected by the changes to ${names.join(', ')} (listed there).`;
}

function list(items: string[], max: number): string {
  const shown = items.slice(0, max).join(', ');
  return items.length > max ? `${shown} and ${items.length - max} more` : shown;
}

/** A group's heading, as plain text or (with `code`, `escape`) as Markdown. */
function heading(g: FindingGroup, code: (s: string) => string = (s) => s, escape: (s: string) => string = (s) => s): string {
  if (g.kind === 'operation') return `${code(`${g.method} ${g.path}`)}${g.summary ? ` — ${escape(g.summary)}` : ''}`;
  if (g.kind === 'shared') return g.schema !== undefined ? `Shared schema ${code(g.schema)} — used by several operations` : 'Shared definitions — used by several operations';
  return 'Whole document';
}

/**
 * Plain text for terminals: the verdict, then each operation (method, path, summary) with its
 * findings once — level, what changed, rule and location, and what it means for partners;
 * breaking first.
 */
export function renderText(result: DiffResult, options: Pick<RenderOptions, 'lookup'> = {}): string {
  const lines = [verdictLine(result)];
  const pad = ' '.repeat(12);
  for (const g of groupByOperation(result.changes)) {
    lines.push('', heading(g));
    const also = alsoShared(g);
    if (also) lines.push(`  ${also}`);
    for (const f of g.findings) {
      const c = f.change;
      lines.push(`  ${c.level.toUpperCase().padEnd(9)} ${c.message}  [${c.rule}] ${c.location}`);
      lines.push(`${pad}${consequenceOf(c, options)}`);
      if (g.kind === 'shared') lines.push(`${pad}affects ${list(operationNames(g, f), 3)}`);
    }
  }
  return `${lines.map(oneLine).join('\n')}\n`;
}

function markdownFinding(g: FindingGroup, f: Finding, lookup: RuleLookup | undefined): string[] {
  const c = f.change;
  const consequence = consequenceOf(c, { text: escapeMd, ...(lookup ? { lookup } : {}) });
  const affects = g.kind === 'shared' ? `Affects ${list(operationNames(g, f, inlineCode, escapeMd), 5)} · ` : '';
  return [`- **${LEVEL_WORDS[c.level]}** — ${consequence}`, `  <sub>${affects}${escapeMd(c.message)} · ${inlineCode(c.rule)}</sub>`];
}

/**
 * A Markdown changelog for release notes, PR comments and a governance board, readable without
 * OpenAPI knowledge: the verdict, then one section per operation (method, path, summary) listing
 * each finding once with what it means for partners; what concerns the whole document and
 * changes to a shared schema (with the operations they affect) in sections of their own;
 * breaking first.
 */
export function renderMarkdown(result: DiffResult, title = 'Contract changes', options: Pick<RenderOptions, 'lookup'> = {}): string {
  const out = [`## ${escapeMd(title)}`, '', `**${verdictLine(result)}**`, ''];
  for (const g of groupByOperation(result.changes)) {
    out.push(`### ${heading(g, inlineCode, escapeMd)}`, '');
    const also = alsoShared(g, inlineCode);
    if (also) out.push(`_${also}_`, '');
    for (const f of g.findings) out.push(...markdownFinding(g, f, options.lookup));
    out.push('');
  }
  return out.map(oneLine).join('\n');
}

function escapeMd(text: string): string {
  return text.replace(/([\\`*_<>|[\]#])/g, '\\$1');
}

/** Renders a diff in the requested format. */
export function renderDiff(result: DiffResult, format: CliDiffFormat, options: RenderOptions = {}): string {
  if (format === 'json') return `${JSON.stringify(withConsequences(result, options.lookup), null, 2)}\n`;
  if (format === 'markdown') return renderMarkdown(result, options.title, options);
  if (format === 'sarif') return `${JSON.stringify(toSarif(result, options), null, 2)}\n`;
  if (format === 'githubactions') return toGitHubAnnotations(result, options);
  return renderText(result, options);
}
