import { and, desc, eq } from 'drizzle-orm';
import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { evidence, releases } from '../db/index.ts';
import type { DiffResult } from '../diff/types.ts';
import { AccordError } from '../errors.ts';
import { gatherFacts } from '../gate/check.ts';
import { changeIsStale, evaluateGate, type GateAnswer, type GateFacts } from '../gate/evaluate.ts';
import { currentPolicy } from '../matrix/policy.ts';
import { acksOf, getChangeRow, reviewsOf, toChangeSummary, type ChangeRow } from './changes.ts';
import { consumersOf } from './consumers.ts';
import { impactFor, parseImpact, scopedDiff, type ConsumerImpact } from './impact.ts';
import { queueStatus } from './queue.ts';
import { foundAfterReviewOf, parseSnapshot } from './snapshot.ts';
import { changeAuthors, countedApprovers } from './separation.ts';

/** A change request read for one environment: its row, reviews, acknowledgements, and the gate's facts and preview. */
export interface ChangeContext {
  row: ChangeRow;
  reviews: Awaited<ReturnType<typeof reviewsOf>>;
  acks: Awaited<ReturnType<typeof acksOf>>;
  facts: GateFacts;
  preview: GateAnswer;
}

/** The partners asked to acknowledge a change request (its snapshot, fixed when it was opened). */
export function requiredAcknowledgements(row: Pick<ChangeRow, 'requiredAcks'>): string[] {
  return JSON.parse(row.requiredAcks) as string[];
}

/**
 * Whether the principal may read a change request: staff always; a partner when the change is
 * to its own API, when it is asked to acknowledge it, or when it is a consumer the change's
 * impact names (an unaffected one was told of it by notice).
 */
export function canReadChange(principal: Principal, row: Pick<ChangeRow, 'partner' | 'requiredAcks' | 'impact'>): boolean {
  if (principal.role !== 'partner' || principal.partner === row.partner || requiredAcknowledgements(row).includes(principal.partner!)) return true;
  return parseImpact(row.impact)?.consumers.some((c) => c.consumer === principal.partner) ?? false;
}

/**
 * Reads a change request the principal may read (404 otherwise, as for one that does not
 * exist) with the gate's facts and preview for `environment`.
 */
export async function readChange(deps: Deps, principal: Principal, id: string, environment = 'production'): Promise<ChangeContext> {
  const row = await getChangeRow(deps, id);
  if (!canReadChange(principal, row)) throw new AccordError('not_found', `No change request ${row.id}`);
  const facts = await gatherFacts(deps, row.partner, row.api, row.version, environment);
  // Gathering the facts amends the change when breaking findings were found after review (ADR 0022).
  const current = facts.change?.id === row.id && facts.change.diffHash !== row.diffHash ? await getChangeRow(deps, id) : row;
  return { row: current, reviews: await reviewsOf(deps, row.id), acks: await acksOf(deps, row.id), facts, preview: evaluateGate(facts) };
}

/**
 * Whether a review or acknowledgement still counts: it is for the change's diff (its snapshot,
 * as amended by findings found after review), and that diff is still what a release would ship
 * (same content, same base; ADR 0022).
 */
export function stillCounts(ctx: Pick<ChangeContext, 'row' | 'facts'>, diffHash: string): boolean {
  return diffHash === ctx.row.diffHash && !changeIsStale(ctx.facts);
}

/** What `GET /v1/changes/{id}` answers: the summary, the diff (with what was found after review), reviews and acknowledgements (whether each counts), evidence reasons and the gate preview. */
export function changeJson(ctx: ChangeContext) {
  const { row, facts, preview } = ctx;
  return {
    ...toChangeSummary(row),
    diff: JSON.parse(row.diff) as DiffResult,
    currentDiffHash: facts.diff.hash,
    stale: changeIsStale(facts),
    foundAfterReview: foundAfterReviewOf(parseSnapshot(row.diff)),
    reviews: ctx.reviews.map(({ reviewerToken, ...r }) => ({ ...r, counts: stillCounts(ctx, r.diffHash) })),
    acknowledgements: ctx.acks.map((a) => ({ ...a, counts: stillCounts(ctx, a.diffHash) })),
    evidence: preview.reasons.filter((r) => r.rule.startsWith('evidence:')),
    gatePreview: { environment: facts.target.environment, verdict: preview.verdict, reasons: preview.reasons },
  };
}

/** A change request as the API shows it (see changeJson), with its impact on each consumer (a consumer sees its own entry). */
export async function changeView(deps: Deps, principal: Principal, id: string, environment?: string) {
  const ctx = await readChange(deps, principal, id, environment);
  return { ...changeJson(ctx), impact: impactFor(principal, ctx.row.partner, parseImpact(ctx.row.impact)) };
}

/** What `GET /v1/changes/{id}/diff` says about whose diff it is. */
export interface DiffScope {
  consumer: string;
  usage: ConsumerImpact['usage'];
  operations: string[] | null;
  affected: boolean;
  reason: string;
}

/**
 * A change request's diff snapshot scoped to one consumer: only the findings touching the
 * operations it uses (all of them when its usage is unknown). A consuming partner gets its own
 * scope (another consumer's: 403); staff and the API's provider get the whole diff, or a
 * consumer's scope with `consumer`.
 */
export async function changeDiffFor(deps: Pick<Deps, 'db'>, principal: Principal, id: string, consumer?: string): Promise<DiffResult & { scope: DiffScope | null }> {
  const row = await getChangeRow(deps, id);
  if (!canReadChange(principal, row)) throw new AccordError('not_found', `No change request ${row.id}`);
  const own = principal.role === 'partner' && principal.partner !== row.partner ? principal.partner! : undefined;
  if (own !== undefined && consumer !== undefined && consumer !== own) throw new AccordError('forbidden', `A partner reads only its own scope of a change (${own}'s)`);
  const diff = JSON.parse(row.diff) as DiffResult;
  const who = consumer ?? own;
  if (who === undefined) return { ...diff, scope: null };
  const impact = parseImpact(row.impact);
  const entry = impact?.consumers.find((c) => c.consumer === who);
  if (impact ? !entry : !requiredAcknowledgements(row).includes(who)) throw new AccordError('not_found', `${who} is not a consumer of change request ${row.id}`);
  return {
    ...scopedDiff(diff, entry),
    // Change requests opened before impact was computed: every finding, as for unknown usage.
    scope: entry
      ? { consumer: who, usage: entry.usage, operations: entry.operations, affected: entry.affected, reason: entry.reason }
      : { consumer: who, usage: 'unknown', operations: null, affected: true, reason: 'opened before partner-scoped impact: the whole diff' },
  };
}

/** Where a change request stands, in the queue's terms (src/changes/queue.ts). */
export function changeStatus(ctx: ChangeContext): ReturnType<typeof queueStatus> {
  const { row } = ctx;
  const required = requiredAcknowledgements(row);
  const acknowledged = new Set(ctx.acks.filter((a) => a.diffHash === row.diffHash).map((a) => a.partner));
  return queueStatus({
    state: ctx.facts.target.state,
    rejected: ctx.reviews.some((r) => r.decision === 'reject' && r.diffHash === row.diffHash),
    approvals: countedApprovers(changeAuthors(row, ctx.facts.target.registeredBy), row.diffHash, ctx.reviews).length,
    requiredApprovals: row.requiredApprovals,
    acknowledgements: required.filter((p) => acknowledged.has(p)).length,
    requiredAcknowledgements: required.length,
  });
}

/** Who must acknowledge a change request, who has (for its diff) and who has not, and why they were asked. */
export interface AcknowledgementStatus {
  required: string[];
  acknowledged: Array<{ partner: string; createdAt: string; createdBy: string; comment: string }>;
  missing: string[];
  /** The policy's rule for the change's class (`all-consumers` or `none`). */
  rule: string;
  changeClass: 'breaking' | 'non-breaking';
  /** The API's consumers now (the required list was taken from them when the change was opened). */
  consumers: string[];
  /** The API's consumers when the change was opened (its impact); null when it was opened before impact was computed. */
  openedWith: string[] | null;
  /** Why each consumer the viewer may see was asked or not (a consuming partner sees its own). */
  reasons: Array<{ partner: string; affected: boolean; reason: string }>;
}

/** Acknowledgements of a change request against what its policy and the API's consumers require, as `viewer` may see them. */
export async function acknowledgementStatus(deps: Deps, ctx: ChangeContext, viewer: Principal): Promise<AcknowledgementStatus> {
  const required = requiredAcknowledgements(ctx.row);
  const acknowledged = new Map<string, AcknowledgementStatus['acknowledged'][number]>();
  for (const a of ctx.acks) if (stillCounts(ctx, a.diffHash) && !acknowledged.has(a.partner)) acknowledged.set(a.partner, { partner: a.partner, createdAt: a.createdAt, createdBy: a.createdBy, comment: a.comment });
  const changeClass = ctx.row.breaking ? 'breaking' : 'non-breaking';
  const policy = await currentPolicy(deps);
  return {
    required,
    acknowledged: [...acknowledged.values()],
    missing: required.filter((p) => !acknowledged.has(p)),
    rule: policy.acknowledgements[changeClass],
    changeClass,
    consumers: await consumersOf(deps, ctx.row.partner, ctx.row.api),
    openedWith: parseImpact(ctx.row.impact)?.consumers.map((c) => c.consumer) ?? null,
    reasons: (impactFor(viewer, ctx.row.partner, parseImpact(ctx.row.impact))?.consumers ?? []).map((c) => ({ partner: c.consumer, affected: c.affected, reason: c.reason })),
  };
}

/** One evidence record as the change page shows it. */
export interface ChangeEvidence {
  id: string;
  kind: string;
  result: string;
  environment: string;
  uri: string;
  producedAt: string;
  createdAt: string;
  expiresAt: string | null;
  /** Whether it was produced for the content this change would release. */
  boundToContent: boolean;
}

/**
 * The newest evidence records of each kind the change requires (at most `perKind` each, newest
 * recorded first), bound to this content or not: what the gate looks at.
 */
export async function evidenceForChange(deps: Pick<Deps, 'db'>, ctx: ChangeContext, perKind = 5): Promise<ChangeEvidence[]> {
  const { partner, api, version, sha256 } = ctx.facts.target;
  const perKindRows = await Promise.all((ctx.facts.change?.requiredEvidence ?? []).map(async (kind) =>
    (await deps.db
      .select({ id: evidence.id, kind: evidence.kind, result: evidence.result, environment: evidence.environment, uri: evidence.uri, producedAt: evidence.producedAt, createdAt: evidence.createdAt, expiresAt: evidence.expiresAt, sha256: evidence.sha256 })
      .from(evidence)
      .where(and(eq(evidence.partner, partner), eq(evidence.api, api), eq(evidence.version, version), eq(evidence.kind, kind)))
      .orderBy(desc(evidence.createdAt))
      .limit(perKind)
      .all())
      .map(({ sha256: bound, ...e }) => ({ ...e, boundToContent: bound === sha256 })),
  ));
  return perKindRows.flat();
}

/** The releases of a change request's version, newest first. */
export async function releasesOfChange(deps: Pick<Deps, 'db'>, row: Pick<ChangeRow, 'partner' | 'api' | 'version'>) {
  return await deps.db
    .select({ environment: releases.environment, createdAt: releases.createdAt, createdBy: releases.createdBy })
    .from(releases)
    .where(and(eq(releases.partner, row.partner), eq(releases.api, row.api), eq(releases.version, row.version)))
    .orderBy(desc(releases.createdAt))
    .limit(20)
    .all();
}
