import { createHash } from 'node:crypto';
import { diffContracts, type DiffOptions } from '../diff/contract-diff.ts';
import { canonicalRule } from '../diff/rules/index.ts';
import { summarise, type Change, type DiffResult } from '../diff/types.ts';

/**
 * A change request's diff snapshot and how today's diff compares with it (ADR 0022). The
 * snapshot is what the board reviewed; a newer diff engine (new rules, renamed or re-levelled
 * ones, reworded messages) does not replace it. Only a breaking finding the snapshot does not
 * have as breaking — by canonical rule id and location — matters: it is appended to the
 * snapshot, marked as found after review, and the change needs a fresh review.
 */

/** The contract diff a change request is judged with: the engine and its rule-id aliases (injected in tests as a newer engine). */
export interface DiffEngine {
  diff: (base: unknown, revision: unknown, options?: DiffOptions) => DiffResult;
  /** The current id of a rule id that may be a former one. */
  canonicalRule: (id: string) => string;
}

/** Accord's own diff engine and rule table. */
export const ACCORD_DIFF_ENGINE: DiffEngine = { diff: diffContracts, canonicalRule };

/** The engine in `deps` (tests inject one), else Accord's. */
export function engineOf(deps: { diffEngine?: DiffEngine }): DiffEngine {
  return deps.diffEngine ?? ACCORD_DIFF_ENGINE;
}

/** When and against which diff hash a finding was found after review. */
export interface AfterReviewMark {
  /** When Accord surfaced it. */
  at: string;
  /** The diff hash the change had before (what its reviews and acknowledgements were bound to). */
  reviewedHash: string;
}

/** A finding of a stored snapshot; those appended after review carry their mark. */
export type SnapshotChange = Change & { foundAfterReview?: AfterReviewMark };

/** A change request's stored diff. */
export type DiffSnapshot = Omit<DiffResult, 'changes'> & { changes: SnapshotChange[] };

/** One finding found after review, as the change's views and the gate list it. */
export type FoundAfterReview = Pick<Change, 'rule' | 'level' | 'location' | 'method' | 'path' | 'operationId' | 'message'> & AfterReviewMark;

/**
 * The diff hash (format 2): the sha256 of the base and content sha256 and the sorted, distinct
 * (canonical rule id, level, location) triples — what a reviewer judges, not how a message is
 * worded. Change requests opened before it keep the hash they were given (format 1:
 * sha256 of `{base, content, changes}`, whole findings, messages included): a stored hash is
 * only ever compared with the hashes reviews and acknowledgements were bound to, never with a
 * recomputed one, so both formats stay valid without a migration.
 */
export function diffHash(base: string | null, content: string, changes: readonly Change[], canonical: (id: string) => string = canonicalRule): string {
  const findings = [...new Set(changes.map((c) => JSON.stringify([canonical(c.rule), c.level, c.location])))].sort();
  return createHash('sha256').update(JSON.stringify({ format: 2, base, content, findings })).digest('hex');
}

const key = (c: Pick<Change, 'rule' | 'location'>, canonical: (id: string) => string) => `${canonical(c.rule)}\u0000${c.location}`;

/**
 * Today's breaking findings that the snapshot does not have as breaking (by canonical rule id
 * and location): a new rule, a rule raised to breaking, a finding at a new location. New
 * warnings and infos, reworded messages and renamed ids (an alias) are not among them.
 */
export function newBreakingFindings(snapshot: Pick<DiffResult, 'changes'>, today: Pick<DiffResult, 'changes'>, canonical: (id: string) => string): Change[] {
  const reviewed = new Set(snapshot.changes.filter((c) => c.level === 'breaking').map((c) => key(c, canonical)));
  const found = new Set<string>();
  return today.changes.filter((c) => {
    const k = key(c, canonical);
    if (c.level !== 'breaking' || reviewed.has(k) || found.has(k)) return false;
    found.add(k);
    return true;
  });
}

/** The snapshot with the findings found after review appended (marked), its counts and bump recomputed. */
export function amendSnapshot(snapshot: DiffSnapshot, findings: Change[], mark: AfterReviewMark): DiffSnapshot {
  return summarise([...snapshot.changes, ...findings.map((c) => ({ ...c, foundAfterReview: mark }))]) as DiffSnapshot;
}

/** The findings of a snapshot that were found after review, oldest amendment first. */
export function foundAfterReviewOf(snapshot: Pick<DiffSnapshot, 'changes'>): FoundAfterReview[] {
  return snapshot.changes
    .filter((c): c is SnapshotChange & { foundAfterReview: AfterReviewMark } => c.foundAfterReview !== undefined)
    .map(({ rule, level, location, method, path, operationId, message, foundAfterReview }) => ({ rule, level, location, method, path, operationId, message, ...foundAfterReview }));
}

/** A stored snapshot, parsed. */
export function parseSnapshot(json: string): DiffSnapshot {
  return JSON.parse(json) as DiffSnapshot;
}
