import { z } from '@hono/zod-openapi';
import { ROLES } from '../../auth/principal.ts';
import { CertificationRequest, RUN_STATUSES } from '../../certification/runs.ts';
import { CASE_CATEGORIES, CASE_VERDICTS } from '../../certification/cases.ts';
import { defineOperation, json, jsonBodyOf, pathParam, problem } from '../operation.ts';
import { PageQuery, pagedJson } from '../pages.ts';

/** /v1/certifications: Accord certifies a partner's endpoint (or its own reference partner) against a contract version and its control-matrix flows (issue 20). */

const Message = z.object({ method: z.string(), url: z.string(), headers: z.record(z.string(), z.string()), body: z.string().nullable() });

const Case = z
  .object({
    id: z.string().meta({ description: 'category/operation/what, e.g. idempotency/memberMatch/replay' }),
    category: z.enum(CASE_CATEGORIES),
    operationId: z.string().nullable(),
    flow: z.string().nullable().meta({ description: 'The control-matrix flow whose policy the case checks' }),
    name: z.string().meta({ description: 'What the case expects, in words' }),
    verdict: z.enum(CASE_VERDICTS).meta({ description: 'pending until it has run; error: it could not be judged (counts as a failure)' }),
    findings: z.array(z.string()).meta({ description: 'What was wrong (empty when it passed)' }),
    exchanges: z
      .array(
        z.object({
          request: Message,
          response: z.object({ status: z.number().int(), headers: z.record(z.string(), z.string()), body: z.string() }).nullable(),
          error: z.string().optional().meta({ description: 'Why there was no answer' }),
          durationMs: z.number().int(),
        }),
      )
      .meta({ description: 'The requests sent and the answers (credentials redacted, bodies cut at 4 KB)' }),
  })
  .meta({ id: 'CertificationCase' });

const RunFields = {
  id: z.string(),
  partner: z.string(),
  api: z.string(),
  version: z.string(),
  environment: z.string(),
  target: z.enum(['endpoint', 'reference']),
  contentSha256: z.string().meta({ description: 'The registered content certified: evidence is bound to it' }),
  seed: z.number().int(),
  status: z.enum(RUN_STATUSES).meta({ description: 'running, then passed (every case passed), failed, or error (the run could not finish: abandoned by a stopped replica)' }),
  progress: z.object({ total: z.number().int(), done: z.number().int(), failed: z.number().int() }),
  trigger: z.enum(['request', 'schedule']),
  error: z.string().nullable(),
  createdAt: z.string(),
  createdBy: z.string(),
  finishedAt: z.string().nullable(),
  evidence: z.array(z.object({ id: z.string(), kind: z.string(), result: z.string() })).meta({ description: 'The evidence the finished run recorded (producedBy accord), one per kind its cases prove' }),
  driftNoticeId: z.string().nullable().meta({ description: 'The partner-drift notice, when it failed after a release to its environment' }),
  notes: z.array(z.string()),
};

const CertificationRun = z.object({ ...RunFields, cases: z.array(Case) }).meta({ id: 'CertificationRun' });
const CertificationRunSummary = z.object(RunFields).meta({ id: 'CertificationRunSummary' });
const RUN_ROLES = ['admin', 'ci', 'operator', 'partner'] as const;
const params = { params: z.object({ id: pathParam('Certification run id (crt_…)') }) };

export const startCertification = defineOperation({
  operationId: 'startCertification',
  method: 'post',
  path: '/v1/certifications',
  tags: ['Certifications'],
  summary: 'Certify a partner’s endpoint (or Accord’s reference partner) against a contract version and its control-matrix flows',
  description:
    'Plans the suite (contract cases from examples and seeded schema-derived inputs, idempotency judged from outside, duplicate handling per replay policy, failure behaviour per retry policy and compensation, trace completeness, deprecation headers), answers 202 with `Location` and runs it in the background. A finished run records evidence (`producedBy: accord`) bound to the version’s content. A partner certifies its own endpoints.',
  roles: RUN_ROLES,
  scope: 'certifications',
  request: { body: jsonBodyOf(CertificationRequest) },
  invalid: { detail: 'Invalid certification request' },
  responses: { 202: { ...json(CertificationRun, 'Started: poll Location'), headers: z.object({ Location: z.string() }) }, 403: problem, 404: problem, 409: problem, 422: problem, 503: problem },
});

export const getCertification = defineOperation({
  operationId: 'getCertification',
  method: 'get',
  path: '/v1/certifications/{id}',
  tags: ['Certifications'],
  summary: 'A certification run: progress, then every case with its requests, answers and verdict',
  description: 'Poll it while `status` is `running` (`progress` counts the cases done and failed); cases not yet run are `pending`. A partner reads its own runs only (404 otherwise).',
  roles: ROLES,
  scope: 'certifications',
  request: params,
  responses: { 200: json(CertificationRun), 404: problem },
});

export const getCertificationJunit = defineOperation({
  operationId: 'getCertificationJunit',
  method: 'get',
  path: '/v1/certifications/{id}/junit',
  tags: ['Certifications'],
  summary: 'A certification run as a JUnit XML report (a testsuite per category)',
  description: 'A testcase per case: `failure` for a failed case, `error` for one that could not be judged, `skipped` for one not yet run; the messages are the findings. For CI systems that read JUnit (`accord certify --junit`).',
  roles: ROLES,
  scope: 'certifications',
  request: params,
  responses: { 200: { description: 'JUnit XML', content: { 'application/xml': { schema: z.string() } } }, 404: problem },
});

export const listCertifications = defineOperation({
  operationId: 'listCertifications',
  method: 'get',
  path: '/v1/certifications',
  tags: ['Certifications'],
  summary: 'Certification runs, newest first (a partner sees its own)',
  description: 'Without cases. Pages of `limit` (default 100), `Link: rel="next"` while more follow.',
  roles: ROLES,
  scope: 'certifications',
  request: {
    query: PageQuery(100).extend({
      partner: z.string().optional().meta({ description: 'Only this partner’s runs' }),
      api: z.string().optional().meta({ description: 'Only runs of this API' }),
      version: z.string().optional().meta({ description: 'Only runs of this version' }),
      environment: z.string().optional().meta({ description: 'Only runs in this environment' }),
    }),
  },
  responses: { 200: pagedJson(z.array(CertificationRunSummary)), 400: problem },
});

export const certificationOperations = [startCertification, listCertifications, getCertification, getCertificationJunit];
