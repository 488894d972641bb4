import { z } from '@hono/zod-openapi';
import { ROLES, STAFF_ROLES } from '../../auth/principal.ts';
import { MATRIX_TABLE_FORMATS } from '../../matrix/render.ts';
import { MATRIX_KINDS } from '../../matrix/store.ts';
import { defineOperation, json, pathParam, problem } from '../operation.ts';
import { documentBody } from './contracts.ts';
import { DiffFormatQuery, DiffResult, diffResponse } from './diff.ts';

/** /v1/control-matrix: the network's flow entries (idempotency, steps, compensations, SLAs, escalation), versioned. */

const POSITIVE_INTEGER = 'positive integer';

/**
 * A stored version number as a query parameter: 1, 2, …
 * @param missing the finding's message when it is left out (or repeated)
 */
export function versionNumber(missing = POSITIVE_INTEGER) {
  return z
    .string({ error: missing })
    .regex(/^[1-9]\d{0,8}$/, POSITIVE_INTEGER)
    .transform(Number)
    .meta({ description: 'Version number (1, 2, …)' });
}

const MatrixVersionFields = z.object({
  name: z.string(),
  kind: z.enum(MATRIX_KINDS),
  version: z.number().int(),
  sha256: z.string(),
  commit: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
});

/** One stored version of a flow entry or of the policy. */
export const MatrixVersion = MatrixVersionFields.meta({ id: 'MatrixVersion' });

/** A stored version with its content. */
export const MatrixDocument = MatrixVersionFields.extend({ entry: z.record(z.string(), z.unknown()).meta({ description: 'The flow entry or the policy, as stored' }) }).meta({ id: 'MatrixDocument' });

const MatrixRow = z
  .object({
    flow: z.string(),
    title: z.string(),
    version: z.number().int(),
    owner: z.string(),
    contract: z.string(),
    idempotency: z.string(),
    steps: z.string(),
    compensations: z.string(),
    sla: z.string(),
    interventions: z.string(),
    escalation: z.string(),
  })
  .meta({ id: 'MatrixRow', description: 'One flow as table cells (one line per item, joined with "\\n")' });

const FlowParams = z.object({ flow: pathParam('Flow id') });

const Location = z.object({ Location: z.string().meta({ description: 'The stored version’s URL' }) });

export const getControlMatrix = defineOperation({
  operationId: 'getControlMatrix',
  method: 'get',
  path: '/v1/control-matrix',
  tags: ['Control matrix'],
  summary: 'The control matrix as a table: per flow the idempotency strategy, compensations, SLA targets, owner and escalation',
  description: 'The latest version of every flow entry, as JSON rows, CSV (RFC 4180, with a header row) or a Markdown table (`?format=`).',
  roles: ROLES,
  scope: 'matrix:read',
  request: { query: z.object({ format: z.enum(MATRIX_TABLE_FORMATS, { error: MATRIX_TABLE_FORMATS.join(' | ') }).default('json') }) },
  responses: {
    200: {
      description: 'Table',
      content: { 'application/json': { schema: z.array(MatrixRow) }, 'text/csv': { schema: z.string() }, 'text/markdown': { schema: z.string() } },
    },
    400: problem,
  },
});

export const validateMatrixEntry = defineOperation({
  operationId: 'validateMatrixEntry',
  method: 'post',
  path: '/v1/control-matrix/validate',
  tags: ['Control matrix'],
  summary: 'Dry-run the checks on a flow entry; nothing is stored',
  description: 'Every check a stored entry must pass, against the registered contracts: 200 when all pass, 422 with `valid: false` and the findings (rule, location, message) otherwise.',
  roles: STAFF_ROLES,
  scope: 'matrix:read',
  request: {
    query: z.object({ flow: z.string().optional().meta({ description: 'Check that the entry names this flow' }) }),
    body: documentBody('A flow entry as YAML or JSON'),
  },
  responses: {
    200: json(z.object({ valid: z.literal(true), errors: z.array(z.unknown()).max(0) }), 'Every check passes'),
    413: problem,
    415: problem,
    422: problem,
  },
});

export const getMatrixEntry = defineOperation({
  operationId: 'getMatrixEntry',
  method: 'get',
  path: '/v1/control-matrix/{flow}',
  tags: ['Control matrix'],
  summary: 'The latest (or ?version=) entry of a flow',
  description: 'The entry with its version metadata.',
  roles: ROLES,
  scope: 'matrix:read',
  request: { params: FlowParams, query: z.object({ version: versionNumber().optional() }) },
  responses: { 200: json(MatrixDocument), 400: problem, 404: problem },
});

export const putMatrixEntry = defineOperation({
  operationId: 'putMatrixEntry',
  method: 'put',
  path: '/v1/control-matrix/{flow}',
  tags: ['Control matrix'],
  summary: 'Store a new version of a flow entry (checked against the registered contracts)',
  description: 'A new version (one Git commit and tag) when its canonical content differs from the latest; identical content → 200 with the latest. Findings → 422 with `errors[{rule, location, message}]`.',
  roles: ['admin', 'author'],
  scope: 'matrix:write',
  request: { params: FlowParams, body: documentBody('The flow entry as YAML or JSON') },
  responses: {
    200: { ...json(MatrixVersion, 'Unchanged'), headers: Location },
    201: { ...json(MatrixVersion, 'New version'), headers: Location },
    400: problem,
    409: problem,
    413: problem,
    415: problem,
    422: problem,
  },
});

export const listMatrixEntryVersions = defineOperation({
  operationId: 'listMatrixEntryVersions',
  method: 'get',
  path: '/v1/control-matrix/{flow}/versions',
  tags: ['Control matrix'],
  summary: 'Every version of a flow entry, oldest first',
  description: 'Each version’s number, content hash, commit, time and author.',
  roles: ROLES,
  scope: 'matrix:read',
  request: { params: FlowParams },
  responses: { 200: json(z.array(MatrixVersion)), 404: problem },
});

export const diffMatrixEntryVersions = defineOperation({
  operationId: 'diffMatrixEntryVersions',
  method: 'get',
  path: '/v1/control-matrix/{flow}/diff',
  tags: ['Control matrix'],
  summary: 'Classified changes between two versions of a flow entry',
  description: 'Classified like contract changes: what weakens a guarantee partners or operators rely on (a shorter dedupe window, a changed replay policy, a looser SLA, a removed escalation) is breaking.',
  roles: ROLES,
  scope: 'matrix:read',
  request: {
    params: FlowParams,
    query: DiffFormatQuery.extend({ from: versionNumber('required').meta({ description: 'Base version number' }), to: versionNumber('required').meta({ description: 'Revision version number' }) }),
  },
  responses: {
    200: diffResponse(DiffResult.extend({ flow: z.string(), from: z.number().int(), to: z.number().int() }).meta({ id: 'MatrixDiff' })),
    400: problem,
    404: problem,
  },
});

export const matrixOperations = [getControlMatrix, validateMatrixEntry, getMatrixEntry, putMatrixEntry, listMatrixEntryVersions, diffMatrixEntryVersions];
