import { z } from '@hono/zod-openapi';
import { ROLES } from '../../auth/principal.ts';
import { defineOperation, json, problem } from '../operation.ts';
import { documentBody } from './contracts.ts';
import { MatrixDocument, MatrixVersion, versionNumber } from './matrix.ts';

/** /v1/policy: the governance policy (control-matrix/policy.yaml), versioned like a flow entry. */

export const getPolicy = defineOperation({
  operationId: 'getPolicy',
  method: 'get',
  path: '/v1/policy',
  tags: ['Policy'],
  summary: 'The governance policy in force (latest or ?version=)',
  description: 'Approvals, evidence and acknowledgements required per kind of change, the minimum deprecation notice and diff strictness, as stored; 404 while none is registered (the defaults apply).',
  roles: ROLES,
  scope: 'matrix:read',
  request: { query: z.object({ version: versionNumber().optional() }) },
  responses: { 200: json(MatrixDocument), 400: problem, 404: problem },
});

export const putPolicy = defineOperation({
  operationId: 'putPolicy',
  method: 'put',
  path: '/v1/policy',
  tags: ['Policy'],
  summary: 'Store a new version of the governance policy',
  description: 'A new version when its canonical content differs from the latest; identical content → 200 with the latest. Findings → 422 with `errors[{rule, location, message}]`.',
  roles: ['admin'],
  scope: 'matrix:write',
  request: { body: documentBody('The policy as YAML or JSON') },
  responses: { 200: json(MatrixVersion, 'Unchanged'), 201: json(MatrixVersion, 'New version'), 409: problem, 413: problem, 415: problem, 422: problem },
});

export const policyOperations = [getPolicy, putPolicy];
