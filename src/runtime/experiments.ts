import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import semver from 'semver';
import { z } from 'zod';
import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { Id, SemVer } from '../contracts/ids.ts';
import { findVersion } from '../contracts/versions.ts';
import { transactions } from '../db/index.ts';
import { flowInput } from './flow-requests.ts';
import { AccordError } from '../errors.ts';
import { addEvidence, type EvidenceView } from '../evidence/evidence.ts';
import { requestExample } from './route-table.ts';
import type { FlowEntry } from '../matrix/checks.ts';
import { durationMs } from '../matrix/durations.ts';
import type { TransactionFault } from './faults.ts';
import type { Runtime } from './index.ts';
import { loadTransactionView, type TransactionView } from './transaction-views.ts';
import { absoluteUrl } from '../lib/public-url.ts';

/** A fault-injection experiment: the partner's contract version to run it against, and the flow. */
export const FaultExperimentRequest = z
  .object({
    partner: Id,
    api: Id,
    version: SemVer,
    flow: z.string({ error: 'must name a control-matrix flow' }).default('payer-data-export'),
  })
  .meta({ id: 'FaultExperimentRequest' });

export type FaultExperimentRequest = z.output<typeof FaultExperimentRequest>;

/** What a problem with an experiment request says. */
export const FAULT_EXPERIMENT_PROBLEM = 'Invalid experiment';

/** Experiments run their sagas this much faster than the matrix says (1 s of backoff → 1 ms). */
const EXPERIMENT_TIME_SCALE = 0.001;
const DEADLINE_MS = 60_000;

interface Scenario {
  name: string;
  fault: TransactionFault;
  expected: 'completed' | 'compensated';
  /** Why the expected outcome shows recovery. */
  check(view: TransactionView): string | undefined;
}

/** The six fault kinds, each on a step where it tells something about recovery. */
function scenarios(flowEntry: FlowEntry): Scenario[] {
  const compensable = flowEntry.steps.filter((s) => s.compensation.operationId);
  const first = compensable[0] ?? flowEntry.steps[0]!;
  const writer = compensable.at(-1) ?? flowEntry.steps[0]!;
  const last = flowEntry.steps.at(-1)!;
  const faulted = (view: TransactionView, step: string, kind: string) => {
    const attempt = view.steps.find((s) => s.id === step)?.attemptLog[0] as { fault?: string } | undefined;
    return attempt?.fault === kind ? undefined : `the ${kind} fault was not applied to ${step}`;
  };
  const retried = (view: TransactionView, step: string, kind: string) =>
    faulted(view, step, kind) ?? ((view.steps.find((s) => s.id === step)?.attempts ?? 0) >= 2 ? undefined : `${step} was not retried`);
  return [
    { name: 'timeout', fault: { step: writer.id, kind: 'timeout', remaining: 1 }, expected: 'completed', check: (v) => retried(v, writer.id, 'timeout') },
    { name: 'error-status', fault: { step: first.id, kind: 'error-status', status: 503, remaining: 1 }, expected: 'completed', check: (v) => retried(v, first.id, 'error-status') },
    {
      name: 'partial-write',
      fault: { step: writer.id, kind: 'partial-write', remaining: 1 },
      expected: 'completed',
      check: (v) => retried(v, writer.id, 'partial-write') ?? ((v.steps.find((s) => s.id === writer.id)?.attemptLog[1] as { replayed?: boolean } | undefined)?.replayed ? undefined : 'the retry after a partial write was not answered from the first write'),
    },
    {
      name: 'delayed-event',
      fault: { step: last.id, kind: 'delayed-event', delayMs: Math.max(1, Math.floor((durationMs(last.timeout) * EXPERIMENT_TIME_SCALE) / 2)), remaining: 1 },
      expected: 'completed',
      check: (v) => faulted(v, last.id, 'delayed-event'),
    },
    { name: 'duplicate-delivery', fault: { step: first.id, kind: 'duplicate-delivery', remaining: 1 }, expected: 'completed', check: (v) => faulted(v, first.id, 'duplicate-delivery') },
    {
      name: 'validation-error',
      fault: { step: last.id, kind: 'validation-error', remaining: 1 },
      expected: 'compensated',
      check: (v) => {
        const completed = flowEntry.steps.slice(0, -1).map((s) => s.id).reverse();
        const ran = v.compensations.map((c) => c.forStep);
        return JSON.stringify(ran) === JSON.stringify(completed) ? undefined : `compensations ran for ${ran.join(', ') || 'nothing'}; expected ${completed.join(', ')}`;
      },
    },
  ];
}

/**
 * Runs a fault-injection experiment against the version the sandbox serves for `partner`:
 * one saga per fault kind (timeout, error status, partial write, delayed event, duplicate
 * delivery, validation error), each with a fault scoped to its own transaction, and checks
 * that each recovers as the control matrix says (retried to completion, or compensated in
 * reverse order). Stores the result as `failure-injection` evidence bound to the version's
 * content. Sandbox only.
 */
export async function runFaultExperiment(deps: Deps, runtime: Runtime, principal: Principal, input: FaultExperimentRequest) {
  if (deps.config.runtimeEnvironment !== 'sandbox') throw new AccordError('conflict', 'Fault-injection experiments run only in the sandbox environment');
  const { partner, api, version, flow: flowName } = input;
  const row = await findVersion(deps, partner, api, version);
  if (!row) throw new AccordError('not_found', `No contract version ${partner}/${api}@${version}`);
  const flowEntry = await runtime.routes.flow(flowName);
  if (!flowEntry) throw new AccordError('not_found', `No control-matrix flow "${flowName}"`);
  if (flowEntry.contract.api !== api) throw new AccordError('invalid_document', `Flow ${flowName} runs against ${flowEntry.contract.api}, not ${api}`);
  const served = await runtime.routes.forFlow(flowEntry, partner, semver.major(version));
  if (served?.version !== version) throw new AccordError('conflict', `The sandbox serves ${served ? `${served.version}` : 'no version'} of ${partner}/${api} v${semver.major(version)} for ${flowName}; experiments run against the served version (approve or release ${version} first)`);
  const example = requestExample(served.operations.get(flowEntry.steps[0]!.operationId));
  if (!example) throw new AccordError('invalid_document', `${partner}/${api} ${version} has no request example for ${flowEntry.steps[0]!.operationId}; the experiment uses it as the flow input`);
  const flowStart = flowInput(flowEntry.steps[0]!.operationId, example);
  if (!flowStart) throw new AccordError('invalid_document', `Flow ${flowName} starts with ${flowEntry.steps[0]!.operationId}, which needs the outputs of earlier steps (an export job); run the experiment on a flow that starts with memberMatch or captureConsent, e.g. payer-data-export`);

  const id = `fx_${randomBytes(8).toString('hex')}`;
  const list = scenarios(flowEntry);
  const started: Array<{ scenario: Scenario; transactionId: string }> = [];
  for (const scenario of list) {
    const body = { flow: flowName, partner, major: semver.major(version), input: flowStart };
    const result = await runtime.engine.start(
      principal,
      { body, rawBody: JSON.stringify(body), idempotencyKey: `${id}:${scenario.name}`, correlationId: `${id}.${scenario.name}`, traceparent: undefined, tracestate: undefined },
      { timeScale: EXPERIMENT_TIME_SCALE, faults: [scenario.fault] },
    );
    started.push({ scenario, transactionId: result.id! });
  }
  await runtime.engine.settled(started.map((s) => s.transactionId), DEADLINE_MS);
  const results = await Promise.all(started.map(async ({ scenario, transactionId }) => {
    const view = await loadTransactionView(deps.db, deps.config, (await deps.db.select().from(transactions).where(eq(transactions.id, transactionId)).get())!);
    const problem = view.state !== scenario.expected ? `ended ${view.state}, expected ${scenario.expected}` : scenario.check(view);
    return { name: scenario.name, fault: scenario.fault, expected: scenario.expected, state: view.state, passed: !problem, ...(problem ? { detail: problem } : {}), transactionId, link: absoluteUrl(deps.config, `/v1/transactions/${transactionId}`) };
  }));
  const failed = results.filter((r) => !r.passed).length;
  const producedAt = deps.clock().toISOString();
  const evidence: EvidenceView = await addEvidence(deps, principal, {
    partner,
    api,
    version,
    kind: 'failure-injection',
    result: failed === 0 ? 'pass' : 'fail',
    sha256: row.sha256,
    uri: `urn:accord:fault-experiment:${id}`,
    environment: deps.config.runtimeEnvironment,
    commit: row.commit,
    producedAt,
  });
  deps.logger.info({ experiment: id, partner, api, version, flow: flowName, failed }, 'fault-injection experiment finished');
  return { id, partner, api, version, flow: flowName, result: failed === 0 ? 'pass' : 'fail', scenarios: results, evidence };
}
