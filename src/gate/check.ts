import { createHash, randomBytes } from 'node:crypto';
import { and, desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { appendAudit } from '../audit/log.ts';
import { requireRole, type Principal } from '../auth/principal.ts';
import { acksOf, changedOperations, flowsCovering, latestChangeFor, releaseDiff, reviewsOf } from '../changes/changes.ts';
import { surfaceFindingsAfterReview } from '../changes/after-review.ts';
import { askedBecause, parseImpact } from '../changes/impact.ts';
import { foundAfterReviewOf, parseSnapshot } from '../changes/snapshot.ts';
import type { Deps } from '../deps.ts';
import { Id, SemVer } from '../contracts/ids.ts';
import { findVersion } from '../contracts/versions.ts';
import { evidence, gateDecisions, lockKey, releases } from '../db/index.ts';
import { AccordError } from '../errors.ts';
import type { FlowEntry } from '../matrix/checks.ts';
import { openProposalsCovering } from '../matrix/proposals.ts';
import { lintFactsOf } from '../lint/network.ts';
import { currentFlows } from '../matrix/store.ts';
import { enqueueEvent } from '../notices/webhooks.ts';
import { currentPolicy } from '../matrix/policy.ts';
import { evaluateGate, type AccordEvidenceFacts, type GateAnswer, type GateFacts } from './evaluate.ts';
import { activeFreezes } from './freezes.ts';
import { newReviewItemId, openReviewItem } from './review-items.ts';

const BREAK_GLASS_RULE = 'give the reason for breaking glass (at least 10 characters)';

/** What the gate is asked: may this version be released to this environment? */
export const GateCheckRequest = z
  .object({
    partner: Id,
    api: Id,
    environment: Id,
    version: SemVer,
    breakGlass: z
      .string({ error: BREAK_GLASS_RULE })
      .refine((reason) => reason.trim().length >= 10, BREAK_GLASS_RULE)
      .optional()
      .meta({ description: 'Admin only: pass regardless, with this reason (at least 10 characters); audited and followed up by a post-release review item' }),
  })
  .meta({ id: 'GateCheckRequest' });

export type GateCheckRequest = z.output<typeof GateCheckRequest>;

/**
 * Collects the stored facts the gate decides on. The change request is the version's newest,
 * amended first when today's diff finds breaking findings its snapshot lacks (ADR 0022).
 */
export async function gatherFacts(deps: Deps, partner: string, api: string, version: string, environment: string): Promise<GateFacts> {
  const row = await findVersion(deps, partner, api, version);
  if (!row) throw new AccordError('not_found', `No contract version ${partner}/${api}@${version}`);
  const diff = await releaseDiff(deps, row);
  // Breaking findings a newer engine found after review amend the change first (ADR 0022).
  const newest = await latestChangeFor(deps, partner, api, version);
  const change = newest ? await surfaceFindingsAfterReview(deps, newest, row, diff) : undefined;
  const foundAfterReview = change ? foundAfterReviewOf(parseSnapshot(change.diff)) : [];
  const changed = [...changedOperations(diff.result.changes)].sort();
  const current = await currentFlows(deps);
  const flows = flowsCovering(current, partner, api, version, new Set(changed));
  const required = change ? (JSON.parse(change.requiredEvidence) as string[]) : [];
  const previous = await deps.db
    .select({ version: releases.version })
    .from(releases)
    .where(and(eq(releases.partner, partner), eq(releases.api, api), eq(releases.environment, environment)))
    .orderBy(desc(releases.createdAt))
    .limit(1)
    .get();
  return {
    now: deps.clock().toISOString(),
    target: { partner, api, version, environment, state: row.state, sha256: row.sha256, registeredBy: row.createdBy },
    change: change
      ? {
          id: change.id,
          diffHash: change.diffHash,
          contentSha256: change.contentSha256,
          baseVersion: change.baseVersion,
          ...(foundAfterReview.length > 0 ? { foundAfterReview } : {}),
          createdBy: change.createdBy,
          createdByToken: change.createdByToken,
          requiredApprovals: change.requiredApprovals,
          requiredAcks: JSON.parse(change.requiredAcks) as string[],
          ...(change.impact ? { askedBecause: askedBecause(JSON.parse(change.requiredAcks) as string[], parseImpact(change.impact)) } : {}),
          requiredEvidence: required,
        }
      : null,
    diff: {
      base: diff.base,
      hash: diff.hash,
      summary: diff.result.summary,
      bump: diff.result.bump,
      changes: diff.result.changes.map(({ rule, level, method, path, operationId, message }) => ({ rule, level, method, path, operationId, message })),
    },
    reviews: change ? (await reviewsOf(deps, change.id)).map(({ reviewer, reviewerToken, decision, diffHash, comment }) => ({ reviewer, reviewerToken, decision, diffHash, comment })) : [],
    acks: change ? (await acksOf(deps, change.id)).map(({ partner: p, diffHash }) => ({ partner: p, diffHash })) : [],
    // The newest records of each required kind (by when Accord received them), bound or not.
    evidence: (await Promise.all(required.map(async (kind) =>
      await deps.db
        .select({ id: evidence.id, kind: evidence.kind, result: evidence.result, sha256: evidence.sha256, uri: evidence.uri, producedAt: evidence.producedAt, expiresAt: evidence.expiresAt, createdAt: evidence.createdAt })
        .from(evidence)
        .where(and(eq(evidence.partner, partner), eq(evidence.api, api), eq(evidence.version, version), eq(evidence.kind, kind)))
        .orderBy(desc(evidence.createdAt))
        .limit(20)
        .all(),
    ))).flat(),
    flows: flows.map((f) => ({ flow: f.flow, owner: f.owner, steps: f.steps, observability: f.observability, sla: f.sla, escalation: f.escalation, idempotency: { replayPolicy: f.idempotency.replayPolicy, dedupeWindow: f.idempotency.dedupeWindow } })),
    changedOperations: changed,
    freezes: await activeFreezes(deps, partner),
    previousRelease: previous?.version ?? null,
    matrixProposals: await openProposalsCovering(deps, (entry) => flowsCovering([{ entry: entry as FlowEntry }], partner, api, version, new Set(changed)).length > 0),
    lint: await lintFactsOf(deps, row, current.map((f) => f.entry)),
    ...await accordEvidenceFacts(deps, partner, api, version, environment),
  };
}

/**
 * The evidence the policy requires Accord itself to have produced before a release to
 * `environment` (`accordEvidence`), with the newest 20 Accord-produced records of each kind for the
 * version, produced in any environment; nothing when the policy requires none there.
 */
async function accordEvidenceFacts(deps: Deps, partner: string, api: string, version: string, environment: string): Promise<{ accordEvidence?: AccordEvidenceFacts }> {
  const required = (await currentPolicy(deps)).accordEvidence[environment] ?? [];
  if (required.length === 0) return {};
  const records = await Promise.all(required.map(async (kind) =>
    await deps.db
      .select({ id: evidence.id, kind: evidence.kind, result: evidence.result, sha256: evidence.sha256, uri: evidence.uri, environment: evidence.environment, producedAt: evidence.producedAt, expiresAt: evidence.expiresAt, createdAt: evidence.createdAt })
      .from(evidence)
      .where(and(eq(evidence.partner, partner), eq(evidence.api, api), eq(evidence.version, version), eq(evidence.kind, kind), eq(evidence.producedBy, 'accord')))
      .orderBy(desc(evidence.createdAt))
      .limit(20)
      .all(),
  ));
  return { accordEvidence: { environment, required, records: records.flat() } };
}

/** The sha256 of the facts a decision was derived from (stored with it, to show they were not altered). */
export function hashInputs(facts: GateFacts): string {
  return createHash('sha256').update(JSON.stringify(facts)).digest('hex');
}

/** What a gate check answers: the verdict and its reasons, the stored decision's id and, after break-glass, who broke it and why. */
export type GateDecision = GateAnswer & { decisionId: string; partner: string; api: string; version: string; environment: string; inputsHash: string; createdAt: string; breakGlass?: { reason: string; by: string; reviewItem: string } };

/** The advisory lock under which a version's gate decisions and releases are written, so that replicas do not interleave them. */
export function versionLock(partner: string, api: string, version: string): number {
  return lockKey(`version ${partner}/${api}@${version}`);
}

/**
 * Evaluates the gate for one version and environment and stores the decision with its inputs
 * and their hash. Break-glass (admins only, with a reason) passes, is audited and opens a
 * review item.
 */
export async function checkGate(deps: Deps, principal: Principal, input: GateCheckRequest): Promise<GateDecision> {
  if (input.breakGlass !== undefined) requireRole(principal, ['admin'], 'break glass');
  const { partner, api, version, environment } = input;

  const facts = await gatherFacts(deps, partner, api, version, environment);
  const answer = evaluateGate(facts);
  const inputsHash = hashInputs(facts);
  const decisionId = `dec_${randomBytes(8).toString('hex')}`;
  const createdAt = deps.clock().toISOString();
  let breakGlass: GateDecision['breakGlass'];
  if (input.breakGlass !== undefined) {
    const reviewItem = newReviewItemId();
    breakGlass = { reason: input.breakGlass.trim(), by: principal.name, reviewItem };
    answer.reasons.push({ rule: 'break-glass', status: 'met', message: `Break-glass by ${principal.name}: ${breakGlass.reason} (the gate said ${answer.verdict})`, howToFix: `Post-release review ${reviewItem} is open.` });
  }
  const final: GateAnswer = breakGlass ? { ...answer, verdict: 'pass' } : answer;
  await deps.db.transaction(async (tx) => {
    // Decisions and releases of one version are written one at a time (see recordRelease).
    await tx.$serialize(versionLock(partner, api, version));
    await tx.insert(gateDecisions)
      .values({
        id: decisionId,
        partner,
        api,
        version,
        environment,
        contentSha256: facts.target.sha256,
        verdict: final.verdict,
        answer: JSON.stringify(final),
        inputs: JSON.stringify(facts),
        inputsHash,
        breakGlassReason: breakGlass?.reason ?? null,
        createdAt,
        requestedBy: principal.name,
      })
      .run();
    if (breakGlass) {
      await openReviewItem(tx, { id: breakGlass.reviewItem, decisionId, partner, api, version, reason: breakGlass.reason, createdAt, createdBy: principal.name });
      await enqueueEvent(tx, deps.clock(), 'gate.break-glass', { decisionId, partner, api, version, environment, reason: breakGlass.reason, by: principal.name, reviewItem: breakGlass.reviewItem, evaluated: answer.verdict }, 'all');
    }
  });
  await appendAudit(deps, {
    actor: principal.name,
    role: principal.role,
    action: breakGlass ? 'gate.break-glass' : 'gate.decision',
    target: `${partner}/${api}@${version} ${environment}`,
    outcome: 'ok',
    detail: { decisionId, verdict: final.verdict, evaluated: answer.verdict, inputsHash, ...(breakGlass ? { reason: breakGlass.reason, reviewItem: breakGlass.reviewItem } : {}) },
  });
  deps.logger.info({ decisionId, partner, api, version, environment, verdict: final.verdict, evaluated: answer.verdict, by: principal.name, breakGlass: Boolean(breakGlass) }, 'gate decision');
  return { ...final, decisionId, partner, api, version, environment, inputsHash, createdAt, ...(breakGlass ? { breakGlass } : {}) };
}

/** A stored decision, re-derived from its stored inputs to show it still holds. */
export async function getDecision(deps: Pick<Deps, 'db'>, id: string) {
  const row = await deps.db.select().from(gateDecisions).where(eq(gateDecisions.id, id)).get();
  if (!row) throw new AccordError('not_found', `No gate decision ${id}`);
  const facts = JSON.parse(row.inputs) as GateFacts;
  const answer = JSON.parse(row.answer) as GateAnswer;
  const rederived = evaluateGate(facts);
  return {
    decisionId: row.id,
    partner: row.partner,
    api: row.api,
    version: row.version,
    environment: row.environment,
    contentSha256: row.contentSha256,
    ...answer,
    inputs: facts,
    inputsHash: row.inputsHash,
    createdAt: row.createdAt,
    requestedBy: row.requestedBy,
    breakGlassReason: row.breakGlassReason,
    rederivation: { inputsHashMatches: hashInputs(facts) === row.inputsHash, verdict: rederived.verdict, matches: row.breakGlassReason ? true : rederived.verdict === row.verdict },
  };
}
