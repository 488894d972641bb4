import { performance } from 'node:perf_hooks';
import semver from 'semver';
import type { Deps } from '../../deps.ts';
import type { FieldError } from '../../errors.ts';
import { ownValue, type Json } from '../../lib/json.ts';
import { absoluteUrl } from '../../lib/public-url.ts';
import type { FlowEntry, Step } from '../../matrix/checks.ts';
import { durationMs } from '../../matrix/durations.ts';
import { bodyErrors, parameterErrors, responseErrors } from '../contract-check.ts';
import { takeFault } from '../faults.ts';
import { planRequest, type FlowContext, type StepRequest } from '../flow-requests.ts';
import { callPartner, type HandlerResult } from '../handlers.ts';
import { exchangeId } from '../ids.ts';
import type { Route } from '../route-table.ts';
import { newSpanId } from '../trace-context.ts';
import type { TransactionRow } from '../transaction-views.ts';
import { classify, type Outcome } from './policy.ts';
import type { AttemptRecord } from './timeline.ts';

/** A prepared partner call: `effect` makes the call inside the attempt's database transaction and fills in outcome, record and result. */
export interface StepCall {
  outcome: Outcome;
  record: AttemptRecord;
  result?: HandlerResult;
  effect?: () => Promise<void>;
}

/** Which call of a step: its operation, the route that serves it (undefined when no longer served), its request key and what the flow knows so far. */
export interface StepCallTarget {
  step: Step;
  operationId: string;
  route: Route | undefined;
  requestKey: string;
  context: FlowContext;
}

/** Contract errors of a planned request: path parameters, headers the engine sends, body. */
export function requestErrors(route: Route, request: StepRequest, requestKey: string): FieldError[] {
  const headers: Record<string, string> = { 'idempotency-key': requestKey.padEnd(8, '-') };
  const errors = parameterErrors(route, (where, name) => (where === 'path' ? ownValue(request.params, name) : where === 'header' ? ownValue(headers, name.toLowerCase()) : undefined) as string | undefined);
  const content = route.op.operation.requestBody?.content as Json | undefined;
  if (content) {
    const media = Object.keys(content)[0]!;
    if (request.body === undefined) errors.push({ location: 'body', message: 'is required' });
    else for (const e of bodyErrors(route, media, request.body)) errors.push(e);
  }
  return errors;
}

/**
 * Calls one partner operation for a step of a transaction, with any injected fault applied.
 * The partner's write is returned as `effect`, to run inside the attempt's database
 * transaction. `wait` sleeps through a partner's (injected) slowness.
 */
export async function callStep(deps: Deps, transaction: TransactionRow, flowEntry: FlowEntry, target: StepCallTarget, wait: (ms: number) => Promise<void>): Promise<StepCall> {
  const { step, operationId, route, requestKey, context } = target;
  const startedAt = deps.clock();
  const t0 = performance.now();
  const spanId = newSpanId();
  const finish = (outcome: Outcome, extra: Partial<AttemptRecord> = {}): StepCall => ({
    outcome,
    record: { n: 0, startedAt: startedAt.toISOString(), endedAt: deps.clock().toISOString(), latencyMs: Math.round(performance.now() - t0), status: outcome.status, result: outcome.result, spanId, ...extra },
  });
  if (!route) return finish({ kind: 'failed', status: null, result: 'not-served', failureMode: 'downstream-validation-error', detail: `${transaction.partner} no longer serves ${operationId} in ${flowEntry.contract.api} v${semver.major(transaction.version)}` });
  const request = planRequest(operationId, JSON.parse(transaction.input) as Json, context, exchangeId(transaction.id), startedAt);
  const invalid = request ? requestErrors(route, request, requestKey) : [{ location: '', message: `no request builder for ${operationId}` }];
  if (invalid.length > 0) return finish({ kind: 'failed', status: null, result: 'invalid-request', failureMode: 'downstream-validation-error', detail: `The request does not match the contract: ${invalid.map((e) => `${e.location} ${e.message}`).join('; ')}` });
  // A compensation is addressed by its operation (cancelExport), a forward step by its id or operation.
  const fault = await takeFault(deps, { partner: transaction.partner, flow: transaction.flow, step: operationId === step.operationId ? step.id : undefined, operationId, transactionId: transaction.id });
  const timeoutMs = durationMs(step.timeout) * (transaction.timeScale / 1_000_000);
  const extra = { ...(fault ? { fault: fault.kind } : {}) };
  if (fault?.kind === 'timeout') {
    await wait(timeoutMs);
    return finish({ kind: 'retry', status: null, result: 'timeout', failureMode: 'partner-timeout', detail: `no answer within ${step.timeout}`, mayHaveActed: true }, extra);
  }
  if (fault?.kind === 'error-status' || fault?.kind === 'validation-error') {
    const status = fault.status ?? 503;
    return finish(classify(operationId, route.method, status, `injected ${fault.kind} ${status}`), extra);
  }
  let timedOut = false;
  if (fault?.kind === 'delayed-event') {
    timedOut = fault.delayMs! > timeoutMs;
    await wait(Math.min(fault.delayMs!, timeoutMs));
  }
  const partnerCall = {
    partner: transaction.partner,
    operationId,
    params: request!.params,
    body: request!.body ?? {},
    base: absoluteUrl(deps.config, `/exchange/${transaction.partner}/${transaction.api}/v${semver.major(transaction.version)}`),
    caller: { partner: transaction.callerPartner, tokenId: transaction.callerTokenId },
    requestKey: route.method === 'GET' || route.method === 'HEAD' ? undefined : requestKey,
  };
  let result: HandlerResult & { replayed: boolean } = { status: 0, body: null, replayed: false };
  const effect = async () => {
    const now = deps.clock();
    result = await callPartner(deps, { ...partnerCall, now });
    // The partner receives the same request twice; its request key makes the second a replay.
    if (fault?.kind === 'duplicate-delivery') result = await callPartner(deps, { ...partnerCall, now });
  };
  // The effect runs in the attempt's database transaction; classify lazily once it has run.
  const record: AttemptRecord = { n: 0, startedAt: startedAt.toISOString(), endedAt: '', latencyMs: 0, status: null, result: '', spanId, ...extra };
  const outcome: Outcome = { kind: 'failed', status: null, result: '' };
  const resolve = () => {
    const drift = result.body !== null || result.status ? responseErrors(route, result.status, result.body) : [];
    if (drift.length > 0) {
      deps.metrics.schemaDrift.inc({ partner: transaction.partner, operation: operationId });
      deps.logger.warn({ failureMode: 'schema-drift', transactionId: transaction.id, correlationId: transaction.correlationId, traceId: transaction.traceId, partner: transaction.partner, flow: transaction.flow, step: step.id, operationId, status: result.status, errors: drift.slice(0, 5) }, 'partner answer does not match the contract');
    }
    let o: Outcome;
    if (timedOut) o = { kind: 'retry', status: null, result: 'timeout', failureMode: 'partner-timeout', detail: `the answer came after ${step.timeout}`, mayHaveActed: true };
    else if (fault?.kind === 'partial-write') o = { kind: 'retry', status: 500, result: 'partial-write', failureMode: 'partial-write', detail: 'the partner wrote but answered 500', mayHaveActed: true };
    else o = classify(operationId, route.method, result.status, 'answered');
    Object.assign(outcome, o);
    Object.assign(record, { endedAt: deps.clock().toISOString(), latencyMs: Math.round(performance.now() - t0), status: o.status, result: o.result, ...(result.replayed ? { replayed: true } : {}), ...(drift.length > 0 ? { drift: drift.slice(0, 5) } : {}) });
  };
  const call: StepCall = {
    outcome,
    record,
    effect: async () => {
      await effect();
      call.result = result;
      resolve();
    },
  };
  return call;
}
