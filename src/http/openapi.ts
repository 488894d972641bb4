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
    '/v1/changes': {
      get: op('Change requests, newest first; with ?awaiting=me those awaiting the caller', ['admin', 'author', 'approver', 'ci', 'partner'], 'changes:read', { '200': json({ type: 'array', items: ref('ChangeSummary') }), '400': problem }, {
        description:
          'Staff list change requests (optionally of one partner/api). A partner token may only call it with `awaiting=me` (403 otherwise). ' +
          '`awaiting=me` answers, newest first and at most 100, the open change requests (the newest of their version, version not released or retired, diff not rejected) awaiting the caller: ' +
          "for a partner, those listing it among the required acknowledgements that it has not acknowledged for their diff; for an approver or admin (whose token may use changes:review), those still short of approvals that it may review — not opened by it, its version not registered by it (same token or a look-alike name), not yet reviewed by it; for other roles none.",
        parameters: [
          optionalQuery('partner'),
          optionalQuery('api'),
          { name: 'awaiting', in: 'query', required: false, description: '`me`: only what awaits the caller (any other value → 400; not combined with partner or api)', schema: { type: 'string', enum: ['me'] } },
        ],
      }),
      post: op('Open a change request: snapshots the diff and derives approvals, acknowledgements and evidence from the policy', ['admin', 'author'], 'changes:write', { '201': json(ref('ChangeSummary')), '404': problem, '422': problem }, { requestBody: jsonRequest({ type: 'object', required: ['partner', 'api', 'version', 'summary'], properties: { partner: { type: 'string' }, api: { type: 'string' }, version: { type: 'string' }, flows: { type: 'array', items: { type: 'string' } }, summary: { type: 'string' } } }) }),
    },
    '/v1/changes/{id}': {
      parameters: [pathParam('id', 'Change request id')],
      get: op('A change request with its diff, reviews, acknowledgements, evidence status and a gate preview', ALL_ROLES, 'changes:read', { '200': json({ type: 'object' }), '404': problem }, { parameters: [optionalQuery('environment')] }),
    },
    '/v1/changes/{id}/reviews': {
      parameters: [pathParam('id', 'Change request id')],
      post: op('Approve or reject (not by the change author); bound to the current diff hash', ['admin', 'approver'], 'changes:review', { '201': json({ type: 'object' }), '404': problem, '422': problem }, { requestBody: jsonRequest({ type: 'object', required: ['decision'], properties: { decision: { enum: ['approve', 'reject'] }, comment: { type: 'string' } } }) }),
    },
    '/v1/changes/{id}/acknowledgements': {
      parameters: [pathParam('id', 'Change request id')],
      post: op('A consuming partner acknowledges the change', ['partner'], 'changes:acknowledge', { '201': json({ type: 'object' }), '404': problem }, { requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', properties: { comment: { type: 'string' } } } } } } }),
    },
    '/v1/evidence': {
      get: op('Evidence recorded for a version', ['admin', 'author', 'approver', 'ci'], 'evidence:read', { '200': json({ type: 'array', items: ref('Evidence') }), '400': problem }, { parameters: [optionalQuery('partner'), optionalQuery('api'), optionalQuery('version')] }),
      post: op('Record release evidence, bound to the contract content sha256', ['admin', 'ci', 'author'], 'evidence:write', { '201': json(ref('Evidence')), '404': problem, '422': problem }, { requestBody: jsonRequest({ type: 'object', required: ['partner', 'api', 'version', 'kind', 'result', 'sha256', 'uri', 'environment', 'commit', 'producedAt'], properties: Object.fromEntries(['partner', 'api', 'version', 'kind', 'result', 'sha256', 'uri', 'environment', 'commit', 'producedAt', 'expiresAt'].map((k) => [k, { type: 'string' }])) }) }),
    },
    '/v1/evidence/junit': {
      post: op('Record evidence from a JUnit XML report (counts tests, failures, errors, skipped)', ['admin', 'ci', 'author'], 'evidence:write', { '201': json(ref('Evidence')), '415': problem, '422': problem }, {
        parameters: [...['partner', 'api', 'version', 'kind', 'sha256', 'uri', 'environment', 'commit', 'producedAt'].map((n) => queryParam(n, n)), optionalQuery('expiresAt')],
        requestBody: { required: true, content: { 'application/xml': { schema: { type: 'string' } } } },
      }),
    },
    '/v1/gate/check': {
      post: op('Release gate: pass, fail or pending with reasons, what changed, detection and recovery; the decision is stored', ['admin', 'ci', 'author', 'approver'], 'gate:check', { '200': json(ref('GateDecision')), '404': problem, '422': problem }, { requestBody: jsonRequest({ type: 'object', required: ['partner', 'api', 'version', 'environment'], properties: { partner: { type: 'string' }, api: { type: 'string' }, version: { type: 'string' }, environment: { type: 'string' }, breakGlass: { type: 'string', description: 'admin only: the reason' } } }) }),
    },
    '/v1/gate/decisions/{id}': {
      parameters: [pathParam('id', 'Decision id')],
      get: op('A stored decision with its inputs, re-derived', ['admin', 'author', 'approver', 'ci'], 'gate:check', { '200': json({ type: 'object' }), '404': problem }),
    },
    '/v1/review-items': {
      get: op('Post-release review items opened by break-glass', ['admin', 'author', 'approver', 'ci'], 'changes:read', { '200': json({ type: 'array', items: { type: 'object' } }) }, { parameters: [optionalQuery('status')] }),
    },
    '/v1/review-items/{id}/close': {
      parameters: [pathParam('id', 'Review item id')],
      post: op('Close a review item with its conclusion', ['admin', 'approver'], 'changes:review', { '200': json({ type: 'object' }), '404': problem, '409': problem, '422': problem }, { requestBody: jsonRequest({ type: 'object', required: ['conclusion'], properties: { conclusion: { type: 'string' } } }) }),
    },
    '/v1/releases': {
      post: op('Record a release; only with a passing gate decision for this exact content', ['admin', 'ci'], 'releases:write', { '201': json({ type: 'object' }), '404': problem, '409': problem, '422': problem }, { requestBody: jsonRequest({ type: 'object', required: ['partner', 'api', 'version', 'environment'], properties: { partner: { type: 'string' }, api: { type: 'string' }, version: { type: 'string' }, environment: { type: 'string' } } }) }),
    },
    '/v1/freezes': {
      get: op('Release freezes', ['admin', 'author', 'approver', 'ci'], 'releases:read', { '200': json({ type: 'array', items: { type: 'object' } }) }),
      post: op('Freeze releases for a partner', ['admin'], 'releases:write', { '201': json({ type: 'object' }), '422': problem }, { requestBody: jsonRequest({ type: 'object', required: ['partner', 'reason'], properties: { partner: { type: 'string' }, reason: { type: 'string' } } }) }),
    },
    '/v1/freezes/{id}': {
      parameters: [pathParam('id', 'Freeze id')],
      delete: op('Lift a release freeze', ['admin'], 'releases:write', { '200': json({ type: 'object' }), '404': problem }),
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
    '/v1/audit': {
      get: op('The hash-chained audit log', ['admin'], 'audit:read', { '200': json({ type: 'array', items: { type: 'object' } }), '400': problem }, { parameters: [optionalQuery('after'), optionalQuery('limit')] }),
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
      ChangeSummary: { type: 'object', properties: { id: { type: 'string' }, partner: { type: 'string' }, api: { type: 'string' }, version: { type: 'string' }, breaking: { type: 'boolean' }, requires: { type: 'object' } } },
      Evidence: { type: 'object', properties: { id: { type: 'string' }, kind: { type: 'string' }, result: { type: 'string', enum: ['pass', 'fail'] }, sha256: { type: 'string' }, boundToContent: { type: 'boolean' } } },
      GateDecision: {
        type: 'object',
        properties: {
          verdict: { type: 'string', enum: ['pass', 'fail', 'pending'] },
          reasons: { type: 'array', items: { type: 'object', properties: { rule: { type: 'string' }, status: { type: 'string', enum: ['met', 'pending', 'failed'] }, message: { type: 'string' }, howToFix: { type: 'string' } } } },
          whatChanged: { type: 'object' },
          detection: { type: 'object' },
          recovery: { type: 'object' },
          decisionId: { type: 'string' },
        },
      },
    },
  },
} as const;
