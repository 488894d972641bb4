import { z } from '@hono/zod-openapi';
import { ROLES } from '../../auth/principal.ts';
import { NOTICE_KINDS } from '../../notices/notices.ts';
import { defineOperation, problem } from '../operation.ts';
import { PageQuery, pagedJson } from '../pages.ts';

const Notice = z
  .object({
    id: z.string(),
    kind: z.enum(NOTICE_KINDS),
    partner: z.string(),
    api: z.string().meta({ description: 'The API, or "webhooks" for a webhook-disabled notice' }),
    version: z.string().meta({ description: 'The contract version, or the webhook id for a webhook-disabled notice' }),
    title: z.string(),
    body: z.string(),
    audience: z.array(z.string()).meta({ description: 'The partners it concerns: the provider and its consumers, or the owner of a disabled webhook' }),
    createdAt: z.string(),
  })
  .meta({ id: 'Notice' });

export const listNotices = defineOperation({
  operationId: 'listNotices',
  method: 'get',
  path: '/v1/notices',
  tags: ['Notices'],
  summary: 'Deprecation, breaking-release and sunset notices (a partner sees what concerns it)',
  description:
    'Newest first. Staff see every notice; a partner those whose audience includes it. A version retired at its sunset is announced by the jobs loop (within ACCORD_JOBS_INTERVAL_MS); reading never changes anything. A weak `ETag` names the list: `If-None-Match` with it answers 304 until a notice is published. Pages of `limit` (default 100), `Link: rel="next"` while more follow.',
  roles: ROLES,
  scope: 'notices:read',
  request: { query: PageQuery(100) },
  responses: { 200: { ...pagedJson(z.array(Notice)), headers: pagedJson(z.array(Notice)).headers.extend({ ETag: z.string().meta({ description: 'Weak entity tag of this page' }) }) }, 400: problem, 304: { description: 'Not modified: the notices are those of the If-None-Match entity tag' } },
});

export const getNoticesFeed = defineOperation({
  operationId: 'getNoticesFeed',
  method: 'get',
  path: '/v1/notices.atom',
  tags: ['Notices'],
  summary: 'The notices as an Atom 1.0 feed',
  description:
    "The notices the token may read, as an Atom 1.0 feed (RFC 4287), each entry with a `rel=\"alternate\"` link to its console page and a `rel=\"related\"` link to what it is about; its links are on ACCORD_PUBLIC_URL, never the request's Host. A weak `ETag` names the notices it holds: `If-None-Match` with it answers 304 until a notice is published. Feed readers that cannot send headers may pass a token limited to the `notices:read` scope alone as `?token=` — the only URL that accepts a token (any other token there: 403).",
  roles: ROLES,
  scope: 'notices:read',
  request: { query: z.object({ token: z.string().optional().meta({ description: 'A token limited to the notices:read scope alone, for feed readers that cannot send an Authorization header' }) }) },
  responses: {
    200: { description: 'Atom feed', content: { 'application/atom+xml': { schema: z.string() } } },
    304: { description: 'Not modified: the notices are those of the If-None-Match entity tag' },
  },
});

export const noticeOperations = [listNotices, getNoticesFeed];
