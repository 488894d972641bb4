/** How much a change matters to a partner, most first. */
export const LEVELS = ['breaking', 'warning', 'info'] as const;
export type Level = (typeof LEVELS)[number];

/** Who is affected: what clients send, or what they receive. */
export const DIRECTIONS = ['request', 'response'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** The version bumps a set of changes can require. */
export const BUMPS = ['major', 'minor', 'patch', 'none'] as const;
export type Bump = (typeof BUMPS)[number];

/** One classified difference between two contract versions. */
export interface Change {
  /** Stable id, e.g. `request-property-became-required`. */
  rule: string;
  level: Level;
  direction: Direction;
  /** Upper-case HTTP method, or undefined for document-level changes. */
  method?: string;
  /** Path template (revision's, or base's for removals). */
  path?: string;
  operationId?: string;
  /** The operation's `summary`, so a reader needs no OpenAPI knowledge to know what it does. */
  summary?: string;
  /**
   * What changed, as a partner names it: a property path, a parameter or header name, a media
   * type, a status; fills `{subject}` in the rule's consequence.
   */
  subject?: string;
  /** JSON pointer into the revision (or the base, for what the revision no longer has). */
  location: string;
  message: string;
}

export interface DiffSummary {
  breaking: number;
  warning: number;
  info: number;
  total: number;
  /** The same counts with a change to a shared schema counted once, not once per operation. */
  distinct: { breaking: number; warning: number; info: number };
}

export interface DiffResult {
  changes: Change[];
  summary: DiffSummary;
  bump: Bump;
}

export const LEVEL_ORDER: Record<Level, number> = { breaking: 0, warning: 1, info: 2 };

/** Counts by level and the bump they require. */
export function summarise(changes: Change[]): DiffResult {
  const summary: DiffSummary = { breaking: 0, warning: 0, info: 0, total: changes.length, distinct: { breaking: 0, warning: 0, info: 0 } };
  const seen = new Set<string>();
  for (const c of changes) {
    summary[c.level]++;
    const key = `${c.rule}|${c.location}`;
    if (!seen.has(key)) {
      seen.add(key);
      summary.distinct[c.level]++;
    }
  }
  const additive = changes.some((c) => c.level !== 'breaking' && /-(added|widened|added-optional)$|^new-optional-/.test(c.rule));
  const bump: Bump = summary.breaking > 0 ? 'major' : additive ? 'minor' : changes.length > 0 ? 'patch' : 'none';
  return { changes, summary, bump };
}
