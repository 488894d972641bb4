import { z } from '@hono/zod-openapi';
import { defineOperation, problem } from '../operation.ts';
import { PageQuery, pagedJson } from '../pages.ts';

const AuditEntry = z
  .object({
    seq: z.number().int(),
    at: z.string(),
    actor: z.string(),
    role: z.string(),
    action: z.string().meta({ description: 'What was attempted, e.g. `POST /v1/changes/:id/reviews` or `gate.decision`' }),
    target: z.string(),
    outcome: z.enum(['ok', 'refused', 'error']),
    detail: z.unknown(),
    prevHash: z.string(),
    hash: z.string(),
    chain: z.string().meta({ description: 'How `hash` was computed: hmac-sha256 (keyed), or sha256 for entries from before the keyed chain' }),
  })
  .meta({ id: 'AuditEntry' });

const WHOLE = '?after must be a non-negative integer';

export const listAudit = defineOperation({
  operationId: 'listAudit',
  method: 'get',
  path: '/v1/audit',
  tags: ['Audit'],
  summary: 'The hash-chained audit log',
  description: 'Entries after `after` (a seq), oldest first, at most `limit` (default 100, at most 1000) per page; `Link: rel="next"` while more follow (its `cursor` continues after the last entry sent).',
  roles: ['admin'],
  scope: 'audit:read',
  request: {
    query: PageQuery(100).extend({
      after: z.coerce.number({ error: WHOLE }).int(WHOLE).min(0, WHOLE).optional().meta({ description: 'Entries after this seq (default 0)', type: 'integer', minimum: 0 }),
    }),
  },
  responses: { 200: pagedJson(z.array(AuditEntry)), 400: problem },
});

export const auditOperations = [listAudit];
