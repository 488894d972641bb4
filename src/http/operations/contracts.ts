import { z } from '@hono/zod-openapi';
import { ROLES } from '../../auth/principal.ts';
import { CONSUMER_LIST_PROBLEM, ConsumerList } from '../../changes/consumers.ts';
import { USAGE_PROBLEM, UsageDeclaration } from '../../changes/usage.ts';
import { JSON_TYPES, YAML_TYPES } from '../../contracts/document.ts';
import { CONTRACT_STATES } from '../../contracts/versions.ts';
import { VersionPair } from '../../diff/service.ts';
import { BUMPS } from '../../diff/types.ts';
import { LINT_SEVERITIES } from '../../lint/findings.ts';
import { DEPRECATION_PROBLEM, DeprecationRequest } from '../../notices/notices.ts';
import { defineOperation, json, jsonBodyOf, pathParam, problem } from '../operation.ts';
import { PageQuery, pagedJson } from '../pages.ts';
import { Change, ContractDiff, DiffFormatQuery, DiffSummary, diffResponse, OPENAPI_DOCUMENT_JSON } from './diff.ts';

/** /v1/contracts: registered API contracts, their versions, documents, diffs, history, consumers and deprecations. */

/**
 * A document upload (a contract, a control-matrix entry, the policy): YAML or JSON text, parsed
 * and checked by Accord itself (bounded YAML, findings as JSON pointers), not by a schema here.
 */
export function documentBody(description: string, json: object = { type: 'object', additionalProperties: true, description: 'The same document as a JSON object' }) {
  // Plain JSON Schema, not zod: the handler reads and checks the text itself (serve validates zod bodies).
  return {
    required: true,
    description,
    content: Object.fromEntries([...YAML_TYPES.map((type) => [type, { schema: { type: 'string' as const, description: 'The document as YAML text' } }]), ...JSON_TYPES.map((type) => [type, { schema: json }])]),
  };
}


const Partner = pathParam('Partner id');
const Api = pathParam('API id');
const ApiParams = z.object({ partner: Partner, api: Api });
const VersionParams = ApiParams.extend({ version: pathParam('Semantic version') });

const ContractSummary = z
  .object({ partner: z.string(), api: z.string(), latestVersion: z.string(), versionCount: z.number().int() })
  .meta({ id: 'ContractSummary' });

const ContractVersionFields = z.object({
  partner: z.string(),
  api: z.string(),
  version: z.string(),
  state: z.enum(CONTRACT_STATES),
  sha256: z.string().meta({ description: 'sha256 of the canonical YAML' }),
  commit: z.string(),
  createdAt: z.string().meta({ format: 'date-time' }),
  createdBy: z.string(),
});
const ContractVersion = ContractVersionFields.meta({ id: 'ContractVersion' });

/** One style-rule finding, positioned in the linted text (1-based). */
export const LintFinding = z
  .object({
    rule: z.string(),
    severity: z.enum(LINT_SEVERITIES),
    message: z.string(),
    location: z.string().meta({ description: 'JSON pointer' }),
    line: z.number().int(),
    column: z.number().int(),
    endLine: z.number().int(),
    endColumn: z.number().int(),
  })
  .meta({ id: 'LintFinding' });

const RegisteredVersion = ContractVersionFields.extend({
  diff: z
    .object({
      against: z.string().meta({ description: 'The version before it (for a release: the previous release)' }),
      summary: DiffSummary,
      bump: z.enum(BUMPS),
      breaking: z.array(Change).meta({ description: 'The breaking changes, each distinct rule and location once (at most 50)' }),
    })
    .optional()
    .meta({ description: 'The diff against the version before it, when there is one' }),
  lint: z
    .object({
      ruleset: z.string().meta({ description: '`spectral:oas` (no network ruleset stored) or `network ruleset v<N>`' }),
      olderVersion: z.boolean().meta({ description: 'Not above the newest registered version of the API: errors are reported as warnings' }),
      errors: z.number().int().meta({ description: 'Always 0: error-level findings refuse the registration (422)' }),
      warnings: z.array(LintFinding),
    })
    .optional()
    .meta({ description: 'The style rules’ findings below error level' }),
}).meta({ id: 'RegisteredVersion' });

const Commit = z.object({ sha: z.string(), author: z.string(), email: z.string(), date: z.string(), message: z.string() }).meta({ id: 'Commit' });

const ConsumerUsage = z
  .object({
    consumer: z.string(),
    declared: z.array(z.string()).nullable().meta({ description: 'The operationIds it declared it calls; null when it declared none' }),
    declaredAt: z.string().nullable(),
    declaredBy: z.string().nullable(),
    observed: z.array(z.string()).meta({ description: 'The operationIds it called through the exchange runtime since `observedSince`' }),
    operations: z.array(z.string()).nullable().meta({ description: 'declared ∪ observed: what it uses; null when unknown (it counts as affected by every change)' }),
  })
  .meta({ id: 'ConsumerUsage' });

const Consumers = z.object({
  consumers: z.array(z.string()),
  observedSince: z.string().meta({ description: 'Exchange calls since then count as observed usage (ACCORD_USAGE_WINDOW)' }),
  usage: z.array(ConsumerUsage).meta({ description: 'What each consumer uses: every consumer for staff and the provider, its own entry for a consumer, none for another partner' }),
});

const Deprecation = z.object({
  partner: z.string(),
  api: z.string(),
  version: z.string(),
  state: z.literal('deprecated'),
  deprecatedAt: z.string(),
  sunset: z.string(),
  successor: z.string().nullable(),
  reason: z.string(),
  noticeId: z.string().meta({ description: 'The notice sent to the provider and the consumers' }),
});

const Location = z.object({ Location: z.string().meta({ description: 'The version’s URL' }) });

export const listContracts = defineOperation({
  operationId: 'listContracts',
  method: 'get',
  path: '/v1/contracts',
  tags: ['Contracts'],
  summary: 'APIs with their latest visible version',
  description: 'Every API with the newest version the caller can see and how many it can see. A partner sees its own drafts and every partner’s released, deprecated and retired versions. Pages of `limit` (default 100), `Link: rel="next"` while more follow.',
  roles: ROLES,
  scope: 'contracts:read',
  request: { query: PageQuery(100) },
  responses: { 200: pagedJson(z.array(ContractSummary)), 400: problem },
});

export const listContractVersions = defineOperation({
  operationId: 'listContractVersions',
  method: 'get',
  path: '/v1/contracts/{partner}/{api}/versions',
  tags: ['Contracts'],
  summary: 'Visible versions in semver order',
  description: 'The versions of one API the caller can see, lowest first; 404 when it can see none. Pages of `limit` (default 100), `Link: rel="next"` while more follow.',
  roles: ROLES,
  scope: 'contracts:read',
  request: { params: ApiParams, query: PageQuery(100) },
  responses: { 200: pagedJson(z.array(ContractVersion)), 400: problem, 404: problem },
});

export const registerContractVersion = defineOperation({
  operationId: 'registerContractVersion',
  method: 'post',
  path: '/v1/contracts/{partner}/{api}/versions',
  tags: ['Contracts'],
  summary: 'Register a contract version',
  description:
    'Validates the document (OpenAPI 3.0/3.1, no external `$ref`s) and lints it with the network ruleset in force (spectral:oas while none is stored): error-level findings → 422 with `errors[{rule, location, message, line, column}]`, warnings returned in `lint`; a version not above the newest registered one of its API has its errors reported as warnings. Then commits its canonical YAML with an annotated tag and indexes it as a draft. The same version with identical content again → 200; different content → 409 (versions are immutable). A version with breaking changes against the one before it must be a major bump (409 listing them), unless an admin passes `allowBreaking=true`.',
  roles: ['admin', 'author'],
  scope: 'contracts:write',
  request: {
    params: ApiParams,
    query: z.object({
      version: z.string().optional().meta({ description: 'Version; defaults to info.version' }),
      allowBreaking: z.string().optional().meta({ description: '`true` (admin only): register breaking changes without a major version bump' }),
    }),
    body: documentBody('The OpenAPI document as YAML or JSON', OPENAPI_DOCUMENT_JSON),
  },
  responses: {
    200: { ...json(RegisteredVersion, 'Identical version already registered'), headers: Location },
    201: { ...json(RegisteredVersion, 'Registered'), headers: Location },
    400: problem,
    409: problem,
    413: problem,
    415: problem,
    422: problem,
  },
});

export const getContractVersion = defineOperation({
  operationId: 'getContractVersion',
  method: 'get',
  path: '/v1/contracts/{partner}/{api}/versions/{version}',
  tags: ['Contracts'],
  summary: 'Version metadata',
  description: 'One version the caller can see; a version it cannot see answers 404 like an absent one.',
  roles: ROLES,
  scope: 'contracts:read',
  request: { params: VersionParams },
  responses: { 200: json(ContractVersion), 404: problem },
});

export const getContractDocument = defineOperation({
  operationId: 'getContractDocument',
  method: 'get',
  path: '/v1/contracts/{partner}/{api}/versions/{version}/document',
  tags: ['Contracts'],
  summary: 'The canonical document (YAML or JSON by Accept); ETag is its sha256',
  description: 'YAML unless `Accept` prefers JSON (406 when it accepts neither). `If-None-Match` with the ETag answers 304.',
  roles: ROLES,
  scope: 'contracts:read',
  request: { params: VersionParams },
  responses: {
    200: {
      description: 'Document',
      content: {
        'application/yaml': { schema: z.string() },
        'application/json': { schema: OPENAPI_DOCUMENT_JSON },
        'text/yaml': { schema: z.string() },
      },
    },
    304: { description: 'Not modified (If-None-Match)' },
    404: problem,
    406: problem,
  },
});

export const diffContractVersions = defineOperation({
  operationId: 'diffContractVersions',
  method: 'get',
  path: '/v1/contracts/{partner}/{api}/diff',
  tags: ['Contracts'],
  summary: 'Classified changes between two registered versions (Accord rules plus openapi-diff second opinion)',
  description:
    'Both versions must be visible to the caller (404 otherwise). Each change carries its `consequence` for partners; openapi-diff’s second opinion is skipped for OpenAPI 3.1 (`openapiDiff: {status: skipped, reason: openapi-3.1}`). `format=sarif` names the versions `partner/api@version` and points at the lines of their stored YAML.',
  roles: ROLES,
  scope: 'contracts:read',
  request: { params: ApiParams, query: VersionPair.extend(DiffFormatQuery.shape) },
  responses: {
    200: diffResponse(ContractDiff.extend({ partner: z.string(), api: z.string(), from: z.string(), to: z.string() }).meta({ id: 'ContractVersionsDiff' })),
    400: problem,
    404: problem,
  },
});

export const listContractHistory = defineOperation({
  operationId: 'listContractHistory',
  method: 'get',
  path: '/v1/contracts/{partner}/{api}/history',
  tags: ['Contracts'],
  summary: 'Git commits touching the API, newest first',
  description: 'Another partner sees only the commits of versions it may see. Pages of `limit` (default 100), `Link: rel="next"` while more follow.',
  roles: ROLES,
  scope: 'contracts:read',
  request: { params: ApiParams, query: PageQuery(100) },
  responses: { 200: pagedJson(z.array(Commit)), 400: problem, 404: problem },
});

export const getContractConsumers = defineOperation({
  operationId: 'getContractConsumers',
  method: 'get',
  path: '/v1/contracts/{partner}/{api}/consumers',
  tags: ['Contracts'],
  summary: 'Partners that consume the API (explicit list, else every other partner implementing it) and what each uses',
  description: 'They receive its notices and acknowledge the breaking changes that touch what they use. `usage` lists per consumer the operationIds it declared and those it was observed calling through the exchange (every consumer for staff and the provider; a consumer sees its own entry; another partner none).',
  roles: ROLES,
  scope: 'contracts:read',
  request: { params: ApiParams },
  responses: { 200: json(Consumers) },
});

export const setContractConsumers = defineOperation({
  operationId: 'setContractConsumers',
  method: 'put',
  path: '/v1/contracts/{partner}/{api}/consumers',
  tags: ['Contracts'],
  summary: 'Set the explicit consumer list (empty restores the default)',
  description: 'Admin only: who must acknowledge a breaking change is not for the change’s author to decide. A partner does not consume its own API (422).',
  roles: ['admin'],
  scope: 'contracts:write',
  request: { params: ApiParams, body: jsonBodyOf(ConsumerList) },
  invalid: { detail: CONSUMER_LIST_PROBLEM },
  responses: { 200: json(Consumers), 422: problem },
});

export const declareConsumerUsage = defineOperation({
  operationId: 'declareConsumerUsage',
  method: 'put',
  path: '/v1/contracts/{partner}/{api}/consumers/{consumer}/usage',
  tags: ['Contracts'],
  summary: 'Declare the operations a consumer calls (replaces its earlier declaration)',
  description:
    'An admin, or the consumer’s own partner token (403 for anyone else). The consumer must be one of the API’s consumers and every operationId must exist in a registered version of the API the caller can see (422 listing each problem; nothing is written). Change requests opened afterwards ask it to acknowledge only changes that touch what it uses (declared ∪ observed).',
  roles: ['admin', 'partner'],
  scope: 'contracts:write',
  request: { params: ApiParams.extend({ consumer: pathParam('The consuming partner') }), body: jsonBodyOf(UsageDeclaration) },
  invalid: { detail: USAGE_PROBLEM },
  responses: { 200: json(ConsumerUsage), 404: problem, 422: problem },
});

export const deprecateContractVersion = defineOperation({
  operationId: 'deprecateContractVersion',
  method: 'post',
  path: '/v1/contracts/{partner}/{api}/versions/{version}/deprecation',
  tags: ['Contracts'],
  summary: 'Deprecate a released version with a sunset (at least the policy minimum notice away)',
  description: 'Only a released version (409 otherwise); the successor must be a registered version of the same API. The provider and the consumers get a deprecation notice.',
  roles: ['admin', 'author'],
  scope: 'contracts:write',
  request: { params: VersionParams, body: jsonBodyOf(DeprecationRequest) },
  invalid: { detail: DEPRECATION_PROBLEM },
  responses: { 201: json(Deprecation, 'Deprecated'), 404: problem, 409: problem, 422: problem },
});

export const getReleaseNotes = defineOperation({
  operationId: 'getReleaseNotes',
  method: 'get',
  path: '/v1/contracts/{partner}/{api}/versions/{version}/release-notes',
  tags: ['Contracts'],
  summary: 'Partner-facing release notes (Markdown changelog of the version)',
  description: 'What the version changes since the newest lower version released to production (else the version before it), headed by its deprecation if it has one.',
  roles: ROLES,
  scope: 'contracts:read',
  request: { params: VersionParams },
  responses: { 200: { description: 'Markdown', content: { 'text/markdown': { schema: z.string() } } }, 404: problem },
});

export const contractOperations = [
  listContracts,
  listContractVersions,
  registerContractVersion,
  getContractVersion,
  getContractDocument,
  diffContractVersions,
  listContractHistory,
  getContractConsumers,
  setContractConsumers,
  declareConsumerUsage,
  deprecateContractVersion,
  getReleaseNotes,
];
