import { z } from '@hono/zod-openapi';
import { SYNTHETIC_OUTCOMES, SyntheticRunRequest } from '../../observability/synthetic.ts';
import { defineOperation, json, jsonBodyOf, problem } from '../operation.ts';

/** /v1/synthetic/run: synthetic transactions on demand. */

const SyntheticResult = z
  .object({
    flow: z.string(),
    partner: z.string(),
    version: z.string().optional(),
    result: z.enum(SYNTHETIC_OUTCOMES),
    state: z.string().optional().meta({ description: 'The transaction’s final state' }),
    detail: z.string().optional().meta({ description: 'Why it failed or was skipped' }),
    transactionId: z.string().optional(),
    evidenceId: z.string().optional().meta({ description: 'The synthetic-check evidence stored for the version' }),
    driftNoticeId: z.string().optional().meta({ description: 'The synthetic-drift notice, when it failed after a release' }),
  })
  .meta({ id: 'SyntheticResult' });

export const runSyntheticTransactions = defineOperation({
  operationId: 'runSyntheticTransactions',
  method: 'post',
  path: '/v1/synthetic/run',
  tags: ['Observability'],
  summary:
    "Run synthetic transactions now (every flow and partner, or the given ones) with the contracts' synthetic examples; results become synthetic-check evidence; a failure after a release raises a synthetic-drift notice",
  description: 'The body may be left out. Flows whose first step cannot be built from a contract example are skipped, with the reason.',
  roles: ['admin', 'operator', 'ci'],
  scope: 'operator',
  request: { body: jsonBodyOf(SyntheticRunRequest, false) },
  invalid: { code: 'bad_request', detail: 'Invalid synthetic run' },
  responses: { 200: json(z.object({ results: z.array(SyntheticResult) })), 400: problem, 404: problem },
});

export const syntheticOperations = [runSyntheticTransactions];
