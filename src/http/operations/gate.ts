import { z } from '@hono/zod-openapi';
import type { ReasonStatus, Verdict } from '../../gate/evaluate.ts';
import { GateCheckRequest } from '../../gate/check.ts';
import { defineOperation, json, jsonBodyOf, pathParam, problem } from '../operation.ts';
import { STAFF_ROLES } from '../../auth/principal.ts';

/** The gate's verdicts. */
export const VERDICTS = ['pass', 'fail', 'pending'] as const satisfies readonly Verdict[];
const REASON_STATUSES = ['met', 'pending', 'failed'] as const satisfies readonly ReasonStatus[];

/** One rule the gate checked, and what to do when it is not met. */
export const GateReason = z
  .object({ rule: z.string(), status: z.enum(REASON_STATUSES), message: z.string(), howToFix: z.string() })
  .meta({ id: 'GateReason' });

const counts = z.object({ breaking: z.number().int(), warning: z.number().int(), info: z.number().int(), total: z.number().int() }).loose();

const GateAnswer = {
  verdict: z.enum(VERDICTS),
  reasons: z.array(GateReason),
  whatChanged: z.object({ base: z.string().nullable(), bump: z.string(), summary: counts, breaking: z.array(z.string()) }),
  detection: z.object({
    flows: z.array(z.object({ flow: z.string(), owner: z.string(), requiredFields: z.array(z.string()), metrics: z.array(z.string()), interventions: z.array(z.string()) })),
    evidence: z.array(z.string()),
  }),
  recovery: z.object({
    rollbackTo: z.string().nullable(),
    compensations: z.array(z.object({ flow: z.string(), step: z.string(), compensation: z.string() })),
    rollbackPlan: z.string().nullable(),
    runbook: z.string().nullable(),
  }),
  decisionId: z.string(),
  partner: z.string(),
  api: z.string(),
  version: z.string(),
  environment: z.string(),
  inputsHash: z.string().meta({ description: 'sha256 of the facts the verdict was derived from' }),
  createdAt: z.string(),
};

const GateDecision = z
  .object({
    ...GateAnswer,
    breakGlass: z.object({ reason: z.string(), by: z.string(), reviewItem: z.string() }).optional().meta({ description: 'After break-glass: why, by whom, and the review item it opened' }),
  })
  .meta({ id: 'GateDecision' });

const StoredDecision = z
  .object({
    ...GateAnswer,
    contentSha256: z.string(),
    inputs: z.looseObject({}).meta({ description: 'The stored facts the verdict was derived from' }),
    requestedBy: z.string(),
    breakGlassReason: z.string().nullable(),
    rederivation: z.object({ inputsHashMatches: z.boolean(), verdict: z.enum(VERDICTS), matches: z.boolean() }).meta({ description: 'The verdict derived again from the stored inputs with today’s rules' }),
  })
  .meta({ id: 'StoredGateDecision' });

export const checkGate = defineOperation({
  operationId: 'checkGate',
  method: 'post',
  path: '/v1/gate/check',
  tags: ['Gate'],
  summary: 'Release gate: pass, fail or pending with reasons, what changed, detection and recovery; the decision is stored',
  description: 'The decision is stored with its inputs and their hash. `breakGlass` (admins only, 403 otherwise) passes regardless: audited, announced to webhooks, and followed up by a post-release review item.',
  roles: STAFF_ROLES,
  scope: 'gate:check',
  request: { body: jsonBodyOf(GateCheckRequest) },
  invalid: { detail: 'Invalid gate check' },
  responses: { 200: json(GateDecision), 404: problem, 422: problem },
});

export const getGateDecision = defineOperation({
  operationId: 'getGateDecision',
  method: 'get',
  path: '/v1/gate/decisions/{id}',
  tags: ['Gate'],
  summary: 'A stored decision with its inputs, re-derived',
  description: '`rederivation.matches` says whether today’s rules, given the stored inputs, reach the same verdict (a break-glass decision always matches).',
  roles: STAFF_ROLES,
  scope: 'gate:check',
  request: { params: z.object({ id: pathParam('Decision id') }) },
  responses: { 200: json(StoredDecision), 404: problem },
});

export const gateOperations = [checkGate, getGateDecision];
