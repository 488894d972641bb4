import { and, eq } from 'drizzle-orm';
import { appendAudit } from '../audit/log.ts';
import type { ContractVersionRow } from '../contracts/versions.ts';
import type { Deps } from '../deps.ts';
import { changeRequests, changeReviews, lockKey, type Db } from '../db/index.ts';
import type { Change, DiffResult } from '../diff/types.ts';
import { currentPolicy } from '../matrix/policy.ts';
import type { ChangeRow } from './changes.ts';
import { consumersOf } from './consumers.ts';
import { computeImpact, parseImpact, type ChangeImpact } from './impact.ts';
import { askAcknowledgement } from './open.ts';
import { amendSnapshot, diffHash, engineOf, newBreakingFindings, parseSnapshot } from './snapshot.ts';
import { observedSince, usageOf } from './usage.ts';

/**
 * Breaking findings found after review (ADR 0022). When a newer diff engine (or a policy that
 * raised a rule's level) finds, in the same content against the same base, a breaking finding
 * a change request's snapshot does not have, the change is amended once, in one transaction:
 * the findings are appended to its snapshot, marked with when and against which hash; its diff
 * hash is re-stamped, so reviews and acknowledgements of the earlier diff no longer count (a
 * fresh review; the consumers asked acknowledge again); it becomes breaking, with at least what
 * the policy asks of breaking changes; and the consumers asked are told. An audit entry records
 * the hash before and after and what was found. Nothing else a newer engine says — warnings,
 * infos, renamed ids, reworded messages — touches a change.
 */

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** The diff a release would ship now, as releaseDiff gives it. */
export interface TodayDiff {
  base: string | null;
  baseSha256: string | null;
  result: DiffResult;
}

const union = (a: string[], b: string[]) => [...a, ...b.filter((x) => !a.includes(x))];

/**
 * Amends `change` (the newest change request of `version`) with the breaking findings of
 * today's diff its snapshot lacks, if any; returns the change as it stands. A change for other
 * content or another base is stale instead, a rejected one stays rejected, and a retired
 * version's is left alone.
 */
export async function surfaceFindingsAfterReview(deps: Deps, change: ChangeRow, version: ContractVersionRow, today: TodayDiff): Promise<ChangeRow> {
  if (version.state === 'retired' || change.contentSha256 !== version.sha256 || change.baseVersion !== today.base) return change;
  const engine = engineOf(deps);
  if (newBreakingFindings(parseSnapshot(change.diff), today.result, engine.canonicalRule).length === 0) return change;
  const policy = await currentPolicy(deps);
  const since = observedSince(deps);
  const usage = await usageOf(deps, change.partner, change.api, await consumersOf(deps, change.partner, change.api), since);
  const at = deps.clock().toISOString();
  const amended = await deps.db.transaction(async (tx) => {
    await tx.$serialize(lockKey(`change ${change.id}`));
    // Another replica may have amended it meanwhile: judged again on the row as it is now.
    const row = (await tx.select().from(changeRequests).where(eq(changeRequests.id, change.id)).get())!;
    const snapshot = parseSnapshot(row.diff);
    const found = newBreakingFindings(snapshot, today.result, engine.canonicalRule);
    // A rejection stands for the diff it rejected and anything more breaking: nothing to review again.
    const rejected = await tx.select({ id: changeReviews.id }).from(changeReviews).where(and(eq(changeReviews.changeId, row.id), eq(changeReviews.diffHash, row.diffHash), eq(changeReviews.decision, 'reject'))).get();
    if (found.length === 0 || rejected) return { row, found: [] };
    const diff = amendSnapshot(snapshot, found, { at, reviewedHash: row.diffHash });
    const impact = mergeImpact(computeImpact(diff, usage, since), parseImpact(row.impact));
    const asked = policy.acknowledgements.breaking === 'all-consumers' ? impact.consumers.filter((c) => c.affected).map((c) => c.consumer) : [];
    const values = {
      diff: JSON.stringify(diff),
      diffHash: diffHash(today.baseSha256, row.contentSha256, diff.changes, engine.canonicalRule),
      breaking: true,
      requiredApprovals: Math.max(row.requiredApprovals, policy.approvals.breaking),
      requiredAcks: JSON.stringify(union(JSON.parse(row.requiredAcks) as string[], asked)),
      requiredEvidence: JSON.stringify(union(JSON.parse(row.requiredEvidence) as string[], policy.evidence.breaking)),
      impact: JSON.stringify(impact),
    };
    const updated = (await tx.update(changeRequests).set(values).where(eq(changeRequests.id, row.id)).returning().get())!;
    await tellConsumers(tx, deps, updated, found, impact);
    return { row: updated, found, reviewedHash: row.diffHash };
  });
  if (amended.found.length > 0) {
    await appendAudit(deps, {
      actor: 'accord-system',
      role: 'system',
      action: 'change.found-after-review',
      target: `${change.partner}/${change.api}@${change.version}`,
      outcome: 'ok',
      detail: {
        changeId: change.id,
        reviewedHash: amended.reviewedHash,
        diffHash: amended.row.diffHash,
        findings: amended.found.map(({ rule, location }) => ({ rule, location })),
        requiredApprovals: amended.row.requiredApprovals,
        requiredAcks: JSON.parse(amended.row.requiredAcks) as string[],
      },
    });
  }
  return amended.row;
}

/** Today's impact of the amended diff, keeping the entries of consumers the change was opened with that are no longer consumers (they may still read it). */
function mergeImpact(now: ChangeImpact, before: ChangeImpact | null): ChangeImpact {
  const gone = (before?.consumers ?? []).filter((c) => !now.consumers.some((n) => n.consumer === c.consumer));
  return { ...now, consumers: [...now.consumers, ...gone] };
}

/** Each consumer asked to acknowledge the amended change: a notice and a webhook event saying what was found and that its acknowledgement of the earlier diff no longer counts. */
async function tellConsumers(tx: Tx, deps: Pick<Deps, 'db' | 'clock' | 'config'>, change: ChangeRow, found: Change[], impact: ChangeImpact): Promise<void> {
  const { id, partner, api, version } = change;
  const ref = `${partner}/${api}@${version}`;
  const listed = found.slice(0, 5).map((c) => `${c.rule} at ${c.location}`).join('; ') + (found.length > 5 ? `; and ${found.length - 5} more` : '');
  for (const consumer of JSON.parse(change.requiredAcks) as string[]) {
    const entry = impact.consumers.find((c) => c.consumer === consumer);
    const reason = entry?.reason ?? 'a consumer of the API';
    await askAcknowledgement(tx, deps, change, consumer, {
      title: `${ref}: breaking findings found after review; ${consumer} is asked to acknowledge change request ${id} again`,
      body: `Accord's diff found ${found.length} breaking finding(s) in change request ${id} for ${ref} ("${change.summary}") after it was reviewed: ${listed}. Its diff was amended; the board reviews it again, and acknowledgements of the earlier diff no longer count. ${consumer}: ${reason}. Read what touches you (GET /v1/changes/${id}/diff) and acknowledge the amended diff (POST /v1/changes/${id}/acknowledgements).`,
      event: { reason, usage: entry?.usage ?? 'unknown', touched: entry?.touched ?? [], findings: entry ? entry.findings.length + entry.moreFindings : found.length, foundAfterReview: found.length },
    });
  }
}
