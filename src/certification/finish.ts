import { and, desc, eq } from 'drizzle-orm';
import { findVersion } from '../contracts/versions.ts';
import { certificationRuns, releases } from '../db/index.ts';
import type { Deps } from '../deps.ts';
import { recordAccordEvidence } from '../evidence/evidence.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import { newDriftAfterRelease } from '../notices/drift.ts';
import { publishNotice } from '../notices/notices.ts';
import { latestFinished, type RunRow } from './runs.ts';
import type { CaseCategory } from './cases.ts';
import type { CaseResult } from './suite.ts';

/** The evidence kind each category of cases proves. */
const EVIDENCE_OF: Record<CaseCategory, 'contract-test' | 'replay-test' | 'duplicate-handling-test' | 'failure-injection' | 'trace-completeness'> = {
  contract: 'contract-test',
  deprecation: 'contract-test',
  idempotency: 'replay-test',
  'duplicate-handling': 'duplicate-handling-test',
  failure: 'failure-injection',
  trace: 'trace-completeness',
};

const failing = (c: CaseResult) => c.verdict === 'fail' || c.verdict === 'error';

/**
 * Ends a run: its verdict, evidence of each kind its cases prove (produced by Accord, bound to the
 * content it certified), and — when it failed after a release of the version to that environment,
 * and had not already failed since — a `partner-drift` notice (endpoint runs only) (and `notice.partner-drift` event).
 */
export async function finishRun(deps: Deps, row: RunRow, cases: CaseResult[], notes: string[], interrupted?: string): Promise<void> {
  const passed = !cases.some(failing);
  const finishedAt = deps.clock().toISOString();
  // Stopped or out of time: Accord's side ended it, so it proves nothing about the partner (no evidence, no drift).
  if (interrupted) {
    await deps.db
      .update(certificationRuns)
      .set({ status: 'error', error: `${interrupted}; ${cases.filter((c) => c.verdict !== 'error').length} of ${cases.length} cases ran; start a new run`, finishedAt, heartbeatAt: finishedAt, failures: cases.filter(failing).length, report: JSON.stringify({ cases }), summary: JSON.stringify({ evidence: [], notes }) })
      .where(eq(certificationRuns.id, row.id))
      .run();
    deps.logger.warn({ certification: row.id, partner: row.partner, api: row.api, version: row.version, environment: row.environment, why: interrupted }, 'certification interrupted');
    return;
  }
  const evidence: Array<{ id: string; kind: string; result: string }> = [];
  const version = await findVersion(deps, row.partner, row.api, row.version);
  // The version's content may have changed hands (re-registration is refused, but be exact): evidence is bound to what was certified.
  if (version) {
    const kinds = [...new Set(cases.map((c) => EVIDENCE_OF[c.category]))];
    for (const kind of kinds) {
      const result = cases.some((c) => EVIDENCE_OF[c.category] === kind && failing(c)) ? 'fail' : 'pass';
      const view = await recordAccordEvidence(deps, {
        partner: row.partner,
        api: row.api,
        version: row.version,
        environment: row.environment,
        kind,
        result,
        sha256: row.contentSha256,
        uri: absoluteUrl(deps.config, `/v1/certifications/${row.id}`),
        commit: version.commit,
        producedAt: finishedAt,
      });
      evidence.push({ id: view.id, kind, result });
    }
  }
  let driftNoticeId: string | undefined;
  // Drift is about the partner's own endpoint; a run of Accord's reference partner says nothing of it.
  const release = row.target !== 'endpoint' ? undefined : await deps.db.select().from(releases).where(and(eq(releases.partner, row.partner), eq(releases.api, row.api), eq(releases.version, row.version), eq(releases.environment, row.environment))).orderBy(desc(releases.createdAt)).limit(1).get();
  const previous = release ? await latestFinished(deps, row, row.createdAt) : undefined;
  if (!passed && release && newDriftAfterRelease(release, previous && { passed: previous.status === 'passed', createdAt: previous.createdAt })) {
    const failed = cases.filter(failing);
    driftNoticeId = await deps.db.transaction(async (tx) =>
      await publishNotice(tx, deps, {
        kind: 'partner-drift',
        partner: row.partner,
        api: row.api,
        version: row.version,
        title: `${row.partner}/${row.api} ${row.version} no longer passes certification in ${row.environment}`,
        body: `Certification ${row.id} failed ${failed.length} of ${cases.length} cases (${failed.slice(0, 5).map((c) => c.id).join(', ')}${failed.length > 5 ? ', …' : ''}) after the release of ${release.createdAt} to ${row.environment}. See /v1/certifications/${row.id}.`,
      }),
    );
    deps.logger.warn({ certification: row.id, partner: row.partner, api: row.api, version: row.version, environment: row.environment, failed: failed.length }, 'partner drift: certification fails after a release');
  }
  await deps.db
    .update(certificationRuns)
    .set({ status: passed ? 'passed' : 'failed', finishedAt, heartbeatAt: finishedAt, failures: cases.filter(failing).length, report: JSON.stringify({ cases }), summary: JSON.stringify({ evidence, notes, ...(driftNoticeId ? { driftNoticeId } : {}) }) })
    .where(eq(certificationRuns.id, row.id))
    .run();
  deps.logger.info({ certification: row.id, partner: row.partner, api: row.api, version: row.version, environment: row.environment, status: passed ? 'passed' : 'failed', cases: cases.length, failed: cases.filter(failing).length }, 'certification finished');
}
