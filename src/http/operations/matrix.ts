import { z } from '@hono/zod-openapi';
import { ROLES, STAFF_ROLES } from '../../auth/principal.ts';
import { ChangeReview } from '../../changes/changes.ts';
import { BREAK_GLASS_RULE, PROPOSAL_FILTERS } from '../../matrix/proposals.ts';
import { MATRIX_TABLE_FORMATS } from '../../matrix/render.ts';
import { formatParam } from '../formats.ts';
import { MATRIX_KINDS, MATRIX_STATUSES } from '../../matrix/store.ts';
import { defineOperation, json, jsonBodyOf, pathParam, problem } from '../operation.ts';
import { PageQuery, pagedJson } from '../pages.ts';
import { documentBody } from './contracts.ts';
import { DiffFormatQuery, DiffResult, DiffSummary, diffResponse } from './diff.ts';

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
  status: z.enum(MATRIX_STATUSES).meta({ description: 'approved (the newest approved version governs), proposed (awaiting review), rejected or superseded' }),
  baseVersion: z.number().int().nullable().meta({ description: 'The approved version it was written against (null for the first)' }),
  decidedAt: z.string().nullable(),
  decidedBy: z.string().nullable(),
  breakGlass: z.string().nullable().meta({ description: 'Why an admin stored it approved without review' }),
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

const ETAG = 'The flow’s approved version, e.g. "v3": send it back as If-Match when proposing a change';
const ETag = z.object({ ETag: z.string().meta({ description: ETAG }) });

const MatrixProposal = MatrixVersionFields.extend({
  breaking: z.boolean().meta({ description: 'Whether its diff against its base weakens a guarantee (then the policy’s approvals.breaking apply)' }),
  diff: z.object({ summary: DiffSummary, bump: z.string(), changes: z.array(z.unknown()).optional() }),
  approvals: z.object({ counted: z.number().int(), required: z.number().int(), by: z.array(z.string()) }),
  reviews: z.array(z.object({ id: z.string(), decision: z.string(), comment: z.string(), reviewer: z.string(), createdAt: z.string() })),
  approvedVersion: z.number().int().nullable().meta({ description: 'The approved version now: an open proposal may be approved only while this equals its baseVersion' }),
}).meta({ id: 'MatrixProposal', description: 'A version written as a proposal: its diff against its base, the approvals it has and needs (policy), its reviews' });

/** What a write answers: the stored (or identical) version; a proposal with its diff summary and approvals. */
const MatrixWrite = MatrixVersionFields.extend(MatrixProposal.partial().pick({ breaking: true, diff: true, approvals: true, reviews: true, approvedVersion: true }).shape).meta({ id: 'MatrixWrite' });

const ProposalParams = FlowParams.extend({ version: versionNumber().meta({ description: 'The proposal’s version number' }) });

export const getControlMatrix = defineOperation({
  operationId: 'getControlMatrix',
  method: 'get',
  path: '/v1/control-matrix',
  tags: ['Control matrix'],
  summary: 'The control matrix as a table: per flow the idempotency strategy, compensations, SLA targets, owner and escalation',
  description: 'The latest version of every flow entry, as JSON rows, CSV (RFC 4180, with a header row) or a Markdown table (`?format=`).',
  roles: ROLES,
  scope: 'matrix:read',
  request: { query: z.object({ format: formatParam(MATRIX_TABLE_FORMATS) }) },
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
  summary: 'The approved (or ?version=) entry of a flow',
  description: 'The entry with its version metadata: the newest approved version, which governs the gate and the runtime, or any stored version (`?version=`, proposals included). `ETag` names the approved version either way.',
  roles: ROLES,
  scope: 'matrix:read',
  request: { params: FlowParams, query: z.object({ version: versionNumber().optional() }) },
  responses: { 200: { ...json(MatrixDocument), headers: ETag }, 400: problem, 404: problem },
});

export const putMatrixEntry = defineOperation({
  operationId: 'putMatrixEntry',
  method: 'put',
  path: '/v1/control-matrix/{flow}',
  tags: ['Control matrix'],
  summary: 'Propose a new version of a flow entry (checked against the registered contracts)',
  description:
    'A new version (one Git commit and tag) when its canonical content differs from the approved one: a *proposal* (`status: proposed`, with its diff summary and the approvals it needs; `Location` → the proposal) that governs nothing until approvers approve it. Identical to the approved version → 200 with it; identical to an open proposal on the same base → 200 with that proposal. An admin may store it approved at once with `?breakGlass=<reason>` (audited, a post-release review item, a `matrix.break-glass` event). `If-Match: "v<N>"` (the ETag of a read) → 412 unless version N is still the approved one; `If-None-Match: *` → 412 if the flow has an approved version; without either the write is unconditional. Findings → 422 with `errors[{rule, location, message}]`.',
  roles: ['admin', 'author'],
  scope: 'matrix:write',
  request: {
    params: FlowParams,
    query: z.object({ breakGlass: z.string().optional().meta({ description: `Admin only: store it approved without review, for this reason (${BREAK_GLASS_RULE})` }) }),
    headers: z.object({
      'If-Match': z.string().optional().meta({ description: 'The ETag of the approved version the change was written against (or *)' }),
      'If-None-Match': z.string().optional().meta({ description: '* for a new flow: refused if it has an approved version' }),
    }),
    body: documentBody('The flow entry as YAML or JSON'),
  },
  responses: {
    200: { ...json(MatrixWrite, 'Unchanged: the approved version, or the open proposal with this content'), headers: Location.extend(ETag.shape) },
    201: { ...json(MatrixWrite, 'New version: a proposal, or approved by break-glass'), headers: Location.extend(ETag.shape) },
    400: problem,
    403: problem,
    409: problem,
    412: problem,
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
  description: 'Each version’s number, status (approved, proposed, rejected, superseded), base, content hash, commit, time and author. Pages of `limit` (default 100), `Link: rel="next"` while more follow.',
  roles: ROLES,
  scope: 'matrix:read',
  request: { params: FlowParams, query: PageQuery(100) },
  responses: { 200: pagedJson(z.array(MatrixVersion)), 400: problem, 404: problem },
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

export const listMatrixProposals = defineOperation({
  operationId: 'listMatrixProposals',
  method: 'get',
  path: '/v1/control-matrix/{flow}/proposals',
  tags: ['Control matrix'],
  summary: 'Proposed versions of a flow entry awaiting review (or ?status=), newest first',
  description: 'Each with its base, author, time, diff summary, approvals counted and required (policy: `approvals.breaking` when the diff is breaking) and reviews. Pages of `limit` (default 100), `Link: rel="next"` while more follow.',
  roles: ROLES,
  scope: 'matrix:read',
  request: { params: FlowParams, query: PageQuery(100).extend({ status: z.enum(PROPOSAL_FILTERS, { error: PROPOSAL_FILTERS.join(' | ') }).default('proposed').meta({ description: `Which proposals: ${PROPOSAL_FILTERS.join(', ')} (default proposed)` }) }) },
  responses: { 200: { ...pagedJson(z.array(MatrixProposal)), headers: ETag.extend(pagedJson(z.array(MatrixProposal)).headers.shape) }, 400: problem, 404: problem },
});

export const getMatrixProposal = defineOperation({
  operationId: 'getMatrixProposal',
  method: 'get',
  path: '/v1/control-matrix/{flow}/proposals/{version}',
  tags: ['Control matrix'],
  summary: 'One proposal with its whole diff against its base',
  description: 'As JSON (the proposal with `diff.changes`) or its diff as Markdown or text (`?format=`). `ETag` names the flow’s approved version.',
  roles: ROLES,
  scope: 'matrix:read',
  request: { params: ProposalParams, query: DiffFormatQuery },
  responses: { 200: { ...diffResponse(MatrixProposal), headers: ETag }, 400: problem, 404: problem },
});

export const reviewMatrixProposal = defineOperation({
  operationId: 'reviewMatrixProposal',
  method: 'post',
  path: '/v1/control-matrix/{flow}/proposals/{version}/reviews',
  tags: ['Control matrix'],
  summary: 'Approve or reject a proposal (not its author; once per person)',
  description:
    'Bound to the proposal’s content hash. Enough approvals (the policy’s) make it the approved version, which governs the gate and the runtime at once, and supersede the flow’s other open proposals; a rejection rejects it. 403 for its author (same token or a look-alike name); 409 when it is not open, was already reviewed by this person, or its base is no longer the approved version (propose again).',
  roles: ['admin', 'approver'],
  scope: 'changes:review',
  request: { params: ProposalParams, body: jsonBodyOf(ChangeReview) },
  responses: {
    201: json(z.object({ review: z.object({ id: z.string(), decision: z.string(), comment: z.string(), reviewer: z.string(), createdAt: z.string() }), proposal: MatrixProposal }), 'Review recorded'),
    404: problem,
    409: problem,
    422: problem,
  },
});

export const matrixOperations = [getControlMatrix, validateMatrixEntry, getMatrixEntry, putMatrixEntry, listMatrixEntryVersions, diffMatrixEntryVersions, listMatrixProposals, getMatrixProposal, reviewMatrixProposal];
