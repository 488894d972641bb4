import type { Role } from '../auth/principal.ts';
import type { Scope } from '../auth/scopes.ts';

/**
 * Accord's own API in OpenAPI 3.1. `x-accord-roles` on an operation lists the roles allowed to
 * call it and `x-accord-scope` the token scope it needs (enforced in one place from this
 * document, src/auth/operations.ts); the shared security test suite reads both, and a test fails if
 * the app serves a route this document does not describe.
 */


const problem = { description: 'Problem (RFC 9457)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
const json = (schema: object, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const pathParam = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const optionalQuery = (name: string) => ({ name, in: 'query', required: false, schema: { type: 'string' } });
const jsonRequest = (schema: object) => ({ required: true, content: { 'application/json': { schema } } });
const PARTNER = pathParam('partner', 'Partner id');

function op(summary: string, roles: Role[], scope: Scope, responses: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    summary,
    security: [{ bearer: [] }],
    'x-accord-roles': roles,
    'x-accord-scope': scope,
    ...extra,
    responses: { ...responses, '401': problem, '403': problem, '429': problem, default: problem },
  };
}

export const ACCORD_OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'Accord',
    version: '0.1.0',
    description: 'Governance and contract registry for payer-to-payer API networks. Errors are application/problem+json (RFC 9457).',
  },
  servers: [{ url: '/' }],
  paths: {
    '/v1/transactions': {
      post: op(
        'Start a control-matrix flow (saga) against a partner; answers 202 with the transaction. Idempotency-Key required (IETF semantics: 422 different body, 409 in flight, replay with Idempotent-Replayed: true)',
        ['admin', 'ci', 'partner'],
        'transactions:write',
        { '202': json(ref('Transaction'), 'Accepted: the engine runs the steps; poll Location'), '400': problem, '404': problem, '409': problem, '415': problem, '422': problem },
        {
          parameters: [
            { name: 'Idempotency-Key', in: 'header', required: true, schema: { type: 'string', maxLength: 255 } },
            { name: 'X-Correlation-Id', in: 'header', required: false, schema: { type: 'string', maxLength: 128 } },
            { name: 'traceparent', in: 'header', required: false, schema: { type: 'string' } },
            { name: 'tracestate', in: 'header', required: false, schema: { type: 'string' } },
          ],
          requestBody: jsonRequest({
            type: 'object',
            required: ['flow', 'partner', 'input'],
            properties: { flow: { type: 'string' }, partner: { type: 'string' }, major: { type: 'integer' }, input: { type: 'object', description: 'Reference flow: { memberMatch: <$member-match Parameters>, groupId? }' } },
          }),
        },
      ),
      get: op(
        'Transactions still in flight or waiting for an operator (default), oldest change first; filter to find stuck ones',
        ['admin', 'ci', 'author', 'approver', 'partner'],
        'transactions:read',
        { '200': json({ type: 'object', properties: { transactions: { type: 'array', items: { type: 'object' } } } }), '400': problem },
        { parameters: [optionalQuery('state'), optionalQuery('partner'), optionalQuery('flow'), optionalQuery('olderThan'), optionalQuery('limit')] },
      ),
    },
    '/v1/transactions/{ref}': {
      parameters: [pathParam('ref', 'Transaction id, correlation id or idempotency key')],
      get: op('One transaction: state, where it is now, each step with start, end, latency, attempts and outcome, compensations, events', ['admin', 'ci', 'author', 'approver', 'partner'], 'transactions:read', { '200': json(ref('Transaction')), '404': problem }),
    },
    '/v1/transactions/{ref}/retry': {
      parameters: [pathParam('ref', 'Transaction id, correlation id or idempotency key')],
      post: op('Operator: retry the step that stopped now, with a fresh retry budget (audited)', ['admin'], 'operator', { '202': json(ref('Transaction')), '404': problem, '409': problem }),
    },
    '/v1/transactions/{ref}/compensate': {
      parameters: [pathParam('ref', 'Transaction id, correlation id or idempotency key')],
      post: op('Operator: compensate the completed steps in reverse order, run a stopped compensation again, or close a direct request waiting for review (audited)', ['admin'], 'operator', { '202': json(ref('Transaction')), '404': problem, '409': problem }),
    },
    '/v1/faults': {
      get: op('Injected faults (sandbox)', ['admin', 'ci', 'author', 'approver'], 'observability:read', { '200': json({ type: 'object', properties: { faults: { type: 'array', items: ref('Fault') } } }) }),
      post: op('Inject a fault for a partner and step (sandbox only)', ['admin', 'ci'], 'operator', { '201': json(ref('Fault')), '400': problem, '409': problem }, { requestBody: jsonRequest(ref('FaultRequest')) }),
    },
    '/v1/fault-experiments': {
      post: op(
        'Run a fault-injection experiment (one saga per fault kind) against the version the sandbox serves and store failure-injection evidence for it',
        ['admin', 'ci'],
        'operator',
        { '201': json({ type: 'object', properties: { id: { type: 'string' }, result: { type: 'string', enum: ['pass', 'fail'] }, scenarios: { type: 'array', items: { type: 'object' } }, evidence: { type: 'object' } } }), '400': problem, '404': problem, '409': problem, '422': problem },
        { requestBody: jsonRequest({ type: 'object', required: ['partner', 'api', 'version'], properties: { partner: { type: 'string' }, api: { type: 'string' }, version: { type: 'string' }, flow: { type: 'string', default: 'payer-data-export' } } }) },
      ),
    },
    '/v1/faults/{id}': {
      parameters: [pathParam('id', 'Fault id')],
      delete: op('Remove an injected fault', ['admin', 'ci'], 'operator', { '204': { description: 'Removed' }, '404': problem }),
    },
    '/v1/sla': {
      get: op('SLA status per flow and partner: targets, current values (5-minute window), rules breached and since when, interventions in force', ['admin', 'ci', 'author', 'approver'], 'observability:read', { '200': json({ type: 'object' }) }),
    },
    '/v1/synthetic/run': {
      post: op(
        'Run synthetic transactions now (every flow and partner, or the given ones) with the contracts\' synthetic examples; results become synthetic-check evidence; a failure after a release raises a synthetic-drift notice',
        ['admin', 'ci'],
        'operator',
        { '200': json({ type: 'object', properties: { results: { type: 'array', items: { type: 'object' } } } }), '404': problem },
        { requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', properties: { flow: { type: 'string' }, partner: { type: 'string' } } } } } } },
      ),
    },
    '/v1/scorecards/{partner}': {
      parameters: [PARTNER],
      get: op('Partner scorecard over a window (default P7D): acceptance, duplicates, error taxonomy, observability completeness, release hygiene, synthetic success', ['admin', 'ci', 'author', 'approver', 'partner'], 'observability:read', { '200': json({ type: 'object' }), '400': problem, '404': problem }, { parameters: [optionalQuery('window')] }),
    },
    '/v1/operator/views': {
      get: op('Operator views: degraded partner routes, stuck transaction types, accumulating retries, pending compensations, with links to the transactions', ['admin', 'ci', 'author', 'approver'], 'observability:read', { '200': json({ type: 'object' }) }),
    },
  },
  components: {
    securitySchemes: {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        description: 'Accord token. Each operation names the roles (x-accord-roles) and the scope (x-accord-scope) it needs; a token limited to scopes without it gets 403. Failed authentications are limited per client address and token prefix (429 with Retry-After).',
      },
    },
    schemas: {
      Transaction: {
        type: 'object',
        required: ['id', 'flow', 'partner', 'state', 'where', 'correlationId', 'steps', 'compensations', 'events'],
        properties: {
          id: { type: 'string' },
          flow: { type: 'string' },
          partner: { type: 'string' },
          api: { type: 'string' },
          version: { type: 'string' },
          mode: { type: 'string', enum: ['saga', 'sync'] },
          state: { type: 'string', enum: ['initiated', 'accepted', 'in-progress', 'compensating', 'needs-attention', 'completed', 'compensated'] },
          phase: { type: 'string', enum: ['forward', 'compensating'] },
          where: { type: 'string', description: 'Where it is now, in words' },
          correlationId: { type: 'string' },
          idempotencyKey: { type: ['string', 'null'] },
          traceId: { type: 'string' },
          failure: { type: ['object', 'null'] },
          steps: { type: 'array', items: ref('TransactionStep') },
          compensations: { type: 'array', items: ref('TransactionStep') },
          events: { type: 'array', items: { type: 'object' } },
        },
      },
      TransactionStep: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          forStep: { type: 'string' },
          operation: { type: 'string' },
          state: { type: 'string', enum: ['pending', 'running', 'succeeded', 'failed', 'skipped'] },
          attempts: { type: 'integer' },
          startedAt: { type: ['string', 'null'] },
          endedAt: { type: ['string', 'null'] },
          latencyMs: { type: ['integer', 'null'] },
          outcome: { type: ['object', 'null'] },
          attemptLog: { type: 'array', items: { type: 'object' } },
        },
      },
      FaultRequest: {
        type: 'object',
        required: ['partner', 'step', 'kind'],
        properties: {
          partner: { type: 'string' },
          step: { type: 'string', description: 'Step id or operationId (compensation operations too)' },
          kind: { type: 'string', enum: ['timeout', 'error-status', 'validation-error', 'partial-write', 'delayed-event', 'duplicate-delivery'] },
          flow: { type: 'string' },
          transactionId: { type: 'string' },
          status: { type: 'integer', minimum: 400, maximum: 599 },
          delayMs: { type: 'integer', minimum: 1, maximum: 600000 },
          remaining: { type: ['integer', 'null'], minimum: 1, description: 'How many calls it affects; null = until removed' },
        },
      },
      Fault: { allOf: [ref('FaultRequest'), { type: 'object', properties: { id: { type: 'string' }, source: { type: 'string', enum: ['api', 'config'] }, createdAt: { type: 'string' } } }] },
      Problem: {
        type: 'object',
        required: ['type', 'title', 'status', 'detail', 'code'],
        properties: {
          type: { type: 'string' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string' },
          instance: { type: 'string' },
          code: { type: 'string' },
          requestId: { type: 'string' },
          errors: { type: 'array', items: { type: 'object', properties: { location: { type: 'string' }, message: { type: 'string' } } } },
        },
      },
    },
  },
} as const;
