import { z } from '@hono/zod-openapi';
import { EVIDENCE_PRODUCERS, EVIDENCE_RESULTS, EvidenceRecord, JunitEvidenceParams } from '../../evidence/evidence.ts';
import { EVIDENCE_KINDS } from '../../matrix/schema.ts';
import { defineOperation, json, jsonBodyOf, problem } from '../operation.ts';
import { PageQuery, pagedJson } from '../pages.ts';
import { STAFF_ROLES } from '../../auth/principal.ts';

const Evidence = z
  .object({
    id: z.string(),
    partner: z.string(),
    api: z.string(),
    version: z.string(),
    kind: z.enum(EVIDENCE_KINDS),
    result: z.enum(EVIDENCE_RESULTS),
    sha256: z.string(),
    uri: z.string(),
    environment: z.string(),
    commit: z.string(),
    producedAt: z.string(),
    expiresAt: z.string().nullable(),
    report: z.object({ tests: z.number().int(), failures: z.number().int(), errors: z.number().int(), skipped: z.number().int() }).nullable().meta({ description: 'The JUnit counts, for evidence from a report' }),
    reportSha256: z.string().nullable(),
    createdAt: z.string(),
    createdBy: z.string(),
    producedBy: z.enum(EVIDENCE_PRODUCERS).meta({ description: 'Who produced it: `accord` — Accord itself, a certification run or a synthetic check; `caller` — posted by a CI job or a person (POST /v1/evidence, /v1/evidence/junit)' }),
    boundToContent: z.boolean().meta({ description: 'Whether it is for the registered content of the version (evidence for other content never counts)' }),
  })
  .meta({ id: 'Evidence' });

/**
 * The JUnit report's query parameters as documented. The handler checks them with
 * JunitEvidenceParams: a finding in them is 422 with JSON pointers, as in POST /v1/evidence's body.
 */
const OPTIONAL_PARAMS = new Set(['expiresAt', 'producedBy']);
const junitQuery = z.object(
  Object.fromEntries(Object.keys(JunitEvidenceParams.shape).map((name) => [name, z.string().optional().openapi({ param: { required: !OPTIONAL_PARAMS.has(name) }, description: `The record’s ${name}, as in POST /v1/evidence` })])),
);

export const listEvidence = defineOperation({
  operationId: 'listEvidence',
  method: 'get',
  path: '/v1/evidence',
  tags: ['Evidence'],
  summary: 'Evidence recorded for a version',
  description: 'Newest produced first, each marked whether it is bound to the registered content. Pages of `limit` (default 100), `Link: rel="next"` while more follow.',
  roles: STAFF_ROLES,
  scope: 'evidence:read',
  request: {
    query: PageQuery(100).extend({
      partner: z.string({ error: 'partner, api and version are required' }).min(1, 'partner, api and version are required').meta({ description: 'The partner whose version it is (required)' }),
      api: z.string({ error: 'partner, api and version are required' }).min(1, 'partner, api and version are required').meta({ description: 'The API (required)' }),
      version: z.string({ error: 'partner, api and version are required' }).min(1, 'partner, api and version are required').meta({ description: 'The version (semver) (required)' }),
    }),
  },
  responses: { 200: pagedJson(z.array(Evidence)), 400: problem },
});

export const addEvidence = defineOperation({
  operationId: 'addEvidence',
  method: 'post',
  path: '/v1/evidence',
  tags: ['Evidence'],
  summary: 'Record release evidence, bound to the contract content sha256',
  description: 'Evidence counts for a release only when its sha256 is the registered content’s; evidence for other content is kept but never counts.',
  roles: ['admin', 'ci', 'author'],
  scope: 'evidence:write',
  request: { body: jsonBodyOf(EvidenceRecord) },
  invalid: { detail: 'Invalid evidence' },
  responses: { 201: json(Evidence, 'Recorded'), 404: problem, 422: problem },
});

export const addJunitEvidence = defineOperation({
  operationId: 'addJunitEvidence',
  method: 'post',
  path: '/v1/evidence/junit',
  tags: ['Evidence'],
  summary: 'Record evidence from a JUnit XML report (counts tests, failures, errors, skipped)',
  description: 'The report is the body (application/xml, text/xml or application/junit+xml; 415 otherwise), the other fields query parameters. It passes when some test ran and none failed or errored; Accord keeps the counts and the report’s sha256.',
  roles: ['admin', 'ci', 'author'],
  scope: 'evidence:write',
  request: {
    query: junitQuery,
    body: { required: true, content: { 'application/xml': { schema: z.string() }, 'text/xml': { schema: z.string() }, 'application/junit+xml': { schema: z.string() } } },
  },
  responses: { 201: json(Evidence, 'Recorded'), 404: problem, 415: problem, 422: problem },
});

export const evidenceOperations = [listEvidence, addEvidence, addJunitEvidence];
