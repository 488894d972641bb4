import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { keyAfter, keyOrder, pageOf, type KeyPart, type Page, type Paged } from '../lib/pages.ts';
import { appendAudit } from '../audit/log.ts';
import { requireRole, type Principal } from '../auth/principal.ts';
import type { ChangeReview } from '../changes/changes.ts';
import { countedApprovers, sameActor, type Actor } from '../changes/separation.ts';
import type { DocumentFormat } from '../contracts/document.ts';
import { markContractsChanged } from '../contracts/versions.ts';
import { matrixReviews, matrixVersions } from '../db/index.ts';
import type { Deps } from '../deps.ts';
import { diffMatrixVersions } from '../diff/service.ts';
import { summarise, type Change, type DiffResult } from '../diff/types.ts';
import { AccordError } from '../errors.ts';
import { currentPolicy } from './policy.ts';
import type { MatrixPreconditions } from './preconditions.ts';
import { getMatrixDocument, latestMatrixRow, matrixLock, matrixVersionRow, putMatrixDocument, supersedeOpenProposals, toView, type MatrixRow, type MatrixStatus, type MatrixVersionView, type MatrixWriteResult } from './store.ts';

/**
 * The control matrix under change control (ADR 0018): a flow entry written by an author (or by
 * an admin without break-glass) is a proposal; approvers review it with the separation of duties
 * of contract changes; enough approvals make it the approved version, which alone governs.
 */

type ReviewRow = typeof matrixReviews.$inferSelect;

/** What a proposal shows: its version, its diff against its base, the approvals it has and needs, and its reviews. */
export interface MatrixProposalView extends MatrixVersionView {
  /** Whether its diff against its base weakens a guarantee (then the policy's `approvals.breaking` apply). */
  breaking: boolean;
  diff: Pick<DiffResult, 'summary' | 'bump'> & { changes?: Change[] };
  approvals: { counted: number; required: number; by: string[] };
  reviews: Array<Pick<ReviewRow, 'id' | 'decision' | 'comment' | 'reviewer' | 'createdAt'>>;
  /** The flow's approved version now: an open proposal may be approved only while it equals `baseVersion`. */
  approvedVersion: number | null;
}

/** The reason rule of a break-glass write (as the gate's). */
export const BREAK_GLASS_RULE = 'give the reason for breaking glass (at least 10 characters)';

/** A write of one flow entry with the PUT's semantics: the entry, the request's preconditions and, for an admin, a break-glass reason. */
export interface MatrixEntryWrite {
  flow: string;
  body: string;
  format: DocumentFormat;
  preconditions?: MatrixPreconditions;
  breakGlass?: string;
}

/**
 * Stores one flow entry exactly as `PUT /v1/control-matrix/{flow}` does (import calls it per
 * entry): a proposal awaiting review, unless an admin breaks glass with a reason (then approved
 * at once, audited, with a post-release review item and a `matrix.break-glass` event). Content
 * equal to the approved version, or to an open proposal on the same base, stores nothing.
 */
export async function writeMatrixEntry(deps: Deps, principal: Principal, input: MatrixEntryWrite): Promise<MatrixWriteResult & { proposal?: MatrixProposalView }> {
  let breakGlass: string | undefined;
  if (input.breakGlass !== undefined) {
    requireRole(principal, ['admin'], 'break glass (store a control-matrix entry without review)');
    breakGlass = input.breakGlass.trim();
    if (breakGlass.length < 10) throw new AccordError('bad_request', `breakGlass: ${BREAK_GLASS_RULE}`, { errors: [{ location: 'breakGlass', message: BREAK_GLASS_RULE }] });
  }
  const result = await putMatrixDocument(deps, principal, { kind: 'flow', name: input.flow, body: input.body, format: input.format }, { propose: breakGlass === undefined, breakGlass, preconditions: input.preconditions });
  const { version } = result;
  if (breakGlass !== undefined && result.created) {
    await appendAudit(deps, {
      actor: principal.name,
      role: principal.role,
      action: 'matrix.break-glass',
      target: `control-matrix/${version.name}@v${version.version}`,
      outcome: 'ok',
      detail: { version: version.version, baseVersion: version.baseVersion, sha256: version.sha256, reason: breakGlass, reviewItem: result.reviewItem },
    });
  }
  if (version.status !== 'proposed') return result;
  return { ...result, proposal: await proposalView(deps, (await matrixVersionRow(deps, version.name, version.version))!) };
}

/** A flow's stored row of version `version` (404 when the flow or the version is unknown). */
async function flowVersionRow(deps: Pick<Deps, 'db'>, flow: string, version: number): Promise<MatrixRow> {
  const row = await matrixVersionRow(deps, flow, version);
  if (!row || row.kind !== 'flow') throw new AccordError('not_found', `No control-matrix entry "${flow}" version ${version}`);
  return row;
}

/** The changes a proposal makes to its base (a flow's first version adds the flow). */
async function proposalDiff(deps: Deps, row: MatrixRow): Promise<DiffResult> {
  if (row.baseVersion === null) return summarise([{ rule: 'matrix-flow-added', level: 'info', direction: 'request', location: '', message: `new flow ${row.name}` }]);
  const { changes, summary, bump } = await diffMatrixVersions(deps, row.name, row.baseVersion, row.version);
  return { changes, summary, bump };
}

/** The reviews of one version, oldest first. */
async function reviewsOfVersion(deps: Pick<Deps, 'db'>, name: string, version: number): Promise<ReviewRow[]> {
  return await deps.db.select().from(matrixReviews).where(and(eq(matrixReviews.name, name), eq(matrixReviews.version, version))).orderBy(matrixReviews.createdAt).all();
}

function authorOf(row: MatrixRow): Actor {
  return { name: row.createdBy, token: row.createdByToken || undefined };
}

/** The approvers that count for a version: approvals of its content by people other than its author, one each. */
function approversOf(row: MatrixRow, reviews: ReviewRow[]): string[] {
  return countedApprovers([authorOf(row)], row.sha256, reviews.map((r) => ({ ...r, diffHash: r.sha256 })));
}

/** A stored version as a proposal: its diff against its base, approvals counted and required by the policy in force, reviews. */
async function proposalView(deps: Deps, row: MatrixRow, options: { changes?: boolean; diff?: DiffResult } = {}): Promise<MatrixProposalView> {
  const diff = options.diff ?? (await proposalDiff(deps, row));
  const breaking = diff.summary.breaking > 0;
  const required = (await currentPolicy(deps)).approvals[breaking ? 'breaking' : 'non-breaking'];
  const reviews = await reviewsOfVersion(deps, row.name, row.version);
  const by = approversOf(row, reviews);
  return {
    ...toView(row),
    breaking,
    diff: { summary: diff.summary, bump: diff.bump, ...(options.changes ? { changes: diff.changes } : {}) },
    approvals: { counted: by.length, required, by },
    reviews: reviews.map(({ id, decision, comment, reviewer, createdAt }) => ({ id, decision, comment, reviewer, createdAt })),
    approvedVersion: (await latestMatrixRow(deps, row.name))?.version ?? null,
  };
}

/** The statuses `GET …/proposals?status=` filters by (`all` for every version written as a proposal or since). */
export const PROPOSAL_FILTERS = ['proposed', 'approved', 'rejected', 'superseded', 'all'] as const;

/** One page of a flow's proposals, newest first: open ones unless `status` says otherwise. */
export async function listMatrixProposals(deps: Deps, flow: string, status: (typeof PROPOSAL_FILTERS)[number] = 'proposed', page: Page = { limit: 100 }): Promise<Paged<MatrixProposalView>> {
  const order: KeyPart<MatrixRow>[] = [{ column: matrixVersions.version, desc: true, of: (r) => r.version }];
  const rows = await deps.db
    .select()
    .from(matrixVersions)
    .where(and(eq(matrixVersions.name, flow), eq(matrixVersions.kind, 'flow'), status === 'all' ? undefined : eq(matrixVersions.status, status), keyAfter(order, page.after)))
    .orderBy(...keyOrder(order))
    .limit(page.limit + 1)
    .all();
  if (rows.length === 0 && !(await deps.db.select({ name: matrixVersions.name }).from(matrixVersions).where(and(eq(matrixVersions.name, flow), eq(matrixVersions.kind, 'flow'))).limit(1).get())) {
    throw new AccordError('not_found', `No control-matrix entry "${flow}"`);
  }
  const paged = pageOf(rows, page.limit, order);
  return { ...paged, items: await Promise.all(paged.items.map((row) => proposalView(deps, row))) };
}

/** One version of a flow as a proposal, with its whole diff against its base. */
export async function getMatrixProposal(deps: Deps, flow: string, version: number): Promise<MatrixProposalView & { diffResult: DiffResult }> {
  const row = await flowVersionRow(deps, flow, version);
  const diff = await proposalDiff(deps, row);
  return { ...(await proposalView(deps, row, { changes: true, diff })), diffResult: diff };
}

function notOpen(row: MatrixRow): AccordError {
  const how: Record<MatrixStatus, string> = {
    approved: 'it is already approved',
    proposed: 'it is open',
    rejected: `it was rejected by ${row.decidedBy}`,
    superseded: `it was superseded (by ${row.decidedBy}): another version was approved after it was proposed, or its author proposed again`,
  };
  return new AccordError('conflict', `Version ${row.version} of control-matrix entry "${row.name}" is not an open proposal: ${how[row.status as MatrixStatus]}. To change the entry, propose again: GET /v1/control-matrix/${row.name} (ETag), then PUT it with If-Match.`, {
    extra: { proposalStatus: row.status },
  });
}

/**
 * Records an approval or rejection of an open proposal, bound to its content hash. Its author
 * may not review it (same token, or a name that looks like theirs); each person reviews once.
 * A rejection rejects it; the policy's number of approvals (`approvals.breaking` when its diff
 * is breaking) approves it: it becomes the approved version (the runtime rebuilds) and every
 * other open proposal of the flow is superseded. A proposal whose base is no longer the
 * approved version cannot be approved (409: propose again).
 */
export async function reviewMatrixProposal(deps: Deps, principal: Principal, flow: string, version: number, input: ChangeReview): Promise<{ review: ReviewRow; proposal: MatrixProposalView }> {
  const row = await flowVersionRow(deps, flow, version);
  if (row.status !== 'proposed') throw notOpen(row);
  const reviewer: Actor = { name: principal.name, token: principal.tokenId };
  if (sameActor(reviewer, authorOf(row))) {
    throw new AccordError('forbidden', `Whoever proposed a control-matrix change may not review it (same token, or a name that looks like theirs): version ${version} of "${flow}" was proposed by ${row.createdBy}; ask another approver`);
  }
  // Git reads stay outside the transaction.
  const diff = await proposalDiff(deps, row);
  const required = (await currentPolicy(deps)).approvals[diff.summary.breaking > 0 ? 'breaking' : 'non-breaking'];
  const at = deps.clock().toISOString();
  const { review, decided } = await deps.db.transaction(async (tx) => {
    // One flow's writes and reviews decide one at a time, across replicas too.
    await tx.$serialize(matrixLock(flow));
    const current = (await matrixVersionRow(deps, flow, version))!;
    if (current.status !== 'proposed') throw notOpen(current);
    const approved = (await latestMatrixRow(deps, flow))?.version ?? null;
    if (current.baseVersion !== approved) {
      throw new AccordError('conflict', `Version ${version} of "${flow}" was proposed against version ${current.baseVersion ?? 'none'}, but version ${approved} is approved now: it can no longer be approved. Propose the change again on version ${approved} (GET /v1/control-matrix/${flow}, then PUT with If-Match).`, {
        extra: { baseVersion: current.baseVersion, approvedVersion: approved },
      });
    }
    const earlier = await reviewsOfVersion(deps, flow, version);
    const mine = earlier.find((r) => sameActor({ name: r.reviewer, token: r.reviewerToken }, reviewer));
    if (mine) throw new AccordError('conflict', `${mine.reviewer} already reviewed version ${version} of "${flow}" (${mine.decision}, ${mine.createdAt}); each person reviews a proposal once`);
    const stored = await tx
      .insert(matrixReviews)
      .values({ id: `mrv_${randomBytes(8).toString('hex')}`, name: flow, version, sha256: current.sha256, decision: input.decision, comment: input.comment ?? '', reviewer: principal.name, reviewerToken: principal.tokenId, createdAt: at })
      .returning()
      .get();
    let outcome: 'approved' | 'rejected' | undefined;
    if (input.decision === 'reject') outcome = 'rejected';
    else if (approversOf(current, [...earlier, stored]).length >= required) outcome = 'approved';
    if (outcome) {
      await tx.update(matrixVersions).set({ status: outcome, decidedAt: at, decidedBy: principal.name }).where(and(eq(matrixVersions.name, flow), eq(matrixVersions.version, version))).run();
      if (outcome === 'approved') await supersedeOpenProposals(tx, flow, version, new Date(at), principal.name);
    }
    return { review: stored, decided: outcome };
  });
  if (decided === 'approved') await markContractsChanged(deps.db);
  if (decided) {
    await appendAudit(deps, {
      actor: principal.name,
      role: principal.role,
      action: `matrix.proposal-${decided}`,
      target: `control-matrix/${flow}@v${version}`,
      outcome: 'ok',
      detail: { version, baseVersion: row.baseVersion, sha256: row.sha256, breaking: diff.summary.breaking > 0, required, ...(input.comment ? { comment: input.comment } : {}) },
    });
    deps.logger.info({ flow, version, decided, by: principal.name }, 'control-matrix proposal decided');
  }
  deps.logger.info({ flow, version, reviewId: review.id, decision: review.decision, decided: decided ?? null, by: principal.name }, 'matrix proposal review');
  return { review, proposal: await proposalView(deps, (await matrixVersionRow(deps, flow, version))!, { diff }) };
}

/** An open proposal the gate names: which flow, which version, written against which, by whom. */
export interface PendingMatrixProposal {
  flow: string;
  version: number;
  baseVersion: number | null;
  createdBy: string;
}

/**
 * The open proposals of flows that cover a release (their approved entry or the proposed one,
 * as `covers` says of an entry), for the gate: while one is open, what governs the release may
 * change.
 */
export async function openProposalsCovering(deps: Deps, covers: (entry: unknown) => boolean): Promise<PendingMatrixProposal[]> {
  const open = await deps.db.select().from(matrixVersions).where(and(eq(matrixVersions.kind, 'flow'), eq(matrixVersions.status, 'proposed'))).orderBy(matrixVersions.name, matrixVersions.version).all();
  const pending: PendingMatrixProposal[] = [];
  for (const row of open) {
    const entries = [(await getMatrixDocument(deps, 'flow', row.name, row.version)).entry];
    if (row.baseVersion !== null) entries.push((await getMatrixDocument(deps, 'flow', row.name, row.baseVersion)).entry);
    if (entries.some(covers)) pending.push({ flow: row.name, version: row.version, baseVersion: row.baseVersion, createdBy: row.createdBy });
  }
  return pending;
}
