import type { Child } from 'hono/jsx';
import { consequenceParts } from '../../diff/consequence.ts';
import { verdictLine } from '../../diff/render.ts';
import { declaredBump } from '../../contracts/ids.ts';
import { LEVEL_ORDER, type Bump, type Change, type DiffResult, type Level } from '../../diff/types.ts';
import { emptyDictionary, valueAt } from '../../lib/json.ts';
import { dumpYaml } from '../../lib/yaml.ts';

/** What DiffView shows: the diff, and (when known) the two documents for side-by-side fragments. */
export interface DiffViewProps {
  result: DiffResult;
  /** Version labels of the two sides (e.g. "1.1.0" → "2.0.0"); the base may be absent (first version). */
  fromVersion?: string | null;
  toVersion?: string;
  /** The parsed documents, for the side-by-side of changed schema fragments (omitted: no fragments). */
  base?: unknown;
  revision?: unknown;
  /** Level of the view's own headings (its groups use the next one); 2 unless the page nests it deeper. */
  headingLevel?: 2 | 3;
  /** Prefix of the ids the view gives its elements (default "diff"). */
  idPrefix?: string;
  /** Findings shown per operation (default 200); the rest are counted. */
  maxPerGroup?: number;
}

/** Findings of a group shown before the rest is folded into a <details>. */
const VISIBLE_PER_GROUP = 10;
/** Operations (groups) shown, and findings shown across all of them. */
const MAX_GROUPS = 300;
const MAX_FINDINGS = 1_000;
/** Side-by-side fragments rendered per view; a fragment already shown is linked, not repeated. */
const MAX_FRAGMENTS = 40;
/** Bounds of one pretty-printed fragment: nesting, values, lines and characters. */
const FRAGMENT_DEPTH = 8;
const FRAGMENT_VALUES = 400;
const FRAGMENT_LINES = 80;
const FRAGMENT_CHARS = 6_000;

const LEVEL_WORDS: Record<Level, string> = { breaking: 'Breaking', warning: 'Warning', info: 'Info' };
const LEVEL_BADGE: Record<Level, string> = { breaking: 'breaking', warning: 'warn', info: 'neutral' };
const BUMP_RANK: Record<Bump, number> = { none: 0, patch: 1, minor: 2, major: 3 };
const VERDICT: Record<Bump, { words: string; badge: string }> = {
  major: { words: 'Breaking: needs a major version', badge: 'breaking' },
  minor: { words: 'Compatible additions: needs a minor version', badge: 'ok' },
  patch: { words: 'Compatible changes only: a patch version is enough', badge: 'ok' },
  none: { words: 'No changes: the two documents are equivalent for partners', badge: 'neutral' },
};

/** The findings of one operation (or of the document as a whole), worst first. */
interface Group {
  label: string;
  operationId?: string;
  changes: Change[];
  counts: Record<Level, number>;
}

/** Findings grouped by operation (METHOD path); groups with breaking findings first, then warnings, then the rest by size. */
function groupFindings(changes: Change[]): Group[] {
  const byKey = new Map<string, Group>();
  for (const c of changes) {
    const key = c.method ? `${c.method} ${c.path ?? ''}` : '';
    let g = byKey.get(key);
    if (!g) {
      g = { label: key || 'Document-level changes', changes: [], counts: { breaking: 0, warning: 0, info: 0 } };
      byKey.set(key, g);
    }
    if (!g.operationId && c.operationId) g.operationId = c.operationId;
    g.changes.push(c);
    g.counts[c.level]++;
  }
  const groups = [...byKey.values()];
  for (const g of groups) g.changes.sort((a, b) => LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level]);
  const worst = (g: Group) => LEVEL_ORDER[g.changes[0]!.level];
  return groups.sort((a, b) => worst(a) - worst(b) || b.counts.breaking - a.counts.breaking || b.counts.warning - a.counts.warning || b.changes.length - a.changes.length || a.label.localeCompare(b.label));
}

/** A copy of `value` cut to the fragment bounds, what was cut named in place ("… N more"). */
function bounded(value: unknown, budget: { values: number }, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= FRAGMENT_DEPTH) return `… nested deeper than ${FRAGMENT_DEPTH} levels`;
  const keys = Object.keys(value);
  const out: Record<string, unknown> | unknown[] = Array.isArray(value) ? [] : emptyDictionary();
  let i = 0;
  for (; i < keys.length && budget.values > 0; i++) {
    budget.values--;
    const child = bounded((value as Record<string, unknown>)[keys[i]!], budget, depth + 1);
    if (Array.isArray(out)) out.push(child);
    else out[keys[i]!] = child;
  }
  if (i < keys.length) {
    const note = `… ${keys.length - i} more not shown`;
    if (Array.isArray(out)) out.push(note);
    else out['…'] = note;
  }
  return out;
}

/** The value at a JSON pointer of a document as YAML, cut to FRAGMENT_LINES lines and FRAGMENT_CHARS characters; undefined when absent. */
function fragmentAt(doc: unknown, pointer: string): { text: string; cut?: string } | undefined {
  const value = valueAt(doc, pointer);
  if (value === undefined) return undefined;
  const full = dumpYaml(bounded(value, { values: FRAGMENT_VALUES }, 0)).replace(/\n$/, '');
  const lines = full.split('\n');
  if (lines.length > FRAGMENT_LINES || full.length > FRAGMENT_CHARS) {
    const text = lines.slice(0, FRAGMENT_LINES).join('\n').slice(0, FRAGMENT_CHARS);
    return { text, cut: `Cut: showing ${text.split('\n').length} of ${lines.length} lines.` };
  }
  return { text: full };
}

/**
 * The JSON pointer of the fragment worth showing for a finding: the finding's location, or for
 * a property finding the object schema holding the property (where `required` changes show).
 */
function fragmentPointer(change: Change): string | undefined {
  if (!change.location.startsWith('/')) return undefined;
  if (change.rule.includes('property')) {
    const parent = /^(.*)\/properties\/[^/]+$/.exec(change.location);
    if (parent) return parent[1];
  }
  return change.location;
}

/** The state of one rendering: ids handed out and fragments already shown. */
interface Ctx {
  props: DiffViewProps;
  prefix: string;
  fragments: Map<string, string>;
}

/** Which lines of `a` and of `b` belong to their longest common subsequence (the lines both sides share). */
function sharedLines(a: string[], b: string[]): { a: boolean[]; b: boolean[] } {
  const lcs = Array.from({ length: a.length + 1 }, () => new Uint16Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const shared = { a: a.map(() => false), b: b.map(() => false) };
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    if (a[i] === b[j]) {
      shared.a[i++] = true;
      shared.b[j++] = true;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) i++;
    else j++;
  }
  return shared;
}

/** One side of a side-by-side: the fragment's lines, those the other side lacks marked (struck through before, underlined after). */
function side(caption: string, version: string | null | undefined, fragment: { text: string; cut?: string } | undefined, shared: boolean[] | undefined, Mark: 'del' | 'ins'): Child {
  return (
    <figure>
      <figcaption>{caption}</figcaption>
      {fragment ? (
        <>
          <pre class="fragment">{fragment.text.split('\n').map((line, i) => [i > 0 ? '\n' : '', shared && !shared[i] ? <Mark>{line}</Mark> : line])}</pre>
          {fragment.cut && <p class="muted">{fragment.cut}</p>}
        </>
      ) : (
        <p class="muted">{`Not in ${version ?? 'this version'} at this location.`}</p>
      )}
    </figure>
  );
}

/** The before/after fragment of a finding, a link to it when already shown, or nothing. */
function sideBySide(ctx: Ctx, change: Change): Child {
  const { base, revision, fromVersion, toVersion } = ctx.props;
  if (base === undefined || revision === undefined) return null;
  const pointer = fragmentPointer(change);
  if (pointer === undefined) return null;
  const shown = ctx.fragments.get(pointer);
  if (shown) {
    return (
      <p class="muted">
        Before and after: <a href={`#${shown}`}>{`the fragment at ${pointer}, shown above`}</a>
      </p>
    );
  }
  if (ctx.fragments.size >= MAX_FRAGMENTS) return <p class="muted">{`Before and after not shown: this view shows at most ${MAX_FRAGMENTS} fragments.`}</p>;
  const id = `${ctx.prefix}-fragment-${ctx.fragments.size + 1}`;
  ctx.fragments.set(pointer, id);
  const before = fragmentAt(base, pointer);
  const after = fragmentAt(revision, pointer);
  const shared = before && after ? sharedLines(before.text.split('\n'), after.text.split('\n')) : undefined;
  return (
    <div class="side-by-side" id={id} role="group" aria-label={`Before and after at ${pointer}`}>
      {side(fromVersion ? `Before (from ${fromVersion})` : 'Before (from)', fromVersion, before, shared?.a, 'del')}
      {side(toVersion ? `After (to ${toVersion})` : 'After (to)', toVersion, after, shared?.b, 'ins')}
    </div>
  );
}

function finding(ctx: Ctx, change: Change): Child {
  return (
    <li class="finding">
      <p>
        <span class={`badge ${LEVEL_BADGE[change.level]}`}>{LEVEL_WORDS[change.level]}</span> {change.message}
      </p>
      <p class="consequence">
        <strong>What it means:</strong> {consequenceParts(change).map((p) => (p.subject ? <code>{p.text}</code> : p.text))}
      </p>
      <p class="muted">
        Rule <code>{change.rule}</code> · affects {change.direction === 'request' ? 'requests' : 'responses'} · at <code>{change.location}</code>
      </p>
      {sideBySide(ctx, change)}
    </li>
  );
}

function countWords(counts: Record<Level, number>): string {
  return (['breaking', 'warning', 'info'] as const)
    .filter((l) => counts[l] > 0)
    .map((l) => `${counts[l]} ${l === 'warning' ? (counts[l] === 1 ? 'warning' : 'warnings') : l}`)
    .join(' · ');
}

/**
 * A diff for a governance board: the semver verdict in words, summary counts, then the findings
 * grouped by operation (groups with breaking findings first; breaking → warning → info within
 * each), every finding with its level, message and plain-language consequence, and — when both
 * documents are given — the changed fragment before and after. Bounded for diffs with thousands
 * of findings: long groups fold into <details>, and what is not shown is counted.
 */
export function DiffView(props: DiffViewProps) {
  const { result } = props;
  const level = props.headingLevel ?? 2;
  const H = level === 2 ? 'h2' : 'h3';
  const G = level === 2 ? 'h3' : 'h4';
  const ctx: Ctx = { props, prefix: props.idPrefix ?? 'diff', fragments: new Map() };
  const perGroup = Math.max(1, props.maxPerGroup ?? 200);
  const verdict = VERDICT[result.bump];
  const declared = declaredBump(props.fromVersion, props.toVersion);
  const groups = groupFindings(result.changes);
  let budget = MAX_FINDINGS;

  const groupViews = groups.slice(0, MAX_GROUPS).map((g, gi) => {
    const id = `${ctx.prefix}-group-${gi + 1}`;
    const shownCount = Math.min(g.changes.length, perGroup, budget);
    budget -= shownCount;
    const visible = g.changes.slice(0, Math.min(VISIBLE_PER_GROUP, shownCount)).map((c) => finding(ctx, c));
    const folded = g.changes.slice(visible.length, shownCount).map((c) => finding(ctx, c));
    const hidden = g.changes.length - shownCount;
    return (
      <section class="diff-group">
        <G id={id}>
          {g.label === 'Document-level changes' ? g.label : <code>{g.label}</code>}
          {g.operationId && <span class="muted"> {g.operationId}</span>}
        </G>
        <p class="muted">{countWords(g.counts)}</p>
        {visible.length > 0 && <ol class="findings">{visible}</ol>}
        {folded.length > 0 && (
          <details>
            <summary>{`Show ${folded.length} more finding${folded.length === 1 ? '' : 's'} for ${g.label}`}</summary>
            <ol class="findings" start={visible.length + 1}>
              {folded}
            </ol>
          </details>
        )}
        {hidden > 0 && <p class="muted">{`… ${hidden} more finding${hidden === 1 ? '' : 's'} for ${g.label} not shown.`}</p>}
      </section>
    );
  });
  const hiddenGroups = groups.slice(MAX_GROUPS);

  return (
    <div class="diff-view">
      <section aria-labelledby={`${ctx.prefix}-verdict`}>
        <H id={`${ctx.prefix}-verdict`}>Verdict</H>
        <p class="verdict">
          <span class={`badge ${verdict.badge}`}>{verdict.words}</span>
        </p>
        {props.toVersion && (
          <p>
            {props.fromVersion ? `Comparing ${props.fromVersion} (before) with ${props.toVersion} (after).` : `${props.toVersion} is the first version: there is nothing to compare it with.`}
            {declared !== undefined && BUMP_RANK[declared] < BUMP_RANK[result.bump] && (
              <strong>{declared === 'none' ? ` Both are the same version number, but these changes need a ${result.bump} version.` : ` The version number is a ${declared} step, but these changes need a ${result.bump} version.`}</strong>
            )}
          </p>
        )}
        <p>{verdictLine(result)}</p>
        <dl class="facts">
          <dt>Breaking</dt>
          <dd>{`${result.summary.breaking} (${result.summary.distinct.breaking} distinct)`}</dd>
          <dt>Warnings</dt>
          <dd>{`${result.summary.warning} (${result.summary.distinct.warning} distinct)`}</dd>
          <dt>Info</dt>
          <dd>{`${result.summary.info} (${result.summary.distinct.info} distinct)`}</dd>
          <dt>Operations affected</dt>
          <dd>{groups.filter((g) => g.label !== 'Document-level changes').length}</dd>
        </dl>
      </section>
      <section aria-labelledby={`${ctx.prefix}-findings`}>
        <H id={`${ctx.prefix}-findings`}>Findings by operation</H>
        {props.base !== undefined && props.revision !== undefined && groups.length > 0 && (
          <p class="muted">In the before and after fragments, lines only the before side has are struck through and lines only the after side has are underlined.</p>
        )}
        {groups.length === 0 ? <p>No findings.</p> : groupViews}
        {hiddenGroups.length > 0 && <p class="muted">{`… ${hiddenGroups.length} more operations with ${hiddenGroups.reduce((n, g) => n + g.changes.length, 0)} findings not shown.`}</p>}
      </section>
    </div>
  );
}
