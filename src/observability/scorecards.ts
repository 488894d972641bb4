import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { AccordError } from '../errors.ts';
import { durationMs } from '../matrix/durations.ts';
import type { Runtime } from '../runtime/index.ts';
import { partnerCosts } from './partner-costs.ts';
import { certificationStanding } from '../certification/runs.ts';

/** The p-th percentile (nearest rank) of values. */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const share = (part: number, whole: number) => (whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000);

/**
 * A partner's scorecard over a window (default P7D): acceptance latency and rate of the first
 * step it serves, duplicate handling, error taxonomy (share of error answers with a clear,
 * specific 4xx code), observability completeness (share of requests carrying a correlation id
 * and a traceparent), release hygiene (releases whose gate had all evidence; breaking releases
 * without a breaking-release notice), synthetic success and, per calendar month, what its
 * unreliability cost (partnerCosts). Shares are 0–1, null without data.
 */
export async function scorecard(deps: Deps, runtime: Runtime, principal: Principal, partner: string, window = 'P7D', months = 6) {
  if (principal.role === 'partner' && principal.partner !== partner) throw new AccordError('not_found', `No scorecard for ${partner}`);
  await runtime.stats.flush();
  const now = deps.clock();
  const since = new Date(now.getTime() - durationMs(window)).toISOString();
  const db = deps.db.$sql;

  // Acceptance: the first step of every transaction against the partner. Cast: PostgreSQL's
  // json_extract answers text where SQLite's answers a number.
  const firstSteps = [
    ...((await db.all("SELECT CAST(json_extract(sync_step, '$.latencyMs') AS DOUBLE PRECISION) AS latency, CAST(json_extract(sync_step, '$.outcome.status') AS INTEGER) AS status FROM transactions WHERE partner = ? AND mode = 'sync' AND created_at >= ?", [partner, since])) as Array<{ latency: number; status: number }>),
    ...((await db.all(`SELECT CAST(json_extract(s.attempt_log, '$[0].latencyMs') AS DOUBLE PRECISION) AS latency, CAST(json_extract(s.attempt_log, '$[0].status') AS INTEGER) AS status FROM transactions t JOIN transaction_steps s ON s.transaction_id = t.id AND s.kind = 'forward' AND s.position = 0
         WHERE t.partner = ? AND t.mode = 'saga' AND t.created_at >= ? AND s.attempts > 0`, [partner, since])) as Array<{ latency: number; status: number }>),
  ];
  const latencies = firstSteps.map((r) => r.latency);
  const stats = (await db.get(`SELECT coalesce(sum(requests), 0) AS requests, coalesce(sum(accepted), 0) AS accepted, coalesce(sum(errors), 0) AS errors, coalesce(sum(errors_coded), 0) AS "errorsCoded",
              coalesce(sum(duplicates), 0) AS duplicates, coalesce(sum(duplicates_replayed), 0) AS "duplicatesReplayed", coalesce(sum(with_correlation), 0) AS "withCorrelation",
              coalesce(sum(with_traceparent), 0) AS "withTraceparent", coalesce(sum(with_both), 0) AS "withBoth"
       FROM partner_stats WHERE partner = ? AND minute >= ?`, [partner, new Date(Math.floor(Date.parse(since) / 60_000) * 60_000).toISOString()])) as Record<string, number>;

  // Release hygiene: each release's gate decision, and breaking releases without notice.
  const released = (await db.all(`SELECT r.version, r.api, d.answer FROM releases r JOIN gate_decisions d ON d.id = r.decision_id WHERE r.partner = ? AND r.created_at >= ?`, [partner, since])) as Array<{ version: string; api: string; answer: string }>;
  let evidenceComplete = 0;
  let breaking = 0;
  let breakingWithoutNotice = 0;
  for (const r of released) {
    const answer = JSON.parse(r.answer) as { reasons: Array<{ rule: string; status: string }>; whatChanged?: { breaking?: string[] } };
    const evidenceRules = answer.reasons.filter((x) => x.rule.startsWith('evidence:'));
    if (evidenceRules.every((x) => x.status === 'met')) evidenceComplete++;
    if ((answer.whatChanged?.breaking?.length ?? 0) > 0) {
      breaking++;
      const notice = (await db.get("SELECT 1 FROM notices WHERE kind = 'breaking-release' AND partner = ? AND api = ? AND version = ?", [partner, r.api, r.version]));
      if (!notice) breakingWithoutNotice++;
    }
  }
  const synthetic = (await db.all("SELECT result, count(*) AS n FROM evidence WHERE partner = ? AND kind = 'synthetic-check' AND produced_at >= ? GROUP BY result", [partner, since])) as Array<{ result: string; n: number }>;
  const syntheticPass = synthetic.find((s) => s.result === 'pass')?.n ?? 0;
  const syntheticAll = synthetic.reduce((a, s) => a + s.n, 0);
  return {
    partner,
    window,
    from: since,
    to: now.toISOString(),
    acceptance: {
      transactions: firstSteps.length,
      rate: share(firstSteps.filter((r) => r.status >= 200 && r.status < 300).length, firstSteps.length),
      latencyMs: { p50: latencies.length ? percentile(latencies, 50) : null, p95: latencies.length ? percentile(latencies, 95) : null },
    },
    duplicates: { requests: stats.requests, duplicates: stats.duplicates, rate: share(stats.duplicates!, stats.requests!), replayed: stats.duplicatesReplayed, handledByReplay: share(stats.duplicatesReplayed!, stats.duplicates!) },
    errorTaxonomy: { errors: stats.errors, withClearCode: stats.errorsCoded, share: share(stats.errorsCoded!, stats.errors!) },
    observability: { requests: stats.requests, correlationId: share(stats.withCorrelation!, stats.requests!), traceparent: share(stats.withTraceparent!, stats.requests!), complete: share(stats.withBoth!, stats.requests!) },
    releaseHygiene: { releases: released.length, evidenceComplete: share(evidenceComplete, released.length), breakingReleases: breaking, breakingWithoutNotice },
    synthetic: { checks: syntheticAll, passed: syntheticPass, successRate: share(syntheticPass, syntheticAll) },
    certification: await certificationStanding(deps, partner, since),
    costs: await partnerCosts(deps, partner, months),
  };
}
