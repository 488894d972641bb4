import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Principal } from '../../auth/principal.ts';
import type { Deps } from '../../deps.ts';
import { transactions, transactionSteps } from '../../db/index.ts';
import { AccordError, type FieldError } from '../../errors.ts';
import { isObject, nestedDeeperThan, ownValue, type Json } from '../../lib/json.ts';
import { absoluteUrl } from '../../lib/public-url.ts';
import { MAX_DEPTH } from '../../lib/yaml.ts';
import type { FlowEntry } from '../../matrix/checks.ts';
import { durationMs } from '../../matrix/durations.ts';
import type { SlaMonitor } from '../../observability/sla.ts';
import { parameterErrors } from '../contract-check.ts';
import { insertFault, type TransactionFault } from '../faults.ts';
import { planRequest, type FlowContext } from '../flow-requests.ts';
import { newTransactionId, timeOrderedUuid } from '../ids.ts';
import type { IdempotencyStore } from '../idempotency.ts';
import { appendEvent } from '../outbox.ts';
import { businessKeyOf } from '../business-key.ts';
import { governingMatrix, type Route, type RouteTable } from '../route-table.ts';
import { traceContext, validCorrelation } from '../trace-context.ts';
import { loadTransactionView, type TransactionRow } from '../transaction-views.ts';
import { requestErrors } from './partner-call.ts';
import { pendingStep } from './timeline.ts';

const INPUT_RULE = 'must be the flow input object (for the reference flow: the $member-match Parameters as memberMatch, optional groupId)';
const MAJOR_RULE = 'must be a major version number';

/** The body of POST /v1/transactions: a flow, the partner it runs against, its input, optionally a major version. */
export const TransactionRequest = z
  .object({
    flow: z.string({ error: 'must name a control-matrix flow' }),
    partner: z.string({ error: 'must name the partner the flow runs against' }),
    // Taken as sent (a record schema would drop keys such as __proto__ from what is stored and run).
    input: z
      .custom<Record<string, unknown>>(isObject, { error: INPUT_RULE })
      .refine((input) => !nestedDeeperThan(input, MAX_DEPTH), `is nested deeper than ${MAX_DEPTH} levels`)
      .meta({
        type: 'object',
        additionalProperties: true,
        properties: { memberMatch: { type: 'object', properties: { resourceType: { const: 'Parameters' }, parameter: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } }, additionalProperties: true } } }, additionalProperties: true, description: 'A FHIR `Parameters` resource, as the partner’s `$member-match` takes it' }, groupId: { type: 'string' } },
        description: 'The first step’s input, as the flow’s steps read it (the reference flow: { memberMatch: <$member-match Parameters>, groupId? })',
      }),
    major: z.number({ error: MAJOR_RULE }).int(MAJOR_RULE).min(0, MAJOR_RULE).optional().meta({ description: 'The major version to run against (default: the newest the flow allows)' }),
  })
  .meta({ id: 'TransactionRequest' });

export type TransactionRequest = z.output<typeof TransactionRequest>;

/** What a problem with a transaction request says. */
export const TRANSACTION_REQUEST_PROBLEM = 'The transaction request is invalid';

/** A new saga transaction's request (POST /v1/transactions): its parsed body and exact text, and its headers. */
export interface StartRequest {
  body: TransactionRequest;
  rawBody: string;
  idempotencyKey: string | undefined;
  correlationId: string | undefined;
  traceparent: string | undefined;
  tracestate: string | undefined;
}

/** How a start went: the answer (202 and the transaction's view, or the replay of the first answer) and the transaction's id. */
export interface Started {
  status: number;
  body: string;
  /** Location and X-Correlation-Id, as stored with the answer (a replay gets the first answer's). */
  headers: Record<string, string>;
  replayed: boolean;
  id: string | undefined;
}

/** What starting needs besides the request: the routes and SLA state it checks, the key store, and per-start options. */
export interface StartContext {
  routes: RouteTable;
  sla: SlaMonitor;
  idempotency: IdempotencyStore;
  /** Waits shrink by this factor (default: the configured saga time scale). */
  timeScale?: number;
  /** Faults for this transaction only (fault experiments). */
  faults?: TransactionFault[];
}

/**
 * Starts a flow for a partner (Idempotency-Key required, IETF semantics as on the exchange):
 * checks the flow, the partner's served contract and the first step's request, stores the
 * transaction as `initiated` with its pending steps and answers 202. Repeats replay the first
 * answer. The caller runs the transaction.
 */
export async function startTransaction(deps: Deps, start: StartContext, principal: Principal, request: StartRequest): Promise<Started> {
  const { body } = request;
  const flowEntry = await start.routes.flow(body.flow);
  if (!flowEntry) throw new AccordError('not_found', `No control-matrix flow "${body.flow}"`);
  const partner = body.partner;
  const retryAfter = start.sla.throttled(flowEntry.flow, partner);
  if (retryAfter !== undefined) throw new AccordError('too_many_requests', `${flowEntry.flow} at ${partner} is throttled by an SLA intervention (GET /v1/sla); retry later`, { retryAfterSeconds: retryAfter });
  const served = await start.routes.forFlow(flowEntry, partner, body.major);
  if (!served) throw new AccordError('not_found', `${partner} serves no ${flowEntry.contract.api} version in ${flowEntry.contract.versions}${body.major !== undefined ? ` with major ${body.major}` : ''} for flow ${flowEntry.flow}`);
  const missing = flowEntry.steps.flatMap((s) => [s.operationId, s.compensation.operationId]).filter((op): op is string => Boolean(op) && !served.operations.has(op!));
  if (missing.length > 0) throw new AccordError('invalid_document', `${partner}/${flowEntry.contract.api} ${served.version} lacks operations the flow needs: ${missing.join(', ')}`);
  const input = body.input as Json;
  const first = flowEntry.steps[0]!;
  const firstRequest = planRequest(first.operationId, input, {}, 'xch-check', deps.clock());
  if (!firstRequest) throw new AccordError('invalid_document', `The reference runtime cannot run flow ${flowEntry.flow}: it has no request for ${first.operationId}`);
  const invalid = requestErrors(served.operations.get(first.operationId)!, firstRequest, 'check');
  if (invalid.length > 0) throw new AccordError('bad_request', `The input does not make a valid ${first.operationId} request for ${partner}/${flowEntry.contract.api} ${served.version}`, { errors: invalid.map((e) => ({ ...e, location: `/input/${e.location}` })) });
  const later = laterInputErrors(flowEntry, served.operations, input, deps.clock());
  if (later.length > 0) throw new AccordError('bad_request', `The input does not make valid requests for the flow's later steps at ${partner}/${flowEntry.contract.api} ${served.version}`, { errors: later });
  const headerName = flowEntry.idempotency.keySource.header ?? 'Idempotency-Key';
  const key = request.idempotencyKey;
  if (!key || key.length > 255) throw new AccordError('bad_request', `Send an ${headerName} header (at most 255 characters): starting a flow is idempotent`);

  const now = deps.clock();
  const id = newTransactionId();
  const matrix = governingMatrix(flowEntry);
  const scope = `${principal.tokenId}|POST /v1/transactions`;
  const fingerprint = createHash('sha256').update(request.rawBody).digest('hex');
  const correlationId = validCorrelation(request.correlationId) ?? timeOrderedUuid();
  const trace = traceContext(request.traceparent);
  const outcome = await deps.db.transaction(async (dbTx) => {
    const claim = await start.idempotency.claim(scope, key, fingerprint, durationMs(flowEntry.idempotency.dedupeWindow), 30_000);
    if (claim.kind !== 'proceed') return claim;
    const row: TransactionRow = {
      id,
      flow: flowEntry.flow,
      partner,
      api: flowEntry.contract.api,
      version: served.version,
      state: 'initiated',
      phase: 'forward',
      cursor: 0,
      operatorAction: null,
      correlationId,
      idempotencyKey: key,
      traceId: trace.traceId,
      tracestate: trace.valid ? (request.tracestate ?? null) : null,
      callerTokenId: principal.tokenId,
      callerPartner: principal.partner,
      mode: 'saga',
      input: JSON.stringify(input),
      plan: JSON.stringify(flowEntry),
      context: '{}',
      syncStep: null,
      failure: null,
      timeScale: Math.round((start.timeScale ?? deps.config.sagaTimeScale) * 1_000_000),
      nextRunAt: null,
      // The replica that starts a saga drives it: its lease is taken with the row.
      leaseOwner: deps.config.replicaId,
      leaseUntil: now.getTime() + deps.config.leaseMs,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      finishedAt: null,
      businessKey: businessKeyOf(flowEntry, firstRequest.body),
      matrixVersion: matrix?.version ?? null,
      matrixSha256: matrix?.sha256 ?? null,
    };
    await dbTx.insert(transactions).values(row).run();
    for (const [position, s] of flowEntry.steps.entries()) await dbTx.insert(transactionSteps).values(pendingStep(row, 'forward', s.id, position, s.operationId)).run();
    // Faults for this transaction only (fault experiments), in place before its first step.
    for (const fault of start.faults ?? []) await insertFault(dbTx, principal, { ...fault, partner, transactionId: id }, deps.clock());
    await appendEvent(dbTx, row, row.createdAt, 'transaction.initiated', { to: 'initiated', data: { flow: flowEntry.flow, partner, version: served.version, idempotencyKey: key } });
    const view = await loadTransactionView(dbTx, deps.config, row);
    const responseBody = JSON.stringify(view);
    const headers = { Location: absoluteUrl(deps.config, `/v1/transactions/${id}`), 'X-Correlation-Id': correlationId };
    await start.idempotency.complete(scope, key, { status: 202, headers, body: responseBody });
    return { kind: 'created' as const, body: responseBody, headers };
  });
  if (outcome.kind === 'mismatch') throw new AccordError('invalid_document', `This ${headerName} was used with a different request`);
  if (outcome.kind === 'in-flight') throw new AccordError('conflict', `A request with this ${headerName} is still being processed; retry later`);
  if (outcome.kind === 'replay') {
    // A replayed start is a duplicate like a replayed direct request (duplicate rate, operations overview).
    deps.metrics.duplicates.inc({ partner, flow: flowEntry.flow, outcome: 'replayed' });
    return { status: outcome.status, body: outcome.body, headers: outcome.headers, replayed: true, id: (JSON.parse(outcome.body) as { id?: string }).id };
  }
  deps.metrics.requestsInitiated.inc({ partner, flow: flowEntry.flow });
  deps.logger.info({ transactionId: id, correlationId, traceId: trace.traceId, flow: flowEntry.flow, partner }, 'transaction initiated');
  return { status: 202, body: outcome.body, headers: outcome.headers, replayed: false, id };
}

/**
 * Path parameters of later steps that come from the input (e.g. the export's groupId), checked
 * before anything runs. A parameter comes from the input when it is the same whatever the
 * earlier steps answered (planned with two different stand-in contexts).
 */
function laterInputErrors(flowEntry: FlowEntry, operations: Map<string, Route>, input: Json, now: Date): FieldError[] {
  const standIn = (v: string): FlowContext => ({ memberId: v, memberSystem: v, consentId: v, jobId: v });
  return flowEntry.steps.slice(1).flatMap((step) => {
    const route = operations.get(step.operationId);
    const a = planRequest(step.operationId, input, standIn('stand-in-a'), 'xch-a', now);
    const b = planRequest(step.operationId, input, standIn('stand-in-b'), 'xch-b', now);
    if (!route || !a || !b) return [];
    const fromInput = Object.keys(a.params).filter((name) => a.params[name] === b.params[name]);
    return parameterErrors(route, (where, name) => (where === 'path' && fromInput.includes(name) ? (ownValue(a.params, name) as string | undefined) : undefined))
      .filter((e) => fromInput.some((name) => e.location === `path.${name}` || e.location.startsWith(`path.${name}/`)))
      .map((e) => ({ location: `/input/${step.id}/${e.location}`, message: e.message }));
  });
}
