import { randomBytes } from 'node:crypto';
import { and, desc, eq, lt, ne, sql } from 'drizzle-orm';
import { keyAfter, keyOrder, pageOf, type KeyPart, type Page } from '../lib/pages.ts';
import semver from 'semver';
import { z } from 'zod';
import { requireRole, STAFF_ROLES, type Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { Id, SemVer, versionKey } from '../contracts/ids.ts';
import { findVersion, loadContractDocument, markContractsChanged, type ContractVersionRow } from '../contracts/versions.ts';
import { changeAcks, changeRequests, changeReviews, contractVersions, lockKey, releases } from '../db/index.ts';
import type { Change, DiffResult } from '../diff/types.ts';
import { AccordError } from '../errors.ts';
import type { FlowEntry } from '../matrix/checks.ts';
import { currentPolicy, policyDiffOptions } from '../matrix/policy.ts';
import { currentFlows } from '../matrix/store.ts';
import { consumersOf } from './consumers.ts';
import { diffHash, engineOf, newBreakingFindings, parseSnapshot, type DiffEngine } from './snapshot.ts';
import { computeImpact, parseImpact, type ChangeImpact } from './impact.ts';
import { changeAuthors, countedApprovers, sameActor } from './separation.ts';
import { observedSince, usageOf } from './usage.ts';

export type ChangeRow = typeof changeRequests.$inferSelect;

/**
 * The diff a release of `row` would ship: against production's version, else the previous one,
 * by the engine in `deps` (Accord's unless a test injects a newer one), with its diff hash
 * (format 2, src/changes/snapshot.ts).
 */
export async function releaseDiff(deps: Pick<Deps, 'db' | 'registry' | 'clock' | 'config'> & { diffEngine?: DiffEngine }, row: ContractVersionRow): Promise<{ base: string | null; baseSha256: string | null; result: DiffResult; hash: string }> {
  // Production's newest release of a lower version: a patch on an older line is not compared with a newer line.
  const key = versionKey(row.version);
  const production = (await deps.db
    .select({ version: releases.version })
    .from(releases)
    .where(and(eq(releases.partner, row.partner), eq(releases.api, row.api), eq(releases.environment, 'production'), ne(releases.version, row.version)))
    .orderBy(desc(releases.createdAt))
    .all())
    .find((r) => versionKey(r.version) < key);
  const base = production
    ? await findVersion(deps, row.partner, row.api, production.version)
    : await deps.db
        .select()
        .from(contractVersions)
        .where(and(eq(contractVersions.partner, row.partner), eq(contractVersions.api, row.api), lt(contractVersions.versionKey, versionKey(row.version))))
        .orderBy(desc(contractVersions.versionKey))
        .limit(1)
        .get();
  const revision = await loadContractDocument(deps, row);
  const options = await policyDiffOptions(deps);
  const engine = engineOf(deps);
  const result = engine.diff(base ? await loadContractDocument(deps, base) : { openapi: revision.openapi, paths: {} }, revision, options);
  return { base: base?.version ?? null, baseSha256: base?.sha256 ?? null, result, hash: diffHash(base?.sha256 ?? null, row.sha256, result.changes, engine.canonicalRule) };
}

/**
 * Whether a change request was opened for the diff a release would ship now: the same content
 * against the same base, and no breaking finding its snapshot lacks. A newer engine's warnings,
 * infos, renamed ids and reworded messages do not make it another diff (ADR 0022).
 */
export function sameReviewedDiff(change: Pick<ChangeRow, 'contentSha256' | 'baseVersion' | 'diff'>, version: Pick<ContractVersionRow, 'sha256'>, today: { base: string | null; result: DiffResult }, engine: DiffEngine): boolean {
  return change.contentSha256 === version.sha256 && change.baseVersion === today.base && newBreakingFindings(parseSnapshot(change.diff), today.result, engine.canonicalRule).length === 0;
}

/** Flow entries that govern a version and contain one of the given operations (as a step or a compensation). */
export function flowsCovering(flows: Array<{ entry: FlowEntry }>, partner: string, api: string, version: string, operationIds: Set<string>): FlowEntry[] {
  return flows
    .map((f) => f.entry)
    .filter((e) => (e.contract.partner === '*' || e.contract.partner === partner) && e.contract.api === api && semver.satisfies(version, e.contract.versions))
    .filter((e) => operationIds.size === 0 || e.steps.some((s) => operationIds.has(s.operationId) || (s.compensation.operationId !== undefined && operationIds.has(s.compensation.operationId))));
}

/** OperationIds a diff touches that still exist in the revision (removed ones need no controls). */
export function changedOperations(changes: Change[]): Set<string> {
  const removal = (c: Change) => c.rule.startsWith('api-') && c.rule.includes('removed');
  return new Set(changes.filter((c) => c.operationId !== undefined && !removal(c)).map((c) => c.operationId!));
}


const SUMMARY_RULE = 'must say what changes and why (3–5000 characters)';
const FLOWS_RULE = 'must be an array of flow ids';

/** A request to open a change request for a registered version. */
export const ChangeRequest = z
  .object({
    partner: Id,
    api: Id,
    version: SemVer,
    summary: z
      .string({ error: SUMMARY_RULE })
      .refine((summary) => summary.trim().length >= 3 && summary.length <= 5000, SUMMARY_RULE)
      .meta({ description: 'What changes and why (3–5000 characters)' }),
    flows: z
      .array(z.unknown(), { error: FLOWS_RULE })
      .refine((flows) => flows.every((flow) => typeof flow === 'string'), FLOWS_RULE)
      .pipe(z.array(z.string()))
      .optional()
      .meta({ description: 'The control-matrix flows the change touches; default: those covering the operations its diff changes', items: { type: 'string' } }),
  })
  .meta({ id: 'ChangeRequest' });

export type ChangeRequest = z.output<typeof ChangeRequest>;

/**
 * What opening a change request for a registered version stores (src/changes/open.ts inserts
 * it): the diff it would ship and its hash, its impact on each consumer, and what the policy
 * asks of it (approvals, acknowledgements from the consumers it affects, evidence kinds).
 */
export async function prepareChange(deps: Deps, principal: Principal, input: ChangeRequest): Promise<{ values: ChangeRow; impact: ChangeImpact; acksAsked: boolean }> {
  const row = await findVersion(deps, input.partner, input.api, input.version);
  if (!row) throw new AccordError('not_found', `No contract version ${input.partner}/${input.api}@${input.version}`);
  if (row.state === 'retired') throw new AccordError('conflict', `${row.partner}/${row.api}@${row.version} is retired`);
  const diff = await releaseDiff(deps, row);
  // A rejection stands: a new change request for the same diff (even as a newer engine words it) may not wipe it out.
  const previous = await latestChangeFor(deps, row.partner, row.api, row.version);
  if (previous && sameReviewedDiff(previous, row, diff, engineOf(deps)) && (await reviewsOf(deps, previous.id)).some((r) => r.decision === 'reject' && r.diffHash === previous.diffHash)) {
    throw new AccordError('conflict', `Change request ${previous.id} for this diff was rejected; register a new version that addresses the rejection`);
  }
  const policy = await currentPolicy(deps);
  const breaking = diff.result.summary.breaking > 0;
  const changeClass = breaking ? 'breaking' : 'non-breaking';
  const flows = await currentFlows(deps);
  let flowIds: string[];
  if (input.flows !== undefined) {
    const known = new Set(flows.map((f) => f.entry.flow));
    const unknown = input.flows.filter((f) => !known.has(f));
    if (unknown.length > 0) throw new AccordError('invalid_document', `Unknown flows: ${unknown.join(', ')}`, { errors: unknown.map((f) => ({ location: '/flows', message: `no control-matrix entry "${f}"` })) });
    flowIds = input.flows;
  } else {
    flowIds = flowsCovering(flows, row.partner, row.api, row.version, changedOperations(diff.result.changes)).map((e) => e.flow);
  }
  const acks = policy.acknowledgements?.[changeClass] ?? (breaking ? 'all-consumers' : 'none');
  // Only the consumers the change affects are asked (ADR 0020); the others are told by notice.
  const since = observedSince(deps);
  const impact = computeImpact(diff.result, await usageOf(deps, row.partner, row.api, await consumersOf(deps, row.partner, row.api), since), since);
  const values: ChangeRow = {
    id: `chg_${randomBytes(8).toString('hex')}`,
    partner: row.partner,
    api: row.api,
    version: row.version,
    contentSha256: row.sha256,
    baseVersion: diff.base,
    diff: JSON.stringify(diff.result),
    diffHash: diff.hash,
    breaking,
    summary: input.summary.trim(),
    flows: JSON.stringify(flowIds),
    requiredApprovals: policy.approvals[changeClass],
    requiredAcks: JSON.stringify(acks === 'all-consumers' ? impact.consumers.filter((c) => c.affected).map((c) => c.consumer) : []),
    requiredEvidence: JSON.stringify(policy.evidence[changeClass]),
    createdAt: deps.clock().toISOString(),
    createdBy: principal.name,
    createdByToken: principal.tokenId,
    impact: JSON.stringify(impact),
  };
  return { values, impact, acksAsked: acks === 'all-consumers' };
}

/** A change request's row (404 when there is none). */
export async function getChangeRow(deps: Pick<Deps, 'db'>, id: string): Promise<ChangeRow> {
  const row = await deps.db.select().from(changeRequests).where(eq(changeRequests.id, id)).get();
  if (!row) throw new AccordError('not_found', `No change request ${id}`);
  return row;
}

/** The newest change request for a version, if any. */
export async function latestChangeFor(deps: Pick<Deps, 'db'>, partner: string, api: string, version: string): Promise<ChangeRow | undefined> {
  return await deps.db
    .select()
    .from(changeRequests)
    .where(and(eq(changeRequests.partner, partner), eq(changeRequests.api, api), eq(changeRequests.version, version)))
    // Two opened in the same millisecond: the later insert (as the queue's CURRENT; SQLite's index order, made explicit for PostgreSQL).
    .orderBy(desc(changeRequests.createdAt), desc(sql`${changeRequests}.rowid`))
    .limit(1)
    .get();
}

/** The reviews of a change request, oldest first. */
export async function reviewsOf(deps: Pick<Deps, 'db'>, changeId: string) {
  return await deps.db.select().from(changeReviews).where(eq(changeReviews.changeId, changeId)).orderBy(changeReviews.createdAt).all();
}

/** The acknowledgements of a change request, oldest first. */
export async function acksOf(deps: Pick<Deps, 'db'>, changeId: string) {
  return await deps.db.select().from(changeAcks).where(eq(changeAcks.changeId, changeId)).orderBy(changeAcks.createdAt).all();
}

/** A reviewer's decisions. */
export const REVIEW_DECISIONS = ['approve', 'reject'] as const;

const COMMENT_RULE = 'must be text of at most 5000 characters';
const DIFF_HASH_RULE = 'must be a diff hash (64 hex characters)';

/** An approval or rejection; a rejection says why. */
export const ChangeReview = z
  .object({
    decision: z.enum(REVIEW_DECISIONS, { error: 'must be approve or reject' }),
    comment: z.string({ error: COMMENT_RULE }).max(5000, COMMENT_RULE).optional().meta({ description: 'At most 5000 characters; required to reject' }),
    diffHash: z
      .string({ error: DIFF_HASH_RULE })
      .regex(/^[0-9a-f]{64}$/, DIFF_HASH_RULE)
      .optional()
      .meta({ description: 'The diff hash the reviewer read (GET /v1/changes/{id} `diffHash`); refused (409) when the change’s diff has since been amended with findings found after review' }),
  })
  .refine((review) => typeof review.comment === 'string' && review.comment.trim() !== '', {
    path: ['comment'],
    message: 'say why the change is rejected',
    when: ({ value }) => (value as { decision?: unknown } | null)?.decision === 'reject',
  })
  .meta({ id: 'ChangeReview' });

export type ChangeReview = z.output<typeof ChangeReview>;

/**
 * Records an approval or rejection, bound to the change's diff as it stands (its snapshot,
 * amended with any findings found after review, ADR 0022); with `diffHash`, only if that is
 * still the diff the reviewer read. The change's authors may not review it.
 */
export async function reviewChange(deps: Deps, principal: Principal, id: string, input: ChangeReview) {
  const review = await storeChangeReview(deps, principal, id, input);
  deps.logger.info({ changeId: id, reviewId: review.id, decision: review.decision, diffHash: review.diffHash, by: principal.name }, 'change review');
  return review;
}

async function storeChangeReview(deps: Deps, principal: Principal, id: string, input: ChangeReview) {
  const change = await getChangeRow(deps, id);
  const version = (await findVersion(deps, change.partner, change.api, change.version))!;
  const authors = changeAuthors(change, version.createdBy);
  if (authors.some((author) => sameActor({ name: principal.name, token: principal.tokenId }, author))) {
    throw new AccordError('forbidden', 'Whoever opened a change request or registered its version may not review it (same token, or a name that looks like theirs); ask another approver');
  }
  // One change's reviews are counted one at a time: two approvals arriving together at two replicas each see the other's.
  return await deps.db.transaction(async () => {
    await deps.db.$serialize(lockKey(`change ${id}`));
    // Reviews are bound to the diff the board sees: the snapshot, as amended under this lock when findings are found after review.
    const current = await getChangeRow(deps, id);
    const hash = current.diffHash;
    if (input.diffHash !== undefined && input.diffHash !== hash) {
      throw new AccordError('conflict', `Change request ${id}'s diff is now ${hash.slice(0, 12)}…, not the ${input.diffHash.slice(0, 12)}… you reviewed: breaking findings were found after review; read it again (GET /v1/changes/${id}) and review the amended diff`);
    }
    const review = await deps.db
      .insert(changeReviews)
      .values({
        id: `rev_${randomBytes(8).toString('hex')}`,
        changeId: id,
        decision: input.decision,
        comment: input.comment ?? '',
        diffHash: hash,
        reviewer: principal.name,
        reviewerToken: principal.tokenId,
        createdAt: deps.clock().toISOString(),
      })
      .returning()
      .get();
    // Enough valid approvals move a draft version to approved (states only move forward).
    const reviews = (await reviewsOf(deps, id)).filter((r) => r.diffHash === hash);
    const rejected = reviews.some((r) => r.decision === 'reject');
    if (!rejected && countedApprovers(authors, hash, reviews).length >= current.requiredApprovals && version.state === 'draft') {
      await deps.db
        .update(contractVersions)
        .set({ state: 'approved' })
        .where(and(eq(contractVersions.partner, version.partner), eq(contractVersions.api, version.api), eq(contractVersions.version, version.version), eq(contractVersions.state, 'draft')))
        .run();
      await markContractsChanged(deps.db);
    }
    return review;
  });
}

/** A consuming partner's acknowledgement of a change. */
export const ChangeAcknowledgement = z
  .object({
    // A comment that is not text was always ignored, never refused.
    comment: z
      .preprocess((comment) => (typeof comment === 'string' ? comment : undefined), z.string().optional())
      .meta({ description: 'Anything the consumer wants to say (the first 5000 characters are kept)', type: 'string' }),
  })
  .meta({ id: 'ChangeAcknowledgement' });

export type ChangeAcknowledgement = z.output<typeof ChangeAcknowledgement>;

/** A consuming partner (the principal's) acknowledges a (breaking) change. */
export async function acknowledgeChange(deps: Deps, principal: Principal, id: string, input: ChangeAcknowledgement) {
  const change = await getChangeRow(deps, id);
  const required = JSON.parse(change.requiredAcks) as string[];
  if (!required.includes(principal.partner!)) {
    const unaffected = parseImpact(change.impact)?.consumers.find((c) => c.consumer === principal.partner && !c.affected);
    throw new AccordError('forbidden', unaffected ? `Partner ${principal.partner} is not asked to acknowledge this change: it ${unaffected.reason}` : `Partner ${principal.partner} is not a consumer asked to acknowledge this change`);
  }
  const hash = change.diffHash;
  return await deps.db
    .insert(changeAcks)
    .values({
      id: `ack_${randomBytes(8).toString('hex')}`,
      changeId: id,
      partner: principal.partner!,
      diffHash: hash,
      comment: input.comment?.slice(0, 5000) ?? '',
      createdAt: deps.clock().toISOString(),
      createdBy: principal.name,
    })
    .returning()
    .get();
}

/**
 * Change requests, newest first, optionally for one partner/api: for staff only (a partner
 * lists what awaits it, src/changes/queue.ts awaitingPrincipal).
 */
export async function listChanges(deps: Pick<Deps, 'db'>, principal: Principal, filter: { partner?: string | undefined; api?: string | undefined }, page: Page = { limit: 100 }) {
  requireRole(principal, STAFF_ROLES, 'list change requests (a partner lists those awaiting its acknowledgement with ?awaiting=me)');
  const order: KeyPart<ChangeRow>[] = [
    { column: changeRequests.createdAt, desc: true, of: (r) => r.createdAt },
    { column: changeRequests.id, desc: true, of: (r) => r.id },
  ];
  const conditions = [filter.partner ? eq(changeRequests.partner, filter.partner) : undefined, filter.api ? eq(changeRequests.api, filter.api) : undefined, keyAfter(order, page.after)].filter((c) => c !== undefined);
  const rows = await deps.db
    .select()
    .from(changeRequests)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(...keyOrder(order))
    .limit(page.limit + 1)
    .all();
  const paged = pageOf(rows, page.limit, order);
  return { ...paged, items: paged.items.map(toChangeSummary) };
}

/** What lists show of a change request. */
export function toChangeSummary(row: ChangeRow) {
  const diff = JSON.parse(row.diff) as DiffResult;
  return {
    id: row.id,
    partner: row.partner,
    api: row.api,
    version: row.version,
    baseVersion: row.baseVersion,
    breaking: row.breaking,
    bump: diff.bump,
    diffSummary: diff.summary,
    diffHash: row.diffHash,
    summary: row.summary,
    flows: JSON.parse(row.flows) as string[],
    requires: { approvals: row.requiredApprovals, acknowledgements: JSON.parse(row.requiredAcks) as string[], evidence: JSON.parse(row.requiredEvidence) as string[] },
    createdAt: row.createdAt,
    createdBy: row.createdBy,
  };
}
