import { z } from '@hono/zod-openapi';
import { TRANSACTION_STATES } from '../../runtime/saga/states.ts';
import { defineOperation, json } from '../operation.ts';
import { STAFF_ROLES } from '../../auth/principal.ts';

/** /v1/operator/views: what needs an operator now. */

const Link = z.string().meta({ description: 'A transaction list (GET /v1/transactions?…) or a transaction' });

const OperatorViews = z
  .object({
    at: z.string(),
    degradedRoutes: z
      .array(
        z.looseObject({
          partner: z.string(),
          flow: z.string(),
          why: z.enum(['sla', 'failures']).meta({ description: 'SLA breaches or interventions, or partner steps failing in the last hour' }),
          transactions: Link,
        }),
      )
      .meta({ description: '`sla`: breaches and interventions; `failures`: step, failureMode, failuresLastHour, lastFailure' }),
    stuckTransactionTypes: z.array(z.object({ flow: z.string(), state: z.enum(TRANSACTION_STATES), n: z.number().int(), oldest: z.string(), transactions: Link })).meta({ description: 'Unfinished and unchanged for 5 minutes' }),
    accumulatingRetries: z.array(z.object({ partner: z.string(), flow: z.string(), step: z.string(), n: z.number().int(), maxAttempts: z.number().int(), transactions: z.array(Link) })).meta({ description: 'In-flight steps past their first attempt' }),
    pendingCompensations: z.array(
      z.object({
        id: z.string(),
        partner: z.string(),
        flow: z.string(),
        state: z.enum(TRANSACTION_STATES),
        cursor: z.number().int(),
        updatedAt: z.string(),
        failure: z.record(z.string(), z.unknown()).nullable(),
        link: Link,
      }),
    ),
  })
  .meta({ id: 'OperatorViews' });

export const getOperatorViews = defineOperation({
  operationId: 'getOperatorViews',
  method: 'get',
  path: '/v1/operator/views',
  tags: ['Observability'],
  summary: 'Operator views: degraded partner routes, stuck transaction types, accumulating retries, pending compensations, with links to the transactions',
  description: 'Each view links to the transactions behind it.',
  roles: STAFF_ROLES,
  scope: 'observability:read',
  responses: { 200: json(OperatorViews) },
});

export const operatorViewOperations = [getOperatorViews];
