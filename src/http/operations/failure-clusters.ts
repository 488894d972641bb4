import { z } from '@hono/zod-openapi';
import { STAFF_ROLES } from '../../auth/principal.ts';
import { DURATION_PATTERN } from '../../matrix/schema.ts';
import { TRANSACTION_STATES } from '../../runtime/saga/states.ts';
import { defineOperation, json, problem } from '../operation.ts';

/** Failure clusters: transactions failing the same way, by partner, step and error taxonomy (issue 18). */

const FailureCluster = z
  .object({
    partner: z.string(),
    flow: z.string(),
    step: z.string().meta({ description: 'The step that failed (its compensation, when `compensation` is true)' }),
    failureMode: z.string().meta({ description: 'The control-matrix failure mode (unclassified, compensation-failed when none)' }),
    statusClass: z.string().meta({ description: 'The partner answer’s status class: 4xx, 5xx … or no-answer (timeout, connection)' }),
    compensation: z.boolean(),
    count: z.number().int(),
    states: z.record(z.enum(TRANSACTION_STATES), z.number().int()).meta({ description: 'How many of them are in each state now' }),
    firstSeen: z.string(),
    lastSeen: z.string(),
    sampleTransactionIds: z.array(z.string()).meta({ description: 'Up to 5, newest first' }),
    link: z.string().meta({ description: 'This cluster alone' }),
    consoleLink: z.string().meta({ description: 'The console page listing the cluster’s transactions' }),
  })
  .meta({ id: 'FailureCluster' });

const DURATION_RULE = 'window must be an ISO 8601 duration such as P7D or PT1H';

export const listFailureClusters = defineOperation({
  operationId: 'listFailureClusters',
  method: 'get',
  path: '/v1/operator/failure-clusters',
  tags: ['Observability'],
  summary: 'Failure clusters over a window (default P7D): failed transactions grouped by partner, flow, step, failure mode and status class, largest first',
  description: 'Transactions that stopped with a failure (needs-attention, compensating or compensated), created inside the window; each cluster with its count, first and last seen, sample transaction ids and a link.',
  roles: STAFF_ROLES,
  scope: 'observability:read',
  request: {
    query: z.object({
      partner: z.string().optional().meta({ description: 'Only this partner' }),
      flow: z.string().optional().meta({ description: 'Only this flow' }),
      step: z.string().optional().meta({ description: 'Only this step' }),
      failureMode: z.string().optional().meta({ description: 'Only this failure mode' }),
      statusClass: z.string().optional().meta({ description: 'Only this status class (4xx, 5xx, no-answer …)' }),
      window: z.string().regex(new RegExp(DURATION_PATTERN), 'not a duration').default('P7D').meta({ description: 'An ISO 8601 duration back from now (P7D, PT1H)' }),
    }),
  },
  invalid: { parameters: DURATION_RULE },
  responses: { 200: json(z.object({ window: z.string(), from: z.string(), to: z.string(), clusters: z.array(FailureCluster) })), 400: problem },
});

export const failureClusterOperations = [listFailureClusters];
