import { z } from '@hono/zod-openapi';
import { OPERATOR_ROLES, STAFF_ROLES } from '../../auth/principal.ts';
import { APPROVAL_CAUSES, APPROVAL_STATUSES, ApprovalQuery, CompensationDecision } from '../../runtime/compensation-approvals.ts';
import { TRANSACTION_STATES } from '../../runtime/saga/states.ts';
import { defineOperation, json, jsonBodyOf, pathParam, problem } from '../operation.ts';
import { PageQuery, pagedJson } from '../pages.ts';

/** Compensations awaiting approval: approve or reject (issue 18). */

const CompensationApproval = z
  .object({
    id: z.string(),
    transactionId: z.string(),
    step: z.string().meta({ description: 'The step whose compensation it is' }),
    flow: z.string(),
    partner: z.string(),
    status: z.enum(APPROVAL_STATUSES),
    cause: z.enum(APPROVAL_CAUSES).meta({ description: 'engine: a step failed; operator: an operator’s retry or compensate led to it (that person may not decide it)' }),
    causedBy: z.string().nullable().meta({ description: 'The operator whose action led to it' }),
    requestedAt: z.string(),
    waitingSeconds: z.number().int().nullable().meta({ description: 'How long it has waited (awaiting only)' }),
    decidedBy: z.string().nullable(),
    decidedAt: z.string().nullable(),
    reason: z.string().nullable(),
    links: z.object({ transaction: z.string(), approve: z.string(), reject: z.string() }),
  })
  .meta({ id: 'CompensationApproval' });

const Decided = z
  .object({
    approval: CompensationApproval,
    transaction: z.object({ id: z.string(), state: z.enum(TRANSACTION_STATES) }).meta({ description: 'The transaction after the decision' }),
  })
  .meta({ id: 'CompensationDecided' });

const Params = z.object({ ref: pathParam('Transaction id, correlation id or idempotency key'), step: pathParam('The step whose compensation awaits approval') });

const decide = (decision: 'approve' | 'reject') =>
  defineOperation({
    operationId: decision === 'approve' ? 'approveCompensation' : 'rejectCompensation',
    method: 'post',
    path: `/v1/transactions/{ref}/compensations/{step}/${decision}`,
    tags: ['Transactions'],
    summary:
      decision === 'approve'
        ? 'Operator: approve a compensation awaiting approval; it runs (audited)'
        : 'Operator: reject a compensation awaiting approval; the step’s effect stays and the transaction needs attention with the reason (audited)',
    description:
      'Four eyes: when an operator’s retry or compensate led to the compensation, that person (same name or token) may not decide it (403). No compensation of that step awaiting approval: 409.' +
      (decision === 'reject' ? ' `reason` is required.' : ' `reason` is optional.'),
    roles: OPERATOR_ROLES,
    scope: 'operator',
    request: { params: Params, body: jsonBodyOf(CompensationDecision, decision === 'reject') },
    invalid: { code: 'bad_request', detail: 'Invalid decision' },
    responses: { 200: json(Decided), 404: problem, 409: problem },
  });

export const approveCompensation = decide('approve');
export const rejectCompensation = decide('reject');

export const listCompensationApprovals = defineOperation({
  operationId: 'listCompensationApprovals',
  method: 'get',
  path: '/v1/compensations',
  tags: ['Observability'],
  summary: 'Compensations that need a person: those awaiting approval (default), or approved / rejected ones; oldest waiting first',
  description: 'A step whose control-matrix entry says `compensation.approval: required` waits here until an operator approves or rejects it. Pages of `limit` (default 500), `Link: rel="next"` while more follow.',
  roles: STAFF_ROLES,
  scope: 'observability:read',
  request: { query: ApprovalQuery.extend(PageQuery(500).shape) },
  responses: { 200: pagedJson(z.object({ compensations: z.array(CompensationApproval) })), 400: problem },
});

export const approvalOperations = [approveCompensation, rejectCompensation, listCompensationApprovals];
