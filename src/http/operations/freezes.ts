import { z } from '@hono/zod-openapi';
import { FREEZE_SOURCES, FreezeRequest } from '../../gate/freezes.ts';
import { defineOperation, json, jsonBodyOf, pathParam, problem } from '../operation.ts';
import { PageQuery, pagedJson } from '../pages.ts';
import { STAFF_ROLES } from '../../auth/principal.ts';

const Freeze = z
  .object({
    id: z.string(),
    partner: z.string(),
    reason: z.string(),
    source: z.enum(FREEZE_SOURCES).meta({ description: 'manual (an admin) or sla (the SLA monitor)' }),
    createdAt: z.string(),
    createdBy: z.string(),
    liftedAt: z.string().nullable().meta({ description: 'null while in force' }),
  })
  .meta({ id: 'Freeze' });

export const listFreezes = defineOperation({
  operationId: 'listFreezes',
  method: 'get',
  path: '/v1/freezes',
  tags: ['Freezes'],
  summary: 'Release freezes',
  description: 'Active and lifted, newest first. Pages of `limit` (default 500), `Link: rel="next"` while more follow. While a freeze is in force the gate fails every release of the partner’s APIs.',
  roles: STAFF_ROLES,
  scope: 'releases:read',
  request: { query: PageQuery(500) },
  responses: { 200: pagedJson(z.array(Freeze)), 400: problem },
});

export const freezeReleases = defineOperation({
  operationId: 'freezeReleases',
  method: 'post',
  path: '/v1/freezes',
  tags: ['Freezes'],
  summary: 'Freeze releases for a partner',
  description: 'The gate fails every release of the partner’s APIs until the freeze is lifted.',
  roles: ['admin'],
  scope: 'releases:write',
  request: { body: jsonBodyOf(FreezeRequest) },
  invalid: { detail: 'Invalid freeze' },
  responses: { 201: json(Freeze, 'Frozen'), 422: problem },
});

export const liftFreeze = defineOperation({
  operationId: 'liftFreeze',
  method: 'delete',
  path: '/v1/freezes/{id}',
  tags: ['Freezes'],
  summary: 'Lift a release freeze',
  description: 'Answers the freeze with `liftedAt`; lifting it again changes nothing.',
  roles: ['admin'],
  scope: 'releases:write',
  request: { params: z.object({ id: pathParam('Freeze id') }) },
  responses: { 200: json(Freeze, 'Lifted'), 404: problem },
});

export const freezeOperations = [listFreezes, freezeReleases, liftFreeze];
