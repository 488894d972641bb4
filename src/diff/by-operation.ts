import { LEVEL_ORDER, type Change, type DiffResult, type Level } from './types.ts';

/**
 * The findings of a diff grouped the way a reader scans them: one group per operation (headed
 * by its method, path and summary), one for what concerns the whole document, and one per shared
 * schema whose change reaches several operations; each finding once, breaking first.
 */

/** One finding as listed: the change (the first of its kind) and every operation it affects. */
export interface Finding {
  change: Change;
  /** `METHOD path` of each operation the finding reaches, in the diff's order. */
  operations: string[];
}

/** A group of findings under one heading. */
export interface FindingGroup {
  kind: 'operation' | 'shared' | 'document';
  /** Set for operation groups. */
  method?: string;
  path?: string;
  summary?: string;
  /** The shared schema's name (components/schemas), for shared groups that have one. */
  schema?: string;
  /** The most severe level among the group's findings. */
  worst: Level;
  findings: Finding[];
  /** Operation groups: the shared schemas (their names; '' for other shared definitions) whose changes also reach this operation. */
  sharedSchemas?: string[];
  /** Shared groups: the summary of each operation its findings affect. */
  summaries?: Map<string, string>;
}

const KIND_ORDER: Record<FindingGroup['kind'], number> = { document: 0, shared: 1, operation: 2 };
const SCHEMA = /^\/components\/schemas\/([^/]+)/;

/**
 * What makes two findings the same: the rule, where it is, what it names and what it says about
 * it. The subject and the message's detail keep apart two parameters removed from one operation
 * (same rule and location) or two enum values added; the detail leaves out what the message says
 * first about how the operation reaches the schema (`response 200 application/json: …`), so a
 * shared schema's change reads once whichever status or media type each operation reaches it by.
 */
function findingKey(c: Change): string {
  const colon = c.message.indexOf(': ');
  return `${c.rule}|${c.location}|${c.subject ?? ''}|${colon === -1 ? c.message : c.message.slice(colon + 2)}`;
}

function operationOf(c: Change): string | undefined {
  return c.method ? `${c.method} ${c.path ?? ''}` : undefined;
}

/** Groups a diff's changes by operation (see the file's comment); pure. */
export function groupByOperation(changes: Change[]): FindingGroup[] {
  const findings = new Map<string, Finding>();
  const summaries = new Map<string, string>();
  for (const c of changes) {
    const op = operationOf(c);
    if (op && c.summary && !summaries.has(op)) summaries.set(op, c.summary);
    const key = findingKey(c);
    const f = findings.get(key);
    if (!f) findings.set(key, { change: c, operations: op ? [op] : [] });
    else {
      if (op && !f.operations.includes(op)) f.operations.push(op);
      if (LEVEL_ORDER[c.level] < LEVEL_ORDER[f.change.level]) f.change = c;
    }
  }

  const groups = new Map<string, FindingGroup>();
  const add = (key: string, make: () => Omit<FindingGroup, 'findings' | 'worst'>, finding: Finding) => {
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ...make(), worst: finding.change.level, findings: [] }));
    g.findings.push(finding);
    if (LEVEL_ORDER[finding.change.level] < LEVEL_ORDER[g.worst]) g.worst = finding.change.level;
  };
  for (const f of findings.values()) {
    const c = f.change;
    if (f.operations.length === 0) add('document', () => ({ kind: 'document' }), f);
    else if (f.operations.length === 1) {
      add(`op:${f.operations[0]}`, () => ({ kind: 'operation', method: c.method!, path: c.path ?? '', ...(summaries.has(f.operations[0]!) ? { summary: summaries.get(f.operations[0]!)! } : {}) }), f);
    } else {
      const schema = SCHEMA.exec(c.location)?.[1]?.replace(/~1/g, '/').replace(/~0/g, '~');
      add(`shared:${schema ?? ''}`, () => ({ kind: 'shared', ...(schema !== undefined ? { schema } : {}), summaries }), f);
    }
  }
  // An operation's own section says which shared changes reach it too, so none reads as unaffected.
  for (const [key, g] of groups) {
    if (g.kind !== 'shared') continue;
    const name = key.slice('shared:'.length);
    for (const op of new Set(g.findings.flatMap((f) => f.operations))) {
      const own = groups.get(`op:${op}`);
      if (own && !own.sharedSchemas?.includes(name)) (own.sharedSchemas ??= []).push(name);
    }
  }

  const order = [...groups.values()];
  for (const g of order) g.findings.sort((a, b) => LEVEL_ORDER[a.change.level] - LEVEL_ORDER[b.change.level]);
  // Array.prototype.sort is stable: groups of the same rank keep the diff's order (by path, then method).
  order.sort((a, b) => LEVEL_ORDER[a.worst] - LEVEL_ORDER[b.worst] || KIND_ORDER[a.kind] - KIND_ORDER[b.kind]);
  return order;
}

/** One line verdict: counts and the bump the changes require. */
export function verdictLine(result: DiffResult): string {
  const { breaking, warning, info } = result.summary;
  if (result.summary.total === 0) return 'No changes.';
  return `${breaking} breaking, ${warning} warning${warning === 1 ? '' : 's'}, ${info} info — requires a ${result.bump} version`;
}
