import { z, type RouteConfig } from '@hono/zod-openapi';
import { ROLES } from '../../auth/principal.ts';
import { OVERVIEW_METRICS, OVERVIEW_WINDOW_NAMES } from '../../observability/ops-overview.ts';
import { defineOperation, json, problem } from '../operation.ts';

/** /v1/operator/overview: rollup time series per flow and partner (issue 18). */

const Point = z.tuple([z.string(), z.number().nullable()]).meta({ description: '[bucket start (ISO 8601), value or null when nothing was measured]', items: { not: {} } });

const OpsOverview = z
  .object({
    window: z.enum(OVERVIEW_WINDOW_NAMES),
    tier: z.enum(['minute', 'hour', 'day']).meta({ description: 'The rollups drawn: per minute up to PT1H, per hour up to P7D, per day beyond' }),
    from: z.string(),
    to: z.string(),
    flow: z.string().nullable(),
    partner: z.string().nullable(),
    charts: z.array(
      z.object({
        metric: z.enum(OVERVIEW_METRICS.map((m) => m.id) as [string, ...string[]]),
        title: z.string(),
        unit: z.enum(['count', 'ratio', 'seconds']),
        series: z.array(z.object({ name: z.string().meta({ description: '`value`, or `p50`/`p95`/`p99` for latencies' }), points: z.array(Point) })),
        total: z.record(z.string(), z.number().nullable()).meta({ description: 'Over the whole window: sums, rates, percentiles across buckets; in-flight: the latest level' }),
      }),
    ),
    compensationsAwaitingApproval: z.number().int().meta({ description: 'Compensations waiting for an operator now (of the flow and partner when given)' }),
    links: z.object({ transactions: z.string().meta({ description: 'GET /v1/transactions?flow=&partner=&from=&to= behind the charts' }), console: z.string() }),
  })
  .meta({ id: 'OpsOverview' });

export const getOpsOverview = defineOperation({
  operationId: 'getOpsOverview',
  method: 'get',
  path: '/v1/operator/overview',
  tags: ['Observability'],
  summary: 'Operations overview: requests, duplicate rate, acceptance, identity-match success, latency percentiles, compensations, manual interventions and in-flight over a window, per flow and partner',
  description: 'From the persisted per-minute rollups, downsampled per hour and day. A partner token sees its own partner only (another partner: 404).',
  roles: ROLES,
  scope: 'observability:read',
  request: {
    query: z.object({
      window: z.enum(OVERVIEW_WINDOW_NAMES).default('PT1H').meta({ description: 'PT15M, PT1H, P1D, P7D or P30D' }),
      flow: z.string().min(1).max(200).optional().meta({ description: 'Only this flow' }),
      partner: z.string().min(1).max(200).optional().meta({ description: 'Only this partner (a partner token: its own)' }),
    }),
  },
  invalid: { parameters: 'window must be PT15M, PT1H, P1D, P7D or P30D; flow and partner 1–200 characters' },
  responses: { 200: json(OpsOverview), 400: problem, 404: problem },
});

export const opsOverviewOperations: RouteConfig[] = [getOpsOverview];
