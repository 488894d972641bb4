import { z } from '@hono/zod-openapi';
import { DURATION_PATTERN } from '../../matrix/schema.ts';
import { defineOperation, json, pathParam, problem } from '../operation.ts';
import { ROLES } from '../../auth/principal.ts';

/** /v1/scorecards/{partner}: how a partner's API feels to its peers. */

const Share = z.number().nullable().meta({ description: '0–1; null without data' });

const Scorecard = z
  .object({
    partner: z.string(),
    window: z.string(),
    from: z.string(),
    to: z.string(),
    acceptance: z.object({ transactions: z.number().int(), rate: Share, latencyMs: z.object({ p50: z.number().nullable(), p95: z.number().nullable() }) }).meta({ description: 'The first step of every transaction against the partner' }),
    duplicates: z.object({ requests: z.number().int(), duplicates: z.number().int(), rate: Share, replayed: z.number().int(), handledByReplay: Share }),
    errorTaxonomy: z.object({ errors: z.number().int(), withClearCode: z.number().int(), share: Share }).meta({ description: 'Error answers with a clear, specific 4xx code' }),
    observability: z.object({ requests: z.number().int(), correlationId: Share, traceparent: Share, complete: Share }).meta({ description: 'Requests carrying a correlation id and a traceparent' }),
    releaseHygiene: z.object({ releases: z.number().int(), evidenceComplete: Share, breakingReleases: z.number().int(), breakingWithoutNotice: z.number().int() }),
    synthetic: z.object({ checks: z.number().int(), passed: z.number().int(), successRate: Share }),
    certification: z
      .object({
        runs: z.number().int().meta({ description: 'Certification runs finished in the window' }),
        passed: z.number().int(),
        latest: z.array(
          z.object({
            api: z.string(),
            environment: z.string(),
            version: z.string(),
            status: z.enum(['passed', 'failed']),
            runId: z.string(),
            finishedAt: z.string().nullable(),
            failedCases: z.number().int(),
            drift: z.boolean().meta({ description: 'It fails after a release of that version to that environment (a partner-drift notice was raised)' }),
          }),
        ).meta({ description: 'The newest finished run of each API in each environment' }),
      })
      .meta({ description: 'Accord’s certification of the partner’s endpoints (POST /v1/certifications, periodic runs)' }),
    costs: z
      .array(z.object({ month: z.string(), compensations: z.number().int(), manualInterventions: z.number().int(), duplicates: z.number().int(), cost: z.number(), currency: z.string() }))
      .meta({ description: 'Per calendar month (UTC), oldest first: transactions compensated, manual interventions, duplicates handled and their cost under the policy’s `costs`' }),
  })
  .meta({ id: 'Scorecard' });

export const getScorecard = defineOperation({
  operationId: 'getScorecard',
  method: 'get',
  path: '/v1/scorecards/{partner}',
  tags: ['Observability'],
  summary: 'Partner scorecard over a window (default P7D): acceptance, duplicates, error taxonomy, observability completeness, release hygiene, synthetic success, and the cost view per month (compensations, manual interventions, duplicates × the policy’s unit costs)',
  description: 'A partner reads only its own (404 for another’s).',
  roles: ROLES,
  scope: 'observability:read',
  request: {
    params: z.object({ partner: pathParam('Partner id') }),
    query: z.object({
      window: z
        .string()
        .regex(new RegExp(DURATION_PATTERN), 'not a duration')
        .default('P7D')
        .meta({ description: 'An ISO 8601 duration (P7D, PT1H)' }),
      months: z
        .string()
        .regex(/^(?:[1-9]|1\d|2[0-4])$/, 'not 1–24')
        .default('6')
        .transform(Number)
        .meta({ description: 'Calendar months of the cost view, the current one included (1–24, default 6)' }),
    }),
  },
  invalid: { parameters: 'window must be an ISO 8601 duration such as P7D or PT1H' },
  responses: { 200: json(Scorecard), 400: problem, 404: problem },
});

export const scorecardOperations = [getScorecard];
