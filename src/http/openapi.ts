import type { Role } from '../auth/principal.ts';

/**
 * Accord's own API in OpenAPI 3.1. `x-accord-roles` on an operation lists the roles allowed to
 * call it; the shared security test suite reads it, and a test fails if the app serves a route
 * this document does not describe.
 */

const ALL_ROLES: Role[] = ['admin', 'author', 'approver', 'ci', 'partner'];

const problem = { description: 'Problem (RFC 9457)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
const json = (schema: object, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const pathParam = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const queryParam = (name: string, description: string) => ({ name, in: 'query', required: true, description, schema: { type: 'string' } });
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

function op(summary: string, roles: Role[], responses: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    summary,
    security: [{ bearer: [] }],
    'x-accord-roles': roles,
    ...extra,
    responses: { ...responses, '401': problem, '403': problem, default: problem },
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
    '/healthz': { get: { summary: 'Liveness', security: [], responses: { '200': json({ type: 'object' }) } } },
    '/readyz': {
      get: { summary: 'Readiness: database and Git registry usable', security: [], responses: { '200': json({ type: 'object' }), '503': json({ type: 'object' }, 'Not ready') } },
    },
    '/openapi.json': { get: { summary: 'This document', security: [], responses: { '200': json({ type: 'object' }) } } },
    '/v1/contracts': {
      get: op('APIs with their latest visible version', ALL_ROLES, { '200': json({ type: 'array', items: ref('ContractSummary') }) }),
    },
    '/v1/contracts/{partner}/{api}/versions': {
      parameters: [PARTNER, API],
      get: op('Visible versions in semver order', ALL_ROLES, { '200': json({ type: 'array', items: ref('ContractVersion') }), '404': problem }),
      post: op(
        'Register a contract version',
        ['admin', 'author'],
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
      get: op('Version metadata', ALL_ROLES, { '200': json(ref('ContractVersion')), '404': problem }),
    },
    '/v1/contracts/{partner}/{api}/versions/{version}/document': {
      parameters: [PARTNER, API, VERSION],
      get: op('The canonical document (YAML or JSON by Accept); ETag is its sha256', ALL_ROLES, {
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
        { '200': diffResponse, '400': problem, '404': problem },
        { parameters: [queryParam('from', 'Base version'), queryParam('to', 'Revision version'), FORMAT] },
      ),
    },
    '/v1/contracts/{partner}/{api}/history': {
      parameters: [PARTNER, API],
      get: op('Git commits touching the API, newest first', ALL_ROLES, { '200': json({ type: 'array', items: ref('Commit') }), '404': problem }),
    },
    '/v1/control-matrix': {
      get: op(
        'The control matrix as a table: per flow the idempotency strategy, compensations, SLA targets, owner and escalation',
        ALL_ROLES,
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
        { '200': json(ref('MatrixDocument')), '404': problem },
        { parameters: [{ name: 'version', in: 'query', required: false, schema: { type: 'integer', minimum: 1 } }] },
      ),
      put: op(
        'Store a new version of a flow entry (checked against the registered contracts)',
        ['admin', 'author'],
        { '200': json(ref('MatrixVersion'), 'Unchanged'), '201': json(ref('MatrixVersion'), 'New version'), '413': problem, '415': problem, '422': problem },
        { requestBody: { required: true, content: { 'application/yaml': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } } } } },
      ),
    },
    '/v1/control-matrix/{flow}/diff': {
      parameters: [pathParam('flow', 'Flow id')],
      get: op(
        'Classified changes between two versions of a flow entry',
        ALL_ROLES,
        { '200': diffResponse, '400': problem, '404': problem },
        { parameters: [queryParam('from', 'Base version number'), queryParam('to', 'Revision version number'), FORMAT] },
      ),
    },
    '/v1/diff': {
      post: op(
        'Stateless diff of two posted OpenAPI documents',
        ALL_ROLES,
        { '200': diffResponse, '400': problem, '415': problem, '422': problem },
        {
          parameters: [FORMAT],
          requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['base', 'revision'], properties: { base: { type: 'object' }, revision: { type: 'object' } } } } } },
        },
      ),
    },
    '/v1/control-matrix/{flow}/versions': {
      parameters: [pathParam('flow', 'Flow id')],
      get: op('Every version of a flow entry, oldest first', ALL_ROLES, { '200': json({ type: 'array', items: ref('MatrixVersion') }), '404': problem }),
    },
    '/v1/policy': {
      get: op(
        'The governance policy in force (latest or ?version=)',
        ALL_ROLES,
        { '200': json(ref('MatrixDocument')), '404': problem },
        { parameters: [{ name: 'version', in: 'query', required: false, schema: { type: 'integer', minimum: 1 } }] },
      ),
      put: op(
        'Store a new version of the governance policy',
        ['admin'],
        { '200': json(ref('MatrixVersion'), 'Unchanged'), '201': json(ref('MatrixVersion'), 'New version'), '415': problem, '422': problem },
        { requestBody: { required: true, content: { 'application/yaml': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } } } } },
      ),
    },
    '/v1/tokens': {
      get: op('List tokens (never secrets)', ['admin'], { '200': json({ type: 'array', items: ref('Token') }) }),
      post: op(
        'Create a token; the secret is shown once',
        ['admin'],
        { '201': json(ref('CreatedToken')), '422': problem },
        { requestBody: { required: true, content: { 'application/json': { schema: ref('TokenRequest') } } } },
      ),
    },
    '/v1/tokens/{id}': {
      parameters: [pathParam('id', 'Token id')],
      delete: op('Revoke a token', ['admin'], { '204': { description: 'Revoked' }, '404': problem, '409': problem }),
    },
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
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
      TokenRequest: {
        type: 'object',
        required: ['role', 'name'],
        properties: { role: { type: 'string', enum: ALL_ROLES }, partner: { type: 'string' }, name: { type: 'string' } },
      },
      Token: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          name: { type: 'string' },
          role: { type: 'string' },
          partner: { type: ['string', 'null'] },
          createdAt: { type: 'string' },
          createdBy: { type: 'string' },
          revokedAt: { type: ['string', 'null'] },
        },
      },
      CreatedToken: { allOf: [ref('Token'), { type: 'object', properties: { token: { type: 'string', description: 'The secret, shown once' } } }] },
    },
  },
} as const;
