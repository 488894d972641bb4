import { LOCKS } from '../../db/locks.ts';
import type { Principal } from '../../auth/principal.ts';
import type { Deps } from '../../deps.ts';
import type { FlowEntry, Step } from '../../matrix/checks.ts';
import { newTransactionId } from '../ids.ts';
import { governingMatrix } from '../route-table.ts';
import { classify, failureAction } from '../saga/policy.ts';
import type { TransactionState } from '../saga/states.ts';
import type { AttemptRecord } from '../saga/timeline.ts';

/** A direct request of a flow's operation, answered at once: what its one-step transaction records (see recordDirectRequest). */
export interface DirectRequestRecord {
  flowEntry: FlowEntry;
  step: Step;
  partner: string;
  api: string;
  version: string;
  operationId: string;
  status: number;
  correlationId: string;
  idempotencyKey: string | undefined;
  traceId: string;
  spanId: string;
  tracestate: string | undefined;
  principal: Principal;
  startedAt: Date;
  latencyMs: number;
  fault: string | undefined;
  /** The flow's business key from the request body (businessKeyOf), if any. */
  businessKey?: string | null;
}

/** Where a recorded direct request ended: its transaction's state, and its step's outcome (the step-duration label). */
export interface RecordedDirectRequest {
  state: TransactionState;
  stepOutcome: string;
}

/**
 * Records a direct request of a flow's operation as a transaction in its final state
 * (completed on 2xx; otherwise what the flow's failure mode says), with its one step and an
 * outbox event. Runs inside the request's database transaction, so the record exists exactly
 * when the effect does; `GET /v1/transactions/{correlation id or key}` finds it.
 */
export async function recordDirectRequest(deps: Pick<Deps, 'db' | 'clock'>, r: DirectRequestRecord): Promise<RecordedDirectRequest> {
  const outcome = classify(r.operationId, 'POST', r.status, 'answered');
  const state: TransactionState = outcome.kind === 'succeeded' ? 'completed' : failureAction(r.flowEntry, outcome.failureMode) === 'needs-attention' ? 'needs-attention' : 'compensated';
  const now = deps.clock().toISOString();
  const id = newTransactionId();
  const failure = outcome.kind === 'succeeded' ? null : JSON.stringify({ step: r.step.id, operationId: r.operationId, failureMode: outcome.failureMode, status: r.status, detail: outcome.detail, action: r.flowEntry.failureModes[outcome.failureMode ?? '']?.action });
  const attempt: AttemptRecord = { n: 1, startedAt: r.startedAt.toISOString(), endedAt: now, latencyMs: Math.round(r.latencyMs), status: r.status, result: 'answered', spanId: r.spanId, ...(r.fault ? { fault: r.fault } : {}) };
  const syncStep = {
    id: r.step.id,
    operation: r.operationId,
    state: outcome.kind === 'succeeded' ? 'succeeded' : 'failed',
    attempts: 1,
    startedAt: attempt.startedAt,
    endedAt: now,
    latencyMs: attempt.latencyMs,
    outcome: { status: r.status, result: outcome.kind === 'succeeded' ? 'answered' : outcome.result, ...(outcome.failureMode ? { failureMode: outcome.failureMode } : {}) },
    attemptLog: [attempt],
  };
  const matrix = governingMatrix(r.flowEntry);
  // One row: the transaction, its step and (read by rowid) its outbox record.
  await deps.db.$sql.run(deps.db.$dialect === 'postgres' ? INSERT_FENCED : INSERT, {
    id,
    flow: r.flowEntry.flow,
    partner: r.partner,
    api: r.api,
    version: r.version,
    state,
    correlationId: r.correlationId,
    idempotencyKey: r.idempotencyKey ?? null,
    traceId: r.traceId,
    tracestate: r.tracestate ?? null,
    caller: r.principal.tokenId,
    callerPartner: r.principal.partner,
    syncStep: JSON.stringify(syncStep),
    failure,
    now,
    finishedAt: state === 'needs-attention' ? null : now,
    businessKey: r.businessKey ?? null,
    matrixVersion: matrix?.version ?? null,
    matrixSha256: matrix?.sha256 ?? null,
  });
  return { state, stepOutcome: outcome.kind === 'retry' ? 'failed' : outcome.kind };
}

/** Counts a recorded direct request (after its commit: recording may run twice, counting must not). */
export function countDirectRequest(metrics: Deps['metrics'], r: Pick<DirectRequestRecord, 'partner' | 'flowEntry' | 'step' | 'latencyMs'>, recorded: RecordedDirectRequest): void {
  metrics.requestsInitiated.inc({ partner: r.partner, flow: r.flowEntry.flow });
  metrics.transactionsFinished.inc({ partner: r.partner, flow: r.flowEntry.flow, state: recorded.state });
  metrics.stepDuration.observe({ partner: r.partner, flow: r.flowEntry.flow, step: r.step.id, outcome: recorded.stepOutcome }, r.latencyMs / 1000);
}

const COLUMNS = 'id, flow, partner, api, version, state, phase, cursor, correlation_id, idempotency_key, trace_id, tracestate, caller_token_id, caller_partner, mode, input, plan, context, sync_step, failure, time_scale_ppm, created_at, updated_at, finished_at, business_key, matrix_version, matrix_sha256';
const VALUES = "@id, @flow, @partner, @api, @version, @state, 'forward', 1, @correlationId, @idempotencyKey, @traceId, @tracestate, @caller, @callerPartner, 'sync', '{}', '{}', '{}', @syncStep, @failure, 1000000, @now, @now, @finishedAt, @businessKey, @matrixVersion, @matrixSha256";
const INSERT = `INSERT INTO transactions (${COLUMNS}) VALUES (${VALUES})`;
/**
 * PostgreSQL: the same insert, holding the outbox fence (shared) from before its rowid is drawn
 * until its transaction ends, in the one statement: the outbox publisher, taking the fence
 * exclusively, then knows every rowid drawn so far is committed or gone (see outbox.ts).
 */
const INSERT_FENCED = `INSERT INTO transactions (${COLUMNS}) SELECT ${VALUES} FROM (SELECT pg_advisory_xact_lock_shared(${LOCKS.outboxFence})) AS fence`;
