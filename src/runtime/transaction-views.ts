import { and, asc, desc, eq, gte, inArray, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import { keyAfter, keyOrder, pageOf, type KeyPart, type KeyValue } from '../lib/pages.ts';
import { z } from 'zod';
import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { compensationApprovals, transactionEvents, transactions, transactionSteps } from '../db/index.ts';
import { AccordError } from '../errors.ts';
import { durationMs } from '../matrix/durations.ts';
import { DURATION_PATTERN } from '../matrix/schema.ts';
import { TERMINAL_STATES, TRANSACTION_STATES, type TransactionState } from './saga/states.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import { normaliseBusinessKey } from './business-key.ts';

export type TransactionRow = typeof transactions.$inferSelect;
type Reader = Pick<Deps['db'], 'select'>;

function visible(principal: Principal, row: TransactionRow): boolean {
  return principal.role !== 'partner' || row.callerPartner === principal.partner || row.partner === principal.partner;
}

/** Where a transaction is now, in one sentence an operator can act on. */
function whereNow(row: TransactionRow, steps: Array<{ kind: string; stepId: string; position: number; attempts: number; state: string }>, total: number, call?: CallInProgress, awaitingStep?: string): string {
  const failure = row.failure ? (JSON.parse(row.failure) as { step?: string; detail?: string; compensation?: boolean }) : undefined;
  const state = row.state as TransactionState;
  if (state === 'completed') return `completed at ${row.finishedAt}`;
  if (state === 'compensated') return `compensated at ${row.finishedAt}${failure ? ` after ${failure.step} failed: ${failure.detail}` : ''}`;
  if (row.operatorAction === 'retry' || row.operatorAction === 'compensate') return `operator ${row.operatorAction} requested; waiting for the engine to pick it up`;
  if (state === 'needs-attention' && row.mode === 'sync') return `waiting for an operator's review: ${failure?.step ?? 'the request'} failed: ${failure?.detail ?? 'unknown'}; it had no effect to undo, so POST /v1/transactions/${row.id}/compensate closes it (the caller re-sends to try again)`;
  if (state === 'awaiting-approval') return `compensation of ${steps.find((s) => s.kind === 'compensation' && s.position === row.cursor)?.stepId ?? `step ${row.cursor + 1}`} awaits an operator's approval (POST /v1/transactions/${row.id}/compensations/{step}/approve or /reject)`;
  // An operator's compensate of a transaction needing attention that reached an approval step (ADR 0023): the decision comes first.
  if (state === 'needs-attention' && awaitingStep) return `compensation of ${awaitingStep} awaits an operator's approval (POST /v1/transactions/${row.id}/compensations/${awaitingStep}/approve or /reject); retry and compensate wait for that decision`;
  if (state === 'needs-attention' && !row.operatorAction) return `waiting for an operator (POST /v1/transactions/${row.id}/retry or /compensate): ${failure?.compensation ? 'compensation of ' : ''}${failure?.step ?? 'a step'} failed: ${failure?.detail ?? 'unknown'}`;
  if (call) {
    const attempts = steps.find((st) => st.stepId === call.stepId && st.kind === (call.compensation ? 'compensation' : 'forward'))?.attempts ?? 0;
    const label = call.compensation ? `compensating ${call.stepId}` : `step ${row.cursor + 1}/${total} ${call.stepId}`;
    return `${label}: attempt ${attempts + 1} waiting for ${row.partner}'s answer since ${call.since}`;
  }
  if (state === 'initiated' || state === 'accepted') return `${state}; the first step has not started yet`;
  const kind = row.phase === 'forward' ? 'forward' : 'compensation';
  const current = steps.find((s) => s.kind === kind && s.position === row.cursor);
  const operator = row.operatorAction ? ` (operator ${row.operatorAction === 'retrying' ? 'retry' : 'compensation'})` : '';
  const label = row.phase === 'forward' ? `step ${row.cursor + 1}/${total} ${current?.stepId ?? ''}` : `compensating ${current?.stepId ?? `step ${row.cursor + 1}`}`;
  if (row.nextRunAt) return `${label}${operator}: attempt ${(current?.attempts ?? 0) + 1} due at ${row.nextRunAt}`;
  return `${label}${operator}: running`;
}

type StepRow = typeof transactionSteps.$inferSelect;

/** One step (or compensation) of the timeline. */
export interface StepView {
  id: string;
  operation: string;
  state: string;
  attempts: number;
  startedAt: string | null;
  endedAt: string | null;
  latencyMs: number | null;
  outcome: unknown;
  attemptLog: unknown[];
}

function stepView(s: StepRow): StepView {
  return {
    id: s.stepId,
    operation: s.operation,
    state: s.state,
    attempts: s.attempts,
    startedAt: s.startedAt,
    endedAt: s.endedAt,
    latencyMs: s.latencyMs,
    outcome: s.outcome ? (JSON.parse(s.outcome) as unknown) : null,
    attemptLog: JSON.parse(s.attemptLog) as unknown[],
  };
}

/** A partner call the engine has out right now (it is written only when it ends). */
export interface CallInProgress {
  stepId: string;
  operation: string;
  compensation: boolean;
  since: string;
}

/** The full picture of one transaction: state, steps with their attempts, compensations, events and where it is now. */
export async function loadTransactionView(db: Reader, config: Pick<Deps['config'], 'publicUrl'>, row: TransactionRow, call?: CallInProgress) {
  const steps = await db.select().from(transactionSteps).where(eq(transactionSteps.transactionId, row.id)).orderBy(asc(transactionSteps.position)).all();
  const events = (await db
    .select()
    .from(transactionEvents)
    .where(eq(transactionEvents.transactionId, row.id))
    .orderBy(asc(transactionEvents.seq))
    .all())
    .map((e) => ({ seq: e.seq as number | null, type: e.type, from: e.fromState, to: e.toState, step: e.stepId, at: e.createdAt, data: withoutToken(JSON.parse(e.data) as Record<string, unknown>) }));
  const forward = steps.filter((s) => s.kind === 'forward');
  if (row.syncStep) {
    // A direct request: its one step and its outbox record live in the row itself (an operator's close is an event).
    return {
      ...header(row, 1, []),
      steps: [JSON.parse(row.syncStep) as StepView],
      compensations: [] as Array<StepView & { forStep: string }>,
      events: [{ seq: null, type: 'transaction.recorded', from: null, to: row.state, step: null, at: row.createdAt, data: {} }, ...events],
      links: links(config, row),
    };
  }
  // Compensations in the order they ran (reverse step order).
  const compensations = steps.filter((s) => s.kind === 'compensation').sort((a, b) => b.position - a.position);
  const running = (view: StepView, kind: string, stepId: string): StepView =>
    call && call.stepId === stepId && call.compensation === (kind === 'compensation') && view.state === 'pending' ? { ...view, state: 'running', startedAt: call.since } : view;
  const pending = (stepId: string, compensation: boolean) => !steps.some((s) => s.stepId === stepId && s.kind === (compensation ? 'compensation' : 'forward'));
  // A compensation awaits approval in that state, or in needs-attention (an operator's compensate, ADR 0023).
  const awaiting = row.state === 'awaiting-approval' || row.state === 'needs-attention' ? await awaitingApprovalStep(db, row.id) : undefined;
  return {
    ...header(row, forward.length, steps, call, awaiting),
    steps: forward.map((s) => running(stepView(s), 'forward', s.stepId)),
    compensations: [
      ...compensations.map((s) => ({ forStep: s.stepId, ...running(stepView(s), 'compensation', s.stepId) })),
      // A compensation's row is written when its first attempt ends; the one out now shows as running.
      ...(call?.compensation && pending(call.stepId, true)
        ? [{ forStep: call.stepId, id: call.stepId, operation: call.operation, state: 'running', attempts: 0, startedAt: call.since, endedAt: null, latencyMs: null, outcome: null, attemptLog: [] }]
        : []),
    ],
    events,
    links: links(config, row),
  };
}

/** An operator event's data without the operator's token id (kept for four-eyes checks, not shown). */
function withoutToken(data: Record<string, unknown>): unknown {
  if (!('byToken' in data)) return data;
  const { byToken: _token, ...rest } = data;
  return rest;
}

function links(config: Pick<Deps['config'], 'publicUrl'>, row: TransactionRow) {
  const self = absoluteUrl(config, `/v1/transactions/${row.id}`);
  return { self, retry: `${self}/retry`, compensate: `${self}/compensate` };
}

/** The step whose compensation awaits an operator's approval, if one does (retry and compensate wait for that decision). */
export async function awaitingApprovalStep(db: Reader, transactionId: string): Promise<string | undefined> {
  const row = await db.select({ stepId: compensationApprovals.stepId }).from(compensationApprovals).where(and(eq(compensationApprovals.transactionId, transactionId), eq(compensationApprovals.status, 'awaiting'))).limit(1).get();
  return row?.stepId;
}

function header(row: TransactionRow, total: number, steps: Parameters<typeof whereNow>[1], call?: CallInProgress, awaitingStep?: string) {
  return {
    id: row.id,
    flow: row.flow,
    partner: row.partner,
    api: row.api,
    version: row.version,
    mode: row.mode,
    state: row.state,
    phase: row.phase,
    where: whereNow(row, steps, total, call, awaitingStep),
    awaitingApproval: awaitingStep ?? null,
    correlationId: row.correlationId,
    idempotencyKey: row.idempotencyKey,
    traceId: row.traceId,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    finishedAt: row.finishedAt,
    nextRunAt: row.nextRunAt,
    failure: row.failure ? (JSON.parse(row.failure) as unknown) : null,
    businessKey: row.businessKey,
    matrixVersion: row.matrixVersion,
    matrixSha256: row.matrixSha256,
  };
}

export type TransactionView = Awaited<ReturnType<typeof loadTransactionView>>;

/**
 * Finds a transaction by id, correlation id, idempotency key or business key (the caller's own newest first,
 * else the newest the caller may see: a key shared by several resolves to the newest, the list's `q` shows them all); 404 otherwise. Partner tokens see only transactions they started or that run against them.
 */
export async function findTransaction(deps: Pick<Deps, 'db'>, principal: Principal, ref: string): Promise<TransactionRow> {
  const rows = (await deps.db
    .select()
    .from(transactions)
    .where(or(eq(transactions.id, ref), eq(transactions.correlationId, ref), eq(transactions.idempotencyKey, ref), eq(transactions.businessKey, normaliseBusinessKey(ref))))
    .orderBy(desc(transactions.createdAt))
    .limit(50)
    .all())
    .filter((r) => visible(principal, r));
  // An id is unique; a key is scoped to its caller, so the caller's own use of it comes first.
  const row = rows.find((r) => r.id === ref) ?? rows.find((r) => r.callerTokenId === principal.tokenId) ?? rows[0];
  if (!row) throw new AccordError('not_found', `No transaction with id, correlation id, idempotency key or business key "${ref}"`);
  return row;
}

/** GET /v1/transactions/{ref}. */
export async function getTransaction(deps: Pick<Deps, 'db' | 'config'>, principal: Principal, ref: string, inCall: (id: string) => CallInProgress | undefined = () => undefined): Promise<TransactionView> {
  const row = await findTransaction(deps, principal, ref);
  return await loadTransactionView(deps.db, deps.config, row, inCall(row.id));
}

const DURATION = new RegExp(DURATION_PATTERN);
const STATES_RULE = `states are ${TRANSACTION_STATES.join(', ')}`;
const OLDER_THAN_RULE = 'must be an ISO 8601 duration (PT10M) or timestamp';
const LIMIT_RULE = 'must be an integer 1–1000';
const TIMESTAMP_RULE = 'must be an ISO 8601 timestamp';
const isTimestamp = (value: string) => /^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(Date.parse(value));

/** The filters of a transaction list (GET /v1/transactions); empty values count as left out. */
export const TransactionQuery = z.object({
  state: z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      const unknown = (value ? value.split(',') : []).filter((s) => !(TRANSACTION_STATES as readonly string[]).includes(s));
      if (unknown.length > 0) ctx.addIssue({ code: 'custom', message: `unknown state ${unknown.join(', ')}; ${STATES_RULE}` });
    })
    .transform((value) => (value ? (value.split(',') as TransactionState[]) : undefined))
    .meta({ description: `Comma-separated states (default: those not finished); ${STATES_RULE}` }),
  partner: z.string().optional().meta({ description: 'Only transactions against this partner' }),
  flow: z.string().optional().meta({ description: 'Only this flow' }),
  olderThan: z
    .string()
    .optional()
    .refine((value) => !value || DURATION.test(value) || isTimestamp(value), OLDER_THAN_RULE)
    .meta({ description: 'Unchanged for at least this ISO 8601 duration (PT10M), or since this timestamp' }),
  q: z.string().max(512).optional().meta({ description: 'A transaction id, correlation id, idempotency key or business key (any state unless `state` says otherwise)' }),
  from: z.string().optional().refine((value) => !value || isTimestamp(value), TIMESTAMP_RULE).meta({ description: 'Created at or after this ISO 8601 timestamp (any state unless `state` says otherwise)' }),
  to: z.string().optional().refine((value) => !value || isTimestamp(value), TIMESTAMP_RULE).meta({ description: 'Created before this ISO 8601 timestamp' }),
  limit: z
    .string()
    .optional()
    .refine((value) => value === undefined || (Number.isInteger(Number(value)) && Number(value) >= 1 && Number(value) <= 1000), LIMIT_RULE)
    .transform((value) => (value === undefined ? 100 : Number(value)))
    .meta({ description: 'How many per page, 1–1000 (default 100)', type: 'integer', minimum: 1, maximum: 1000, default: 100 }),
});

export type TransactionQuery = z.output<typeof TransactionQuery>;

/** What a problem with a transaction list's filters says. */
export const TRANSACTION_QUERY_PROBLEM = 'Invalid transaction query';

/** The newest last change `olderThan` allows: now minus a duration (clamped at year 0), or a timestamp. */
function changedBefore(olderThan: string, now: Date): string {
  // A duration reaching before year 0 (P999999999D) means "everything": clamp, do not overflow.
  if (DURATION.test(olderThan)) return new Date(Math.max(now.getTime() - durationMs(olderThan), Date.parse('0000-01-01T00:00:00Z'))).toISOString();
  return new Date(olderThan).toISOString();
}

/**
 * Lists transactions, oldest update first: by default those still in flight or waiting for an
 * operator; filter by state, partner, flow and `olderThan` (an ISO 8601 duration since the last
 * change, or a timestamp) to find stuck ones. A partner sees those it started or that run against it.
 */
export async function listTransactions(deps: Pick<Deps, 'db' | 'clock' | 'config'>, principal: Principal, query: TransactionQuery, after?: KeyValue[]) {
  // A search (a key or a time range) looks at every state unless told otherwise.
  const searching = Boolean(query.q || query.from || query.to);
  const states = query.state ?? (searching ? [...TRANSACTION_STATES] : TRANSACTION_STATES.filter((s) => !TERMINAL_STATES.includes(s)));
  const before = query.olderThan ? changedBefore(query.olderThan, deps.clock()) : undefined;
  const where: SQL[] = [inArray(transactions.state, states)];
  // Lets SQLite use the partial index of unfinished transactions (the usual question).
  if (!states.some((st) => TERMINAL_STATES.includes(st))) where.push(sql`state NOT IN ('completed', 'compensated')`);
  if (query.partner) where.push(eq(transactions.partner, query.partner));
  if (query.flow) where.push(eq(transactions.flow, query.flow));
  if (before) where.push(lte(transactions.updatedAt, before));
  if (query.q) where.push(or(eq(transactions.id, query.q), eq(transactions.correlationId, query.q), eq(transactions.idempotencyKey, query.q), eq(transactions.businessKey, normaliseBusinessKey(query.q)))!);
  if (query.from) where.push(gte(transactions.createdAt, new Date(query.from).toISOString()));
  if (query.to) where.push(lt(transactions.createdAt, new Date(query.to).toISOString()));
  if (principal.role === 'partner') where.push(or(eq(transactions.partner, principal.partner!), eq(transactions.callerPartner, principal.partner!))!);
  // A search answers newest first; the stuck list oldest change first (ties by id).
  const order: KeyPart<TransactionRow>[] = searching
    ? [
        { column: transactions.createdAt, desc: true, of: (r) => r.createdAt },
        { column: transactions.id, desc: true, of: (r) => r.id },
      ]
    : [
        { column: transactions.updatedAt, of: (r) => r.updatedAt },
        { column: transactions.id, of: (r) => r.id },
      ];
  const after_ = keyAfter(order, after);
  if (after_) where.push(after_);
  const rows = await deps.db.select().from(transactions).where(and(...where)).orderBy(...keyOrder(order)).limit(query.limit + 1).all();
  const paged = pageOf(rows, query.limit, order);
  const now = deps.clock().getTime();
  return {
    more: paged.more,
    next: paged.next,
    transactions: paged.items.map((r) => ({
      id: r.id,
      flow: r.flow,
      partner: r.partner,
      state: r.state,
      phase: r.phase,
      correlationId: r.correlationId,
      idempotencyKey: r.idempotencyKey,
      businessKey: r.businessKey,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      idleMs: Math.max(0, now - Date.parse(r.updatedAt)),
      nextRunAt: r.nextRunAt,
      failure: r.failure ? (JSON.parse(r.failure) as unknown) : null,
      link: absoluteUrl(deps.config, `/v1/transactions/${r.id}`),
    })),
  };
}

/** Whether any of these transactions is still running: neither finished nor waiting for an operator. */
export async function anyStillRunning(db: Reader, ids: string[]): Promise<boolean> {
  return (await db
    .select({ state: transactions.state, action: transactions.operatorAction })
    .from(transactions)
    .where(inArray(transactions.id, ids))
    .all())
    .some((r) => !TERMINAL_STATES.includes(r.state as TransactionState) && !(r.state === 'needs-attention' && !r.action) && r.state !== 'awaiting-approval');
}

/** When a transaction was last handed to a human (its last change to needs-attention), if ever. */
export async function handedToOperatorAt(db: Pick<Deps['db'], '$sql'>, transactionId: string): Promise<string | null> {
  return (await db.$sql.value("SELECT max(created_at) FROM transaction_events WHERE transaction_id = ? AND type = 'transaction.state-changed' AND to_state = 'needs-attention'", [transactionId])) as string | null;
}
