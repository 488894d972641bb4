import { z } from '@hono/zod-openapi';
import { ReleaseRequest } from '../../changes/releases.ts';
import { defineOperation, json, jsonBodyOf, problem } from '../operation.ts';

const Release = z
  .object({
    id: z.string(),
    partner: z.string(),
    api: z.string(),
    version: z.string(),
    environment: z.string(),
    contentSha256: z.string(),
    decisionId: z.string().meta({ description: 'The passing gate decision it was released on' }),
    createdAt: z.string(),
    createdBy: z.string(),
    state: z.literal('released').meta({ description: 'The version’s state now' }),
  })
  .meta({ id: 'Release' });

export const recordRelease = defineOperation({
  operationId: 'recordRelease',
  method: 'post',
  path: '/v1/releases',
  tags: ['Releases'],
  summary: 'Record a release; only with a passing gate decision for this exact content',
  description:
    'Accepted only when the latest gate decision for the version and environment passed for exactly this content and, unless it was break-glass, the gate still passes now (409 otherwise). The version moves forward to released (never backwards); a breaking release notifies its consumers.',
  roles: ['admin', 'ci'],
  scope: 'releases:write',
  request: { body: jsonBodyOf(ReleaseRequest) },
  invalid: { detail: 'Invalid release' },
  responses: { 201: json(Release, 'Recorded'), 404: problem, 409: problem, 422: problem },
});

export const releaseOperations = [recordRelease];
