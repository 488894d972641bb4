import { and, desc, eq } from 'drizzle-orm';
import semver from 'semver';
import { z } from 'zod';
import { SYSTEM, type Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { findVersion } from '../contracts/versions.ts';
import { evidence, releases, transactions } from '../db/index.ts';
import { AccordError } from '../errors.ts';
import { recordAccordEvidence } from '../evidence/evidence.ts';
import { flowInput } from '../runtime/flow-requests.ts';
import { requestExample } from '../runtime/route-table.ts';
import { newDriftAfterRelease } from '../notices/drift.ts';
import { publishNotice } from '../notices/notices.ts';
import type { Runtime } from '../runtime/index.ts';

const DEADLINE_MS = 120_000;

/** What to run now: one flow, one partner, or (left out) every flow and every partner serving it. */
export const SyntheticRunRequest = z
  .object({
    flow: z.string({ error: 'must name a control-matrix flow' }).optional(),
    partner: z.string({ error: 'must name a partner' }).optional(),
  })
  .meta({ id: 'SyntheticRunRequest' });

export type SyntheticRunRequest = z.output<typeof SyntheticRunRequest>;

/** How a synthetic check ends: passed, failed, or skipped (the flow cannot start from an example). */
export const SYNTHETIC_OUTCOMES = ['pass', 'fail', 'skipped'] as const;

/** One synthetic check's outcome. */
export interface SyntheticResult {
  flow: string;
  partner: string;
  version?: string;
  result: (typeof SYNTHETIC_OUTCOMES)[number];
  state?: string;
  detail?: string;
  transactionId?: string;
  evidenceId?: string;
  driftNoticeId?: string;
}

/**
 * Runs synthetic transactions: for each flow (or `flow`) and each partner serving it (or
 * `partner`), a saga with the served contract's own request example — the reference network's
 * synthetic members, never real data. Each result is stored as `synthetic-check` evidence that
 * Accord produced (`producedBy: accord`) for the served version and counted in
 * accord_synthetic_checks_total; a failure after the partner's latest release of that version raises a drift alert (notice `synthetic-drift` + webhook).
 * Flows whose first step the reference runtime cannot build from an example are skipped.
 */
export async function runSynthetic(deps: Deps, runtime: Runtime, principal: Principal, input: SyntheticRunRequest = {}): Promise<{ results: SyntheticResult[] }> {
  const flows = (await runtime.routes.allFlows()).filter((f) => input.flow === undefined || f.flow === input.flow);
  if (input.flow !== undefined && flows.length === 0) throw new AccordError('not_found', `No control-matrix flow "${input.flow}"`);
  const candidates = await servedPartners(runtime);
  const started: Array<SyntheticResult & { id?: string }> = [];
  const stamp = deps.clock().toISOString();
  for (const flow of flows) {
    for (const partner of candidates) {
      if (input.partner !== undefined && partner !== input.partner) continue;
      const served = await runtime.routes.forFlow(flow, partner);
      if (!served) continue;
      const example = requestExample(served.operations.get(flow.steps[0]!.operationId));
      if (!example) {
        started.push({ flow: flow.flow, partner, version: served.version, result: 'skipped', detail: `no request example for ${flow.steps[0]!.operationId}` });
        continue;
      }
      const start = flowInput(flow.steps[0]!.operationId, example);
      if (!start) {
        started.push({ flow: flow.flow, partner, version: served.version, result: 'skipped', detail: `${flow.steps[0]!.operationId} needs the outputs of earlier steps; the flow cannot start from an example` });
        continue;
      }
      const body = { flow: flow.flow, partner, major: semver.major(served.version), input: start };
      try {
        const res = await runtime.engine.start(SYSTEM, { body, rawBody: JSON.stringify(body), idempotencyKey: `synthetic:${flow.flow}:${partner}:${stamp}`, correlationId: `synthetic-${flow.flow}-${partner}-${Date.parse(stamp)}`, traceparent: undefined, tracestate: undefined });
        started.push({ flow: flow.flow, partner, version: served.version, result: 'fail', id: res.id });
      } catch (error) {
        if (!(error instanceof AccordError) || error.status >= 500 || error.code === 'too_many_requests') throw error;
        started.push({ flow: flow.flow, partner, version: served.version, result: 'skipped', detail: `the reference runtime cannot start it from an example: ${error.message}` });
      }
    }
  }
  await runtime.engine.settled(started.flatMap((s) => (s.id ? [s.id] : [])), DEADLINE_MS);

  const results: SyntheticResult[] = [];
  for (const s of started) {
    if (!s.id) {
      results.push(s);
      continue;
    }
    const row = (await deps.db.select().from(transactions).where(eq(transactions.id, s.id)).get())!;
    const pass = row.state === 'completed';
    const result: SyntheticResult = { flow: s.flow, partner: s.partner, version: s.version, result: pass ? 'pass' : 'fail', state: row.state, transactionId: row.id, ...(pass ? {} : { detail: row.failure ?? `still ${row.state} after ${DEADLINE_MS / 1000} s` }) };
    deps.metrics.syntheticChecks.inc({ partner: s.partner, flow: s.flow, outcome: result.result });
    const version = await findVersion(deps, s.partner, row.api, s.version!);
    if (version) {
      const previous = await deps.db.select().from(evidence).where(and(eq(evidence.partner, s.partner), eq(evidence.api, row.api), eq(evidence.version, s.version!), eq(evidence.kind, 'synthetic-check'))).orderBy(desc(evidence.createdAt)).limit(1).get();
      result.evidenceId = (await recordAccordEvidence(deps, { createdBy: principal.name, partner: s.partner, api: row.api, version: s.version!, kind: 'synthetic-check', result: pass ? 'pass' : 'fail', sha256: version.sha256, uri: `urn:accord:transaction:${row.id}`, environment: deps.config.runtimeEnvironment, commit: version.commit, producedAt: deps.clock().toISOString() })).id;
      const release = await deps.db.select().from(releases).where(and(eq(releases.partner, s.partner), eq(releases.api, row.api), eq(releases.version, s.version!))).orderBy(desc(releases.createdAt)).limit(1).get();
      // Drift: it failed after a release of this version, and it had not failed since that release.
      if (!pass && release && newDriftAfterRelease(release, previous && { passed: previous.result === 'pass', createdAt: previous.createdAt })) {
        result.driftNoticeId = await deps.db.transaction(async (tx) =>
          await publishNotice(tx, deps, {
            kind: 'synthetic-drift',
            partner: s.partner,
            api: row.api,
            version: s.version!,
            title: `Synthetic ${s.flow} fails against ${s.partner}/${row.api} ${s.version} after its release`,
            body: `The synthetic transaction ${row.id} ended ${row.state}: ${result.detail ?? ''}. Released ${release.createdAt} to ${release.environment}. See /v1/transactions/${row.id}.`,
          }),
        );
        deps.logger.warn({ flow: s.flow, partner: s.partner, version: s.version, transactionId: row.id, correlationId: row.correlationId, traceId: row.traceId }, 'synthetic drift after a partner release');
      }
    }
    results.push(result);
  }
  return { results };
}

async function servedPartners(runtime: Runtime): Promise<string[]> {
  const partners = new Set<string>();
  for (const flow of await runtime.routes.allFlows()) for (const line of await runtime.routes.lineKeys()) if (line.split('/')[1] === flow.contract.api) partners.add(line.split('/')[0]!);
  return [...partners].sort();
}
