import { z } from '@hono/zod-openapi';
import { MONITORED_METRICS } from '../../observability/sla.ts';
import { defineOperation, json } from '../operation.ts';
import { STAFF_ROLES } from '../../auth/principal.ts';

/** /v1/sla: the SLA monitor's view of every flow and partner. */

const Measured = z
  .object({
    value: z.number(),
    samples: z.number().int(),
    window: z.string().meta({ description: 'PT5M; P1D for remediationResponse' }),
    percentile: z.number().optional(),
  })
  .meta({ id: 'SlaMeasurement', description: 'A metric’s current value over its window' });

const SlaStatus = z
  .object({
    evaluatedAt: z.string(),
    flows: z.array(
      z.object({
        flow: z.string(),
        owner: z.object({ team: z.string(), contact: z.string() }),
        targets: z.record(z.string(), z.object({ target: z.string(), percentile: z.number() })).meta({ description: 'The control matrix’s SLA targets by metric' }),
        rules: z
          .array(z.object({ metric: z.string(), percentile: z.number().optional(), above: z.union([z.string(), z.number()]), window: z.string(), for: z.string(), actions: z.array(z.string()) }))
          .meta({ description: 'The flow’s intervention rules, in order (breaches and interventions name them by index)' }),
        partners: z.array(
          z.object({
            partner: z.string(),
            current: z.record(z.enum(MONITORED_METRICS), Measured),
            breaches: z.array(z.object({ rule: z.number().int(), metric: z.string(), since: z.string() })),
            interventions: z.array(
              z.object({
                id: z.string(),
                rule: z.number().int(),
                metric: z.string(),
                actions: z.array(z.string()),
                value: z.number(),
                threshold: z.string(),
                startedAt: z.string(),
                freezeId: z.string().nullable(),
              }),
            ),
          }),
        ),
      }),
    ),
  })
  .meta({ id: 'SlaStatus' });

export const getSlaStatus = defineOperation({
  operationId: 'getSlaStatus',
  method: 'get',
  path: '/v1/sla',
  tags: ['Observability'],
  summary: 'SLA status per flow and partner: targets, current values (5-minute window), rules breached and since when, interventions in force',
  description: 'Interventions (throttle, freeze-releases, pause-retries, page-owner) start when a rule has been breached for its `for` and lift when the value recovers; both are audited.',
  roles: STAFF_ROLES,
  scope: 'observability:read',
  responses: { 200: json(SlaStatus) },
});

export const slaOperations = [getSlaStatus];
