import type { Principal } from '../auth/principal.ts';
import { summarise, type Change, type DiffResult } from '../diff/types.ts';
import type { ConsumerUsage } from './usage.ts';

/**
 * Partner-scoped impact (ADR 0020), a pure function of a change's diff and its consumers'
 * usage: which findings touch the operations each consumer uses, and so who is affected. A
 * finding touches a consumer when its operation is one the consumer uses (declared ∪
 * observed) or when it names no operation (a document-level change, or an operation without an
 * operationId, which nobody can declare); a consumer whose usage is unknown is touched by
 * everything.
 */

/** One finding as an impact entry lists it. */
export type ImpactFinding = Pick<Change, 'rule' | 'level' | 'method' | 'path' | 'operationId' | 'message'>;

/** Where a consumer's usage is known from. */
export const USAGE_SOURCES = ['declared', 'observed', 'declared+observed', 'unknown'] as const;

/** What a change means for one consumer. */
export interface ConsumerImpact {
  consumer: string;
  /** Where its usage is known from. */
  usage: (typeof USAGE_SOURCES)[number];
  /** The operations it uses (declared ∪ observed); null when unknown. */
  operations: string[] | null;
  /** Whether it must acknowledge (when the policy asks acknowledgements): usage unknown, or a finding that counts touches it. */
  affected: boolean;
  /** The operations it uses that the change touches. */
  touched: string[];
  /** The breaking and warning findings touching it (at most MAX_FINDINGS). */
  findings: ImpactFinding[];
  /** Touching breaking and warning findings left out of `findings`. */
  moreFindings: number;
  /** Who and why, in one line (the gate's acknowledgement reason quotes it). */
  reason: string;
}

/** A change request's impact: per consumer, when it was opened. */
export interface ChangeImpact {
  /** Calls through the exchange since then counted as observed usage. */
  observedSince: string;
  consumers: ConsumerImpact[];
}

const MAX_FINDINGS = 50;
const SHOWN = 3;

/** Whether a finding touches what a consumer uses (null: unknown usage, touched by everything). */
export function touches(change: Pick<Change, 'operationId'>, operations: ReadonlySet<string> | null): boolean {
  return operations === null || change.operationId === undefined || operations.has(change.operationId);
}

/** The first few of a list, then how many more. */
function some(items: string[]): string {
  return items.length <= SHOWN ? items.join(', ') : `${items.slice(0, SHOWN).join(', ')} and ${items.length - SHOWN} more`;
}

function sourceOf(u: ConsumerUsage): ConsumerImpact['usage'] {
  if (u.operations === null) return 'unknown';
  if (u.declared !== null && u.observed.length > 0) return 'declared+observed';
  return u.declared !== null ? 'declared' : 'observed';
}

/**
 * One consumer's impact. A breaking change affects it when a breaking finding touches it; a
 * non-breaking one (whose policy asks acknowledgements) when a breaking or warning finding does.
 */
export function consumerImpact(changes: Change[], breaking: boolean, usage: ConsumerUsage): ConsumerImpact {
  const operations = usage.operations === null ? null : new Set(usage.operations);
  const touching = changes.filter((c) => c.level !== 'info' && touches(c, operations));
  const counted = touching.filter((c) => c.level === 'breaking' || !breaking);
  const touched = operations === null ? [] : [...new Set(touching.map((c) => c.operationId).filter((op): op is string => op !== undefined && operations.has(op)))].sort();
  const affected = operations === null || counted.length > 0;
  let reason: string;
  if (operations === null) reason = 'usage unknown (nothing declared, no calls observed), so every change counts';
  else if (!affected && touching.length > 0) reason = `uses ${some(usage.operations!)}; the change touches ${touched.length > 0 ? some(touched) : 'the document'} with warnings only (${some([...new Set(touching.map((c) => c.rule))])}), nothing breaking`;
  else if (!affected) reason = usage.operations!.length === 0 ? 'uses no operation of the API' : `uses ${some(usage.operations!)}, which the change does not touch`;
  else {
    const rules = [...new Set(counted.map((c) => c.rule))];
    const documentLevel = counted.some((c) => c.operationId === undefined);
    const what = touched.length === 0 ? 'document-level changes' : `uses ${some(touched)}${documentLevel ? ' (and document-level changes)' : ''}`;
    reason = `${what} — ${some(rules)}`;
  }
  return {
    consumer: usage.consumer,
    usage: sourceOf(usage),
    operations: usage.operations,
    affected,
    touched,
    findings: touching.slice(0, MAX_FINDINGS).map(({ rule, level, method, path, operationId, message }) => ({ rule, level, method, path, operationId, message })),
    moreFindings: Math.max(0, touching.length - MAX_FINDINGS),
    reason,
  };
}

/** The impact of a change's diff on each consumer. */
export function computeImpact(diff: DiffResult, usage: ConsumerUsage[], observedSince: string): ChangeImpact {
  const breaking = diff.summary.breaking > 0;
  return { observedSince, consumers: usage.map((u) => consumerImpact(diff.changes, breaking, u)) };
}

/** A stored impact (null for change requests opened before impact was computed). */
export function parseImpact(json: string | null): ChangeImpact | null {
  return json === null ? null : (JSON.parse(json) as ChangeImpact);
}

/**
 * The part of an impact the principal may see: all of it for staff and the API's provider; a
 * consumer its own entry only (what another partner uses is that partner's business).
 */
export function impactFor(principal: Principal, provider: string, impact: ChangeImpact | null): ChangeImpact | null {
  if (impact === null || principal.role !== 'partner' || principal.partner === provider) return impact;
  return { ...impact, consumers: impact.consumers.filter((c) => c.consumer === principal.partner) };
}

/** The diff as one consumer sees it: only the findings touching its operations (all of them when its usage is unknown). */
export function scopedDiff(diff: DiffResult, entry: Pick<ConsumerImpact, 'operations'> | undefined): DiffResult {
  const operations = entry?.operations ? new Set(entry.operations) : null;
  return summarise(diff.changes.filter((c) => touches(c, operations)));
}

/** Why each partner asked to acknowledge was asked (the gate's acknowledgement reason); undefined without a stored impact. */
export function askedBecause(requiredAcks: string[], impact: ChangeImpact | null): Array<{ partner: string; reason: string }> | undefined {
  if (impact === null) return undefined;
  return requiredAcks.map((partner) => ({ partner, reason: impact.consumers.find((c) => c.consumer === partner)?.reason ?? 'a consumer of the API' }));
}
