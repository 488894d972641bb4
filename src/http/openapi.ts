import type { Role } from '../auth/principal.ts';
import type { Scope } from '../auth/scopes.ts';

/**
 * Accord's own API in OpenAPI 3.1. `x-accord-roles` on an operation lists the roles allowed to
 * call it and `x-accord-scope` the token scope it needs (enforced in one place from this
 * document, src/auth/operations.ts); the shared security test suite reads both, and a test fails if
 * the app serves a route this document does not describe.
 */

const ALL_ROLES: Role[] = ['admin', 'author', 'approver', 'ci', 'partner'];

const problem = { description: 'Problem (RFC 9457)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
const json = (schema: object, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const pathParam = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const queryParam = (name: string, description: string) => ({ name, in: 'query', required: true, description, schema: { type: 'string' } });
const optionalQuery = (name: string) => ({ name, in: 'query', required: false, schema: { type: 'string' } });
const jsonRequest = (schema: object) => ({ required: true, content: { 'application/json': { schema } } });
const FORMAT = { name: 'format', in: 'query', required: false, schema: { type: 'string', enum: ['json', 'markdown', 'text'], default: 'json' } };
const diffResponse = {
  description: 'Diff',
  content: {
    'application/json': { schema: { $ref: '#/components/schemas/Diff' } },
    'text/markdown': { schema: { type: 'string' } },
    'text/plain': { schema: { type: 'string' } },
  },
};
const PARTNER = pathParam('partner', 'Partner id');
const API = pathParam('api', 'API id');
const VERSION = pathParam('version', 'Semantic version');

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
    '/v1/contracts': {
      get: op('APIs with their latest visible version', ALL_ROLES, 'contracts:read', { '200': json({ type: 'array', items: ref('ContractSummary') }) }),
    },
    '/v1/contracts/{partner}/{api}/versions': {
      parameters: [PARTNER, API],
      get: op('Visible versions in semver order', ALL_ROLES, 'contracts:read', { '200': json({ type: 'array', items: ref('ContractVersion') }), '404': problem }),
      post: op(
        'Register a contract version',
        ['admin', 'author'],
        'contracts:write',
        { '200': json(ref('ContractVersion'), 'Identical version already registered'), '201': json(ref('ContractVersion'), 'Registered'), '409': problem, '413': problem, '415': problem, '422': problem },
        {
          parameters: [{ name: 'version', in: 'query', required: false, description: 'Version; defaults to info.version', schema: { type: 'string' } }],
          requestBody: {
            required: true,
            content: { 'application/yaml': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } } },
          },
        },
      ),
    },
    '/v1/contracts/{partner}/{api}/versions/{version}': {
      parameters: [PARTNER, API, VERSION],
      get: op('Version metadata', ALL_ROLES, 'contracts:read', { '200': json(ref('ContractVersion')), '404': problem }),
    },
    '/v1/contracts/{partner}/{api}/versions/{version}/document': {
      parameters: [PARTNER, API, VERSION],
      get: op('The canonical document (YAML or JSON by Accept); ETag is its sha256', ALL_ROLES, 'contracts:read', {
        '200': { description: 'Document', content: { 'application/yaml': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } } } },
        '304': { description: 'Not modified (If-None-Match)' },
        '404': problem,
        '406': problem,
      }),
    },
    '/v1/contracts/{partner}/{api}/diff': {
      parameters: [PARTNER, API],
      get: op(
        'Classified changes between two registered versions (Accord rules plus openapi-diff second opinion)',
        ALL_ROLES,
        'contracts:read',
        { '200': diffResponse, '400': problem, '404': problem },
        { parameters: [queryParam('from', 'Base version'), queryParam('to', 'Revision version'), FORMAT] },
      ),
    },
    '/v1/contracts/{partner}/{api}/history': {
      parameters: [PARTNER, API],
      get: op('Git commits touching the API, newest first', ALL_ROLES, 'contracts:read', { '200': json({ type: 'array', items: ref('Commit') }), '404': problem }),
    },
    '/v1/control-matrix': {
      get: op(
        'The control matrix as a table: per flow the idempotency strategy, compensations, SLA targets, owner and escalation',
        ALL_ROLES,
        'matrix:read',
        {
          '200': {
            description: 'Table',
            content: { 'application/json': { schema: { type: 'array', items: ref('MatrixRow') } }, 'text/csv': { schema: { type: 'string' } }, 'text/markdown': { schema: { type: 'string' } } },
          },
          '400': problem,
        },
        { parameters: [{ name: 'format', in: 'query', required: false, schema: { type: 'string', enum: ['json', 'csv', 'md'], default: 'json' } }] },
      ),
    },
    '/v1/control-matrix/validate': {
      post: op(
        'Dry-run the checks on a flow entry; nothing is stored',
        ['admin', 'author', 'approver', 'ci'],
        'matrix:read',
        { '200': json({ type: 'object', properties: { valid: { const: true }, errors: { type: 'array', maxItems: 0 } } }, 'Every check passes'), '415': problem, '422': problem },
        {
          parameters: [{ name: 'flow', in: 'query', required: false, description: 'Check that the entry names this flow', schema: { type: 'string' } }],
          requestBody: { required: true, content: { 'application/yaml': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } } } },
        },
      ),
    },
    '/v1/control-matrix/{flow}': {
      parameters: [pathParam('flow', 'Flow id')],
      get: op(
        'The latest (or ?version=) entry of a flow',
        ALL_ROLES,
        'matrix:read',
        { '200': json(ref('MatrixDocument')), '404': problem },
        { parameters: [{ name: 'version', in: 'query', required: false, schema: { type: 'integer', minimum: 1 } }] },
      ),
      put: op(
        'Store a new version of a flow entry (checked against the registered contracts)',
        ['admin', 'author'],
        'matrix:write',
        { '200': json(ref('MatrixVersion'), 'Unchanged'), '201': json(ref('MatrixVersion'), 'New version'), '413': problem, '415': problem, '422': problem },
        { requestBody: { required: true, content: { 'application/yaml': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } } } } },
      ),
    },
    '/v1/control-matrix/{flow}/diff': {
      parameters: [pathParam('flow', 'Flow id')],
      get: op(
        'Classified changes between two versions of a flow entry',
        ALL_ROLES,
        'matrix:read',
        { '200': diffResponse, '400': problem, '404': problem },
        { parameters: [queryParam('from', 'Base version number'), queryParam('to', 'Revision version number'), FORMAT] },
      ),
    },
    '/v1/diff': {
      post: op(
        'Stateless diff of two posted OpenAPI documents',
        ALL_ROLES,
        'contracts:read',
        { '200': diffResponse, '400': problem, '415': problem, '422': problem },
        {
          parameters: [FORMAT],
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['base', 'revision'], properties: { base: { type: 'object' }, revision: { type: 'object' } } } } } },
        },
      ),
    },
    '/v1/control-matrix/{flow}/versions': {
      parameters: [pathParam('flow', 'Flow id')],
      get: op('Every version of a flow entry, oldest first', ALL_ROLES, 'matrix:read', { '200': json({ type: 'array', items: ref('MatrixVersion') }), '404': problem }),
    },
    '/v1/policy': {
      get: op(
        'The governance policy in force (latest or ?version=)',
        ALL_ROLES,
        'matrix:read',
        { '200': json(ref('MatrixDocument')), '404': problem },
        { parameters: [{ name: 'version', in: 'query', required: false, schema: { type: 'integer', minimum: 1 } }] },
      ),
      put: op(
        'Store a new version of the governance policy',
        ['admin'],
        'matrix:write',
        { '200': json(ref('MatrixVersion'), 'Unchanged'), '201': json(ref('MatrixVersion'), 'New version'), '415': problem, '422': problem },
        { requestBody: { required: true, content: { 'application/yaml': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } } } } },
      ),
    },
    '/v1/contracts/{partner}/{api}/consumers': {
      parameters: [PARTNER, API],
      get: op('Partners that consume the API (explicit list, else every other partner implementing it)', ALL_ROLES, 'contracts:read', { '200': json({ type: 'object', properties: { consumers: { type: 'array', items: { type: 'string' } } } }) }),
      put: op('Set the explicit consumer list (empty restores the default)', ['admin'], 'contracts:write', { '200': json({ type: 'object' }), '422': problem }, { requestBody: jsonRequest({ type: 'object', required: ['consumers'], properties: { consumers: { type: 'array', items: { type: 'string' } } } }) }),
    },
    '/v1/contracts/{partner}/{api}/versions/{version}/deprecation': {
      parameters: [PARTNER, API, VERSION],
      post: op('Deprecate a released version with a sunset (at least the policy minimum notice away)', ['admin', 'author'], 'contracts:write', { '201': json({ type: 'object' }), '404': problem, '409': problem, '422': problem }, { requestBody: jsonRequest({ type: 'object', required: ['sunset', 'reason'], properties: { sunset: { type: 'string' }, successor: { type: 'string' }, reason: { type: 'string' } } }) }),
    },
    '/v1/contracts/{partner}/{api}/versions/{version}/release-notes': {
      parameters: [PARTNER, API, VERSION],
      get: op('Partner-facing release notes (Markdown changelog of the version)', ALL_ROLES, 'contracts:read', { '200': { description: 'Markdown', content: { 'text/markdown': { schema: { type: 'string' } } } }, '404': problem }),
    },
    '/v1/notices': {
      get: op('Deprecation, breaking-release and sunset notices (a partner sees what concerns it)', ALL_ROLES, 'notices:read', { '200': json({ type: 'array', items: { type: 'object' } }) }, { parameters: [optionalQuery('limit')] }),
    },
    '/v1/notices.atom': {
      get: op('The notices as an Atom 1.0 feed', ALL_ROLES, 'notices:read', { '200': { description: 'Atom feed', content: { 'application/atom+xml': { schema: { type: 'string' } } } } }),
    },
    '/v1/webhooks': {
      get: op('Webhooks (a partner sees its own)', ['admin', 'partner'], 'webhooks', { '200': json({ type: 'array', items: { type: 'object' } }) }),
      post: op(
        'Register a webhook. The URL must reach a public address (422 with the reason otherwise, unless ACCORD_OUTBOUND_ALLOW_PRIVATE / ACCORD_OUTBOUND_ALLOW_CIDRS allow it); at most ACCORD_WEBHOOKS_PER_OWNER active subscriptions per owner (409). Deliveries are signed with Accord-Signature: t=…,v1=HMAC-SHA256(secret, "t.body") and the Standard Webhooks headers webhook-id, webhook-timestamp, webhook-signature',
        ['admin', 'partner'],
        'webhooks',
        { '201': json({ type: 'object' }), '409': problem, '422': problem },
        { requestBody: jsonRequest({ type: 'object', required: ['url', 'secret', 'events'], properties: { url: { type: 'string' }, secret: { type: 'string' }, events: { type: 'array', items: { type: 'string' } } } }) },
      ),
    },
    '/v1/webhooks/{id}': {
      parameters: [pathParam('id', 'Webhook id')],
      get: op('A webhook, with disabledAt and disabledReason when Accord stopped delivering to it', ['admin', 'partner'], 'webhooks', { '200': json({ type: 'object' }), '404': problem }),
      delete: op('Delete a webhook', ['admin', 'partner'], 'webhooks', { '204': { description: 'Deleted' }, '404': problem }),
    },
    '/v1/webhooks/{id}/enable': {
      parameters: [pathParam('id', 'Webhook id')],
      post: op('Re-enable a disabled webhook: its URL is checked again, the owner cap applies, the failure streak starts over (cancelled deliveries stay cancelled)', ['admin', 'partner'], 'webhooks', { '200': json({ type: 'object' }), '404': problem, '409': problem, '422': problem }),
    },
    '/v1/webhooks/{id}/deliveries': {
      parameters: [pathParam('id', 'Webhook id')],
      get: op('Delivery log of a webhook', ['admin', 'partner'], 'webhooks', { '200': json({ type: 'array', items: { type: 'object' } }), '404': problem }),
    },
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
      ContractSummary: {
        type: 'object',
        properties: { partner: { type: 'string' }, api: { type: 'string' }, latestVersion: { type: 'string' }, versionCount: { type: 'integer' } },
      },
      ContractVersion: {
        type: 'object',
        properties: {
          partner: { type: 'string' },
          api: { type: 'string' },
          version: { type: 'string' },
          state: { type: 'string', enum: ['draft', 'approved', 'released', 'deprecated', 'retired'] },
          sha256: { type: 'string' },
          commit: { type: 'string' },
          createdAt: { type: 'string', format: 'date-time' },
          createdBy: { type: 'string' },
        },
      },
      Commit: {
        type: 'object',
        properties: { sha: { type: 'string' }, author: { type: 'string' }, email: { type: 'string' }, date: { type: 'string' }, message: { type: 'string' } },
      },
      MatrixVersion: {
        type: 'object',
        properties: {
          name: { type: 'string' },
          kind: { type: 'string', enum: ['flow', 'policy'] },
          version: { type: 'integer' },
          sha256: { type: 'string' },
          commit: { type: 'string' },
          createdAt: { type: 'string' },
          createdBy: { type: 'string' },
        },
      },
      MatrixDocument: { allOf: [ref('MatrixVersion'), { type: 'object', properties: { entry: { type: 'object' } } }] },
      MatrixRow: {
        type: 'object',
        properties: Object.fromEntries(['flow', 'title', 'owner', 'contract', 'idempotency', 'steps', 'compensations', 'sla', 'interventions', 'escalation'].map((k) => [k, { type: 'string' }]).concat([['version', { type: 'integer' }]])),
      },
      Change: {
        type: 'object',
        required: ['rule', 'level', 'direction', 'location', 'message'],
        properties: {
          rule: { type: 'string' },
          level: { type: 'string', enum: ['breaking', 'warning', 'info'] },
          direction: { type: 'string', enum: ['request', 'response'] },
          method: { type: 'string' },
          path: { type: 'string' },
          operationId: { type: 'string' },
          location: { type: 'string' },
          message: { type: 'string' },
        },
      },
      Diff: {
        type: 'object',
        properties: {
          changes: { type: 'array', items: ref('Change') },
          summary: { type: 'object', properties: { breaking: { type: 'integer' }, warning: { type: 'integer' }, info: { type: 'integer' }, total: { type: 'integer' } } },
          bump: { type: 'string', enum: ['major', 'minor', 'patch', 'none'] },
          openapiDiff: { type: 'object', description: 'What the openapi-diff second opinion did: ok, failed, timeout or skipped' },
        },
      },
    },
  },
} as const;
