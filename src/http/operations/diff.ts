import { z } from '@hono/zod-openapi';
import { ROLES } from '../../auth/principal.ts';
import { DIFF_FORMATS } from '../../diff/render.ts';
import { formatParam } from '../formats.ts';
import { POSTED_DOCUMENTS_PROBLEM, SECOND_OPINION_STATUSES } from '../../diff/service.ts';
import { BUMPS, DIRECTIONS, LEVELS } from '../../diff/types.ts';
import { defineOperation, jsonBodyOf, problem } from '../operation.ts';

/** The classified changes a diff lists, and the schemas of its answers (shared by the contract and matrix diffs). */

const Counts = z.object({ breaking: z.number().int(), warning: z.number().int(), info: z.number().int() });

/** Counts by level, also with a change to a shared schema counted once. */
export const DiffSummary = Counts.extend({
  total: z.number().int(),
  distinct: Counts.meta({ description: 'The same counts with a change to a shared schema counted once, not once per operation' }),
}).meta({ id: 'DiffSummary' });

/** One classified difference. */
export const Change = z
  .object({
    rule: z.string().meta({ description: 'Stable rule id (oasdiff check ids), e.g. request-property-became-required' }),
    level: z.enum(LEVELS),
    direction: z.enum(DIRECTIONS),
    method: z.string().optional(),
    path: z.string().optional(),
    operationId: z.string().optional(),
    summary: z.string().optional().meta({ description: 'The operation’s summary' }),
    subject: z.string().optional().meta({ description: 'What changed, as a partner names it: a property path, a parameter or header name, a media type, a status' }),
    location: z.string().meta({ description: 'JSON pointer into the revision (or the base, for what the revision no longer has)' }),
    message: z.string(),
    consequence: z.string().optional().meta({ description: 'What the change means for partners, in one plain-language sentence (the subject as `inline code`); in diff answers, not in stored snapshots' }),
  })
  .meta({ id: 'Change' });

const SecondOpinion = z
  .object({
    status: z.enum(SECOND_OPINION_STATUSES),
    durationMs: z.number().optional(),
    error: z.string().optional(),
    reason: z.string().optional(),
    reported: z.number().int().optional().meta({ description: 'Findings it added that Accord’s rules do not cover (as warnings)' }),
  })
  .meta({ description: 'What the openapi-diff second opinion did' });

/** A classified diff: the changes, their counts and the bump they require. */
export const DiffResult = z.object({ changes: z.array(Change), summary: DiffSummary, bump: z.enum(BUMPS) });

/** A contract diff: Accord's rules plus openapi-diff's second opinion. */
export const ContractDiff = DiffResult.extend({ openapiDiff: SecondOpinion }).meta({ id: 'Diff' });

/** `?format=` of a diff: json (default), markdown (a changelog grouped by operation), text, or sarif (SARIF 2.1.0 for code-scanning tools); else `Accept`. */
export const DiffFormatQuery = z.object({
  format: formatParam(DIFF_FORMATS),
});

/** A diff's answer: `schema` as JSON, the changelog as Markdown or text, or SARIF 2.1.0 (`?format=`). */
export function diffResponse<S extends z.ZodType>(schema: S) {
  return {
    description: 'Diff',
    content: {
      'application/json': { schema },
      'text/markdown': { schema: z.string() },
      'text/plain': { schema: z.string() },
      'application/sarif+json': { schema: z.object({ version: z.literal('2.1.0'), runs: z.array(z.record(z.string(), z.unknown())) }).meta({ description: 'SARIF 2.1.0 log: one run of accord-diff' }) },
    },
  };
}

/** An OpenAPI 3.x document as JSON (plain JSON Schema for an uploaded body): what Accord reads first; the rest is checked by the registration rules. */
export const OPENAPI_DOCUMENT_JSON = {
  type: 'object' as const,
  required: ['openapi', 'info'],
  properties: {
    openapi: { type: 'string' as const, description: 'The OpenAPI version, 3.0.x or 3.1.x' },
    info: { type: 'object' as const, required: ['title', 'version'], properties: { title: { type: 'string' as const }, version: { type: 'string' as const } }, additionalProperties: true },
    paths: { type: 'object' as const, additionalProperties: { type: 'object' as const, additionalProperties: true } },
  },
  additionalProperties: true,
  description: 'The OpenAPI document as JSON, without external $refs',
};

/** An OpenAPI document as posted: a JSON object, kept exactly as sent. */
const PostedDocument = z
  .custom<Record<string, unknown>>((value) => typeof value === 'object' && value !== null && !Array.isArray(value), { error: 'must be an OpenAPI document (object)' })
  .meta({ ...OPENAPI_DOCUMENT_JSON, description: 'An OpenAPI 3.x document without external $refs' });

export const diffDocuments = defineOperation({
  operationId: 'diffDocuments',
  method: 'post',
  path: '/v1/diff',
  tags: ['Diff'],
  summary: 'Stateless diff of two posted OpenAPI documents',
  description: 'The classified changes from `base` to `revision`, each with its `consequence` for partners, by Accord’s rules plus openapi-diff’s second opinion within its time budget (skipped for OpenAPI 3.1, which it cannot read); nothing is stored. External `$ref`s are refused (422), never fetched. `format=sarif` names the documents `base` and `revision`.',
  roles: ROLES,
  scope: 'contracts:read',
  request: { query: DiffFormatQuery, body: jsonBodyOf(z.object({ base: PostedDocument, revision: PostedDocument })) },
  invalid: { detail: POSTED_DOCUMENTS_PROBLEM },
  responses: { 200: diffResponse(ContractDiff), 400: problem, 413: problem, 415: problem, 422: problem },
});

export const diffOperations = [diffDocuments];
