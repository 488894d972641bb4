import { z } from '@hono/zod-openapi';
import { ROLES } from '../../auth/principal.ts';
import { defineOperation, json, problem } from '../operation.ts';
import { documentBody } from './contracts.ts';
import { MatrixDocument, MatrixVersion, versionNumber } from './matrix.ts';

/** /v1/rulesets/network: the network's style rules (control-matrix/ruleset.yaml), versioned like the policy. */

const NetworkRuleset = MatrixDocument.extend({ yaml: z.string().meta({ description: 'The stored ruleset as YAML (canonical: comments dropped)' }) }).meta({ id: 'NetworkRuleset' });

export const getNetworkRuleset = defineOperation({
  operationId: 'getNetworkRuleset',
  method: 'get',
  path: '/v1/rulesets/network',
  tags: ['Policy'],
  summary: 'The network ruleset in force (latest or ?version=)',
  description:
    'The Spectral ruleset every contract registration, the gate’s `lint` rule and `accord lint` apply, as stored (parsed and as YAML); 404 while none is registered (spectral:oas, recommended rules, applies).',
  roles: ROLES,
  scope: 'matrix:read',
  request: { query: z.object({ version: versionNumber().optional() }) },
  responses: { 200: json(NetworkRuleset), 400: problem, 404: problem },
});

export const putNetworkRuleset = defineOperation({
  operationId: 'putNetworkRuleset',
  method: 'put',
  path: '/v1/rulesets/network',
  tags: ['Policy'],
  summary: 'Store a new version of the network ruleset',
  description:
    'Spectral’s ruleset format, loaded by Accord without Spectral’s bundler: `extends` may only name `spectral:oas` (optionally with recommended | all | off), functions come from a closed list (Spectral’s built-ins, `accordIdempotencyKey`, `accordSecurityApplied`), nothing is fetched, read or executed. A new version when its canonical content differs from the latest; identical content → 200 with the latest. A ruleset that does not load → 422 with `errors[{rule, location, message}]` and nothing stored.',
  roles: ['admin'],
  scope: 'matrix:write',
  request: { body: documentBody('The ruleset as YAML or JSON') },
  responses: { 200: json(MatrixVersion, 'Unchanged'), 201: json(MatrixVersion, 'New version'), 409: problem, 413: problem, 415: problem, 422: problem },
});

export const rulesetOperations = [getNetworkRuleset, putNetworkRuleset];
