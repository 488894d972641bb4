import { z } from '@hono/zod-openapi';
import { FAULT_EXPERIMENT_PROBLEM, FaultExperimentRequest } from '../../runtime/experiments.ts';
import { FAULT_KINDS, FAULT_PROBLEM, FAULT_SOURCES, FaultRequest } from '../../runtime/faults.ts';
import { defineOperation, json, jsonBodyOf, pathParam, problem } from '../operation.ts';
import { STAFF_ROLES } from '../../auth/principal.ts';

/** /v1/faults and /v1/fault-experiments: fault injection in the sandbox, and experiments that prove recovery from each fault kind. */

const Fault = z
  .object({
    id: z.string(),
    partner: z.string(),
    step: z.string(),
    kind: z.enum(FAULT_KINDS),
    flow: z.string().nullable(),
    transactionId: z.string().nullable(),
    status: z.number().int().nullable(),
    delayMs: z.number().int().nullable(),
    remaining: z.number().int().nullable().meta({ description: 'Calls it still affects; null = until removed' }),
    source: z.enum(FAULT_SOURCES),
    createdBy: z.string(),
    createdAt: z.string(),
  })
  .meta({ id: 'Fault' });

const FaultExperiment = z
  .object({
    id: z.string(),
    partner: z.string(),
    api: z.string(),
    version: z.string(),
    flow: z.string(),
    result: z.enum(['pass', 'fail']),
    scenarios: z.array(
      z.object({
        name: z.string(),
        fault: z.record(z.string(), z.unknown()),
        expected: z.enum(['completed', 'compensated']),
        state: z.string(),
        passed: z.boolean(),
        detail: z.string().optional().meta({ description: 'Why it did not recover as expected' }),
        transactionId: z.string(),
        link: z.string(),
      }),
    ),
    evidence: z.looseObject({ id: z.string(), kind: z.literal('failure-injection'), result: z.enum(['pass', 'fail']) }).meta({ description: 'The failure-injection evidence stored for the version' }),
  })
  .meta({ id: 'FaultExperiment' });

export const listFaults = defineOperation({
  operationId: 'listFaults',
  method: 'get',
  path: '/v1/faults',
  tags: ['Faults'],
  summary: 'Injected faults (sandbox)',
  description: 'Every active fault, newest first, from the API and from the ACCORD_FAULTS file.',
  roles: STAFF_ROLES,
  scope: 'observability:read',
  responses: { 200: json(z.object({ faults: z.array(Fault) })) },
});

export const createFault = defineOperation({
  operationId: 'createFault',
  method: 'post',
  path: '/v1/faults',
  tags: ['Faults'],
  summary: 'Inject a fault for a partner and step (sandbox only)',
  description: 'The next calls to the step (or operation) at the partner fail as the kind says, `remaining` times or until removed; narrower faults (a transaction, a flow) win. Outside the sandbox → 409.',
  roles: ['admin', 'operator', 'ci'],
  scope: 'operator',
  request: { body: jsonBodyOf(FaultRequest) },
  invalid: { code: 'bad_request', detail: FAULT_PROBLEM },
  responses: { 201: json(Fault, 'Injected'), 400: problem, 409: problem },
});

export const deleteFault = defineOperation({
  operationId: 'deleteFault',
  method: 'delete',
  path: '/v1/faults/{id}',
  tags: ['Faults'],
  summary: 'Remove an injected fault',
  description: 'It stops affecting calls at once.',
  roles: ['admin', 'operator', 'ci'],
  scope: 'operator',
  request: { params: z.object({ id: pathParam('Fault id') }) },
  responses: { 204: { description: 'Removed' }, 404: problem },
});

export const runFaultExperiment = defineOperation({
  operationId: 'runFaultExperiment',
  method: 'post',
  path: '/v1/fault-experiments',
  tags: ['Faults'],
  summary: 'Run a fault-injection experiment (one saga per fault kind) against the version the sandbox serves and store failure-injection evidence for it',
  description:
    'Each saga gets a fault scoped to its own transaction and must recover as the control matrix says (retried to completion, or compensated in reverse order). The version must be the one the sandbox serves for the flow (409 otherwise) and have a request example for the flow’s first step (422). Sandbox only (409).',
  roles: ['admin', 'operator', 'ci'],
  scope: 'operator',
  request: { body: jsonBodyOf(FaultExperimentRequest) },
  invalid: { code: 'bad_request', detail: FAULT_EXPERIMENT_PROBLEM },
  responses: { 201: json(FaultExperiment, 'Run; the result is stored as evidence'), 400: problem, 404: problem, 409: problem, 422: problem },
});

export const faultOperations = [listFaults, createFault, deleteFault, runFaultExperiment];
