import { oneLine } from '../lib/text.ts';
import { LEVELS, type Change, type DiffResult, type Level } from './types.ts';

/** The forms a diff is rendered in (`?format=`), the default first. */
export const DIFF_FORMATS = ['json', 'markdown', 'text'] as const;
export type DiffFormat = (typeof DIFF_FORMATS)[number];

const HEADINGS: Record<Level, string> = {
  breaking: 'Breaking changes — partners must act',
  warning: 'Needs review',
  info: 'Additions and other compatible changes',
};

/** One line verdict: counts and the bump the changes require. */
export function verdictLine(result: DiffResult): string {
  const { breaking, warning, info } = result.summary;
  if (result.summary.total === 0) return 'No changes.';
  return `${breaking} breaking, ${warning} warning${warning === 1 ? '' : 's'}, ${info} info — requires a ${result.bump} version`;
}

interface Group {
  change: Change;
  operations: string[];
}

/** Changes of one level grouped by what changed (rule + location), with the operations affected. */
function groups(changes: Change[], level: Level): Group[] {
  const byKey = new Map<string, Group>();
  for (const c of changes) {
    if (c.level !== level) continue;
    const key = `${c.rule}|${c.location}`;
    const op = c.method ? `${c.method} ${c.path}` : '';
    const g = byKey.get(key);
    if (g) {
      if (op && !g.operations.includes(op)) g.operations.push(op);
    } else byKey.set(key, { change: c, operations: op ? [op] : [] });
  }
  return [...byKey.values()];
}

function opsList(ops: string[], max: number, code: (s: string) => string): string {
  if (ops.length === 0) return '';
  const shown = ops.slice(0, max).map(code).join(', ');
  return ops.length > max ? `${shown} and ${ops.length - max} more` : shown;
}

/** Plain text for terminals: the verdict, then one line per change (grouped by what changed). */
export function renderText(result: DiffResult): string {
  const lines = [verdictLine(result)];
  for (const level of LEVELS) {
    for (const g of groups(result.changes, level)) {
      const c = g.change;
      const where = g.operations.length ? ` (${opsList(g.operations, 3, (s) => s)})` : '';
      lines.push(`${level.toUpperCase().padEnd(8)} ${c.message}${where}  [${c.rule}] ${c.location}`);
    }
  }
  return `${lines.map(oneLine).join('\n')}\n`;
}

/**
 * A Markdown changelog for release notes and PR comments, grouped by partner-visible impact:
 * breaking first, then what needs review, then compatible changes; a change to a shared schema
 * is listed once with the operations it affects.
 */
export function renderMarkdown(result: DiffResult, title = 'Contract changes'): string {
  const out = [`## ${title}`, '', `**${verdictLine(result)}**`, ''];
  for (const level of LEVELS) {
    const list = groups(result.changes, level);
    if (list.length === 0) continue;
    out.push(`### ${HEADINGS[level]} (${list.length})`, '');
    for (const g of list) {
      const ops = g.operations.length ? ` — ${opsList(g.operations, 5, (s) => `\`${s}\``)}` : '';
      out.push(`- ${escapeMd(g.change.message)}${ops} <sub>${g.change.rule}</sub>`);
    }
    out.push('');
  }
  return out.map(oneLine).join('\n');
}

function escapeMd(text: string): string {
  return text.replace(/([\\`*_<>|])/g, '\\$1');
}

/** Renders a diff in the requested format. */
export function renderDiff(result: DiffResult, format: DiffFormat, title?: string): string {
  if (format === 'json') return `${JSON.stringify(result, null, 2)}\n`;
  if (format === 'markdown') return renderMarkdown(result, title);
  return renderText(result);
}
