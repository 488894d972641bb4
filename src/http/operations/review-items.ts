import { z } from '@hono/zod-openapi';
import { REVIEW_ITEM_STATUSES, ReviewConclusion } from '../../gate/review-items.ts';
import { defineOperation, json, jsonBodyOf, pathParam, problem } from '../operation.ts';
import { PageQuery, pagedJson } from '../pages.ts';
import { STAFF_ROLES } from '../../auth/principal.ts';

const ReviewItem = z
  .object({
    id: z.string(),
    decisionId: z.string().meta({ description: 'What opened it: the break-glass gate decision (dec_…), or the control-matrix version stored by break-glass (control-matrix/<flow>/v<N>; then partner, api and version are the flow’s contract: partner or *, api, semver range)' }),
    partner: z.string(),
    api: z.string(),
    version: z.string(),
    reason: z.string().meta({ description: 'Why glass was broken, followed by the review’s conclusion once closed' }),
    status: z.enum(REVIEW_ITEM_STATUSES),
    createdAt: z.string(),
    createdBy: z.string(),
  })
  .meta({ id: 'ReviewItem' });

export const listReviewItems = defineOperation({
  operationId: 'listReviewItems',
  method: 'get',
  path: '/v1/review-items',
  tags: ['Review items'],
  summary: 'Post-release review items opened by break-glass',
  description: 'Newest first; `status` keeps those of one status. Pages of `limit` (default 500), `Link: rel="next"` while more follow.',
  roles: STAFF_ROLES,
  scope: 'changes:read',
  request: { query: PageQuery(500).extend({ status: z.string().optional().meta({ description: 'open or closed' }) }) },
  responses: { 200: pagedJson(z.array(ReviewItem)), 400: problem },
});

export const closeReviewItem = defineOperation({
  operationId: 'closeReviewItem',
  method: 'post',
  path: '/v1/review-items/{id}/close',
  tags: ['Review items'],
  summary: 'Close a review item with its conclusion',
  description: 'The conclusion is appended to the item’s reason with the reviewer’s name; closing it again is 409.',
  roles: ['admin', 'approver'],
  scope: 'changes:review',
  request: { params: z.object({ id: pathParam('Review item id') }), body: jsonBodyOf(ReviewConclusion) },
  invalid: { detail: 'Say what the review concluded' },
  responses: { 200: json(ReviewItem, 'Closed'), 404: problem, 409: problem, 422: problem },
});

export const reviewItemOperations = [listReviewItems, closeReviewItem];
