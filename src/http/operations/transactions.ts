import { z } from '@hono/zod-openapi';
import { STEP_STATES, TRANSACTION_MODES, TRANSACTION_PHASES, TRANSACTION_STATES } from '../../runtime/saga/states.ts';
import { TRANSACTION_REQUEST_PROBLEM, TransactionRequest } from '../../runtime/saga/start.ts';
import { TRANSACTION_QUERY_PROBLEM, TransactionQuery } from '../../runtime/transaction-views.ts';
import { defineOperation, json, jsonBodyOf, pathParam, problem } from '../operation.ts';
import { PageQuery, pagedJson } from '../pages.ts';
import { OPERATOR_ROLES, ROLES } from '../../auth/principal.ts';

/** /v1/transactions: business transactions (control-matrix flows) started, found, listed, retried and compensated. */

const Failure = z.record(z.string(), z.unknown()).nullable().meta({ description: 'Why it stopped: the step, its failure mode and detail' });

const TransactionStep = z
  .object({
    id: z.string(),
    forStep: z.string().optional().meta({ description: 'A compensation: the step it undoes' }),
    operation: z.string(),
    state: z.enum(STEP_STATES),
    attempts: z.number().int(),
    startedAt: z.string().nullable(),
    endedAt: z.string().nullable(),
    latencyMs: z.number().int().nullable(),
    outcome: z.unknown().meta({ description: 'The last answer: status and result, or null' }),
    attemptLog: z.array(z.record(z.string(), z.unknown())).meta({ description: 'Every attempt: start, end, latency, status, result, fault' }),
  })
  .meta({ id: 'TransactionStep' });

const Transaction = z
  .object({
    id: z.string(),
    flow: z.string(),
    partner: z.string(),
    api: z.string(),
    version: z.string(),
    mode: z.enum(TRANSACTION_MODES),
    state: z.enum(TRANSACTION_STATES),
    phase: z.enum(TRANSACTION_PHASES),
    where: z.string().meta({ description: 'Where it is now, in words' }),
    awaitingApproval: z.string().nullable().meta({ description: 'The step whose compensation awaits an operator’s approval (retry and compensate answer 409 until it is decided), else null' }),
    correlationId: z.string(),
    idempotencyKey: z.string().nullable(),
    traceId: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().nullable(),
    nextRunAt: z.string().nullable(),
    failure: Failure,
    businessKey: z.string().nullable().meta({ description: 'The flow’s business key (its control-matrix `idempotency.businessKeys` values, normalised, joined with |)' }),
    matrixVersion: z.number().int().nullable().meta({ description: 'The approved control-matrix version of the flow that governed it' }),
    matrixSha256: z.string().nullable().meta({ description: 'That version’s content hash' }),
    steps: z.array(TransactionStep),
    compensations: z.array(TransactionStep).meta({ description: 'In the order they ran (reverse step order)' }),
    events: z.array(
      z.object({
        seq: z.number().int().nullable(),
        type: z.string(),
        from: z.string().nullable(),
        to: z.string().nullable(),
        step: z.string().nullable(),
        at: z.string(),
        data: z.unknown(),
      }),
    ),
    links: z.object({ self: z.string(), retry: z.string(), compensate: z.string() }),
  })
  .meta({ id: 'Transaction' });

const TransactionSummary = Transaction.pick({ id: true, flow: true, partner: true, state: true, phase: true, correlationId: true, idempotencyKey: true, businessKey: true, createdAt: true, updatedAt: true, nextRunAt: true, failure: true })
  .extend({
    idleMs: z.number().int().meta({ description: 'Milliseconds since its last change' }),
    link: z.string(),
  })
  .meta({ id: 'TransactionSummary' });

const RefParams = z.object({ ref: pathParam('Transaction id, correlation id, idempotency key or business key') });

const CorrelationHeader = z.object({ 'X-Correlation-Id': z.string().meta({ description: 'The transaction’s correlation id' }) });

export const startTransaction = defineOperation({
  operationId: 'startTransaction',
  method: 'post',
  path: '/v1/transactions',
  tags: ['Transactions'],
  summary:
    'Start a control-matrix flow (saga) against a partner; answers 202 with the transaction. Idempotency-Key required (IETF semantics: 422 different body, 409 in flight, replay with Idempotent-Replayed: true)',
  description:
    'Checks the flow, the partner’s served contract and the first step’s request (400 with the findings under /input), stores the transaction as `initiated` and answers 202 with `Location`; the engine runs the steps. A repeat with the same key and body replays the first answer byte for byte. A flow throttled by an SLA intervention answers 429 with Retry-After.',
  roles: ['admin', 'ci', 'partner'],
  scope: 'transactions:write',
  request: {
    // Declared for the document; a missing or oversized Idempotency-Key is refused by the start itself (400, after the flow is known).
    headers: z.object({
      'Idempotency-Key': z.string().optional().meta({ param: { required: true }, maxLength: 255, description: 'Required, at most 255 characters (the flow’s key header)' }),
      'X-Correlation-Id': z.string().optional().meta({ maxLength: 128, description: 'The business correlation id (1–128 of A–Z a–z 0–9 . _ : -); a new one otherwise' }),
      traceparent: z.string().optional().meta({ description: 'W3C trace context' }),
      tracestate: z.string().optional().meta({ description: 'W3C trace context' }),
    }),
    body: jsonBodyOf(TransactionRequest),
  },
  invalid: { code: 'bad_request', detail: TRANSACTION_REQUEST_PROBLEM },
  responses: {
    202: {
      ...json(Transaction, 'Accepted: the engine runs the steps; poll Location'),
      headers: z.object({ Location: z.string(), 'X-Correlation-Id': z.string(), 'Idempotent-Replayed': z.literal('true').optional().meta({ description: 'A replay of the first answer' }) }),
    },
    400: problem,
    404: problem,
    409: problem,
    415: problem,
    422: problem,
  },
});

export const listTransactions = defineOperation({
  operationId: 'listTransactions',
  method: 'get',
  path: '/v1/transactions',
  tags: ['Transactions'],
  summary: 'Transactions still in flight or waiting for an operator (default), oldest change first; filter to find stuck ones, or search by key (`q`) and creation time (`from`, `to`)',
  description: 'With `q`, `from` or `to` every state counts (unless `state` is given) and the newest come first. A partner sees the transactions it started or that run against it. Pages of `limit` (default 100), `Link: rel="next"` while more follow.',
  roles: ROLES,
  scope: 'transactions:read',
  request: { query: TransactionQuery.extend({ cursor: PageQuery().shape.cursor }) },
  invalid: { parameters: TRANSACTION_QUERY_PROBLEM },
  responses: { 200: pagedJson(z.object({ transactions: z.array(TransactionSummary) })), 400: problem },
});

export const getTransaction = defineOperation({
  operationId: 'getTransaction',
  method: 'get',
  path: '/v1/transactions/{ref}',
  tags: ['Transactions'],
  summary: 'One transaction: state, where it is now, each step with start, end, latency, attempts and outcome, compensations, events',
  description: 'By id, correlation id, idempotency key or business key (the caller’s own use of a key first, else the newest; `GET /v1/transactions?q=` lists them all). A partner sees only transactions it started or that run against it (404 otherwise).',
  roles: ROLES,
  scope: 'transactions:read',
  request: { params: RefParams },
  responses: { 200: { ...json(Transaction), headers: CorrelationHeader }, 404: problem },
});

export const retryTransaction = defineOperation({
  operationId: 'retryTransaction',
  method: 'post',
  path: '/v1/transactions/{ref}/retry',
  tags: ['Transactions'],
  summary: 'Operator: retry the step that stopped now, with a fresh retry budget (audited)',
  description: 'A finished transaction, a direct request (the caller re-sends it) or one with an operator action under way answers 409.',
  roles: OPERATOR_ROLES,
  scope: 'operator',
  request: { params: RefParams },
  responses: { 202: json(Transaction, 'Accepted: the engine retries'), 404: problem, 409: problem },
});

export const compensateTransaction = defineOperation({
  operationId: 'compensateTransaction',
  method: 'post',
  path: '/v1/transactions/{ref}/compensate',
  tags: ['Transactions'],
  summary: 'Operator: compensate the completed steps in reverse order, run a stopped compensation again, or close a direct request waiting for review (audited)',
  description: 'A finished transaction, one already compensating or one with an operator action under way answers 409.',
  roles: OPERATOR_ROLES,
  scope: 'operator',
  request: { params: RefParams },
  responses: { 202: json(Transaction, 'Accepted: the engine compensates'), 404: problem, 409: problem },
});

export const transactionOperations = [startTransaction, listTransactions, getTransaction, retryTransaction, compensateTransaction];
