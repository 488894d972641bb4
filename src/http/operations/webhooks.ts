import { z } from '@hono/zod-openapi';
import { DELIVERY_STATUSES, EVENT_TYPES, WebhookRequest } from '../../notices/webhooks.ts';
import { defineOperation, json, jsonBodyOf, pathParam, problem } from '../operation.ts';
import { PageQuery, pagedJson } from '../pages.ts';

const Webhook = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.enum(EVENT_TYPES)),
    partner: z.string().nullable().meta({ description: "The owning partner of a partner's webhook; null for the staff's" }),
    createdAt: z.string(),
    createdBy: z.string(),
    deletedAt: z.string().nullable(),
    disabledAt: z.string().nullable().meta({ description: 'When Accord stopped delivering to it (sustained failure, or a destination no longer allowed); null while active' }),
    disabledReason: z.string().nullable(),
    consecutiveFailures: z.number().int().meta({ description: 'Delivery attempts that failed in a row' }),
    failingSince: z.string().nullable(),
  })
  .meta({ id: 'Webhook', description: 'A webhook subscription; its secret is never returned' });

const Delivery = z
  .object({
    id: z.string().meta({ description: 'Also the Standard Webhooks webhook-id header, the same on every retry' }),
    eventId: z.string(),
    eventType: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int(),
    lastStatus: z.number().int().nullable().meta({ description: 'HTTP status of the last attempt, if it got an answer' }),
    lastError: z.string().nullable().meta({ description: 'Failure class of the last attempt: destination not allowed, could not resolve host, no connection or no answer in time, HTTP <status>, redirect not followed' }),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
    payload: z.looseObject({ id: z.string(), type: z.string(), createdAt: z.string(), data: z.record(z.string(), z.unknown()) }).meta({ description: 'The event as posted' }),
  })
  .meta({ id: 'WebhookDelivery' });

const params = { params: z.object({ id: pathParam('Webhook id') }) };

export const listWebhooks = defineOperation({
  operationId: 'listWebhooks',
  method: 'get',
  path: '/v1/webhooks',
  tags: ['Webhooks'],
  summary: 'Webhooks (a partner sees its own)',
  description: 'Active and disabled subscriptions, oldest first: every one for an admin, its own for a partner. Pages of `limit` (default 100), `Link: rel="next"` while more follow.',
  roles: ['admin', 'partner'],
  scope: 'webhooks',
  request: { query: PageQuery(100) },
  responses: { 200: pagedJson(z.array(Webhook)), 400: problem },
});

export const createWebhook = defineOperation({
  operationId: 'createWebhook',
  method: 'post',
  path: '/v1/webhooks',
  tags: ['Webhooks'],
  summary:
    'Register a webhook. The URL must reach a public address (422 with the reason otherwise, unless ACCORD_OUTBOUND_ALLOW_PRIVATE / ACCORD_OUTBOUND_ALLOW_CIDRS allow it); at most ACCORD_WEBHOOKS_PER_OWNER active subscriptions per owner (409). Deliveries are signed with Accord-Signature: t=…,v1=HMAC-SHA256(secret, "t.body") and the Standard Webhooks headers webhook-id, webhook-timestamp, webhook-signature',
  description:
    'A partner may subscribe only to notice events, and receives only those concerning it. A host name is resolved at registration (a name that cannot be resolved now is accepted) and again at every delivery.',
  roles: ['admin', 'partner'],
  scope: 'webhooks',
  request: { body: jsonBodyOf(WebhookRequest) },
  invalid: { detail: 'Invalid webhook' },
  responses: { 201: json(Webhook, 'Registered'), 409: problem, 422: problem },
});

export const getWebhook = defineOperation({
  operationId: 'getWebhook',
  method: 'get',
  path: '/v1/webhooks/{id}',
  tags: ['Webhooks'],
  summary: 'A webhook, with disabledAt and disabledReason when Accord stopped delivering to it',
  description: "404 for another partner's webhook and for a deleted one.",
  roles: ['admin', 'partner'],
  scope: 'webhooks',
  request: params,
  responses: { 200: json(Webhook), 404: problem },
});

export const deleteWebhook = defineOperation({
  operationId: 'deleteWebhook',
  method: 'delete',
  path: '/v1/webhooks/{id}',
  tags: ['Webhooks'],
  summary: 'Delete a webhook',
  description: 'Its pending deliveries are cancelled.',
  roles: ['admin', 'partner'],
  scope: 'webhooks',
  request: params,
  responses: { 204: { description: 'Deleted' }, 404: problem },
});

export const enableWebhook = defineOperation({
  operationId: 'enableWebhook',
  method: 'post',
  path: '/v1/webhooks/{id}/enable',
  tags: ['Webhooks'],
  summary: 'Re-enable a disabled webhook: its URL is checked again, the owner cap applies, the failure streak starts over (cancelled deliveries stay cancelled)',
  description: 'Enabling an active webhook changes nothing. Events published while it was disabled are not queued for it.',
  roles: ['admin', 'partner'],
  scope: 'webhooks',
  request: params,
  responses: { 200: json(Webhook), 404: problem, 409: problem, 422: problem },
});

export const listWebhookDeliveries = defineOperation({
  operationId: 'listWebhookDeliveries',
  method: 'get',
  path: '/v1/webhooks/{id}/deliveries',
  tags: ['Webhooks'],
  summary: 'Delivery log of a webhook',
  description: 'Deliveries, newest first. Pages of `limit` (default 200), `Link: rel="next"` while more follow. Failures are shown as classes only, never raw connection errors.',
  roles: ['admin', 'partner'],
  scope: 'webhooks',
  request: { ...params, query: PageQuery(200) },
  responses: { 200: pagedJson(z.array(Delivery)), 400: problem, 404: problem },
});

export const webhookOperations = [listWebhooks, createWebhook, getWebhook, deleteWebhook, enableWebhook, listWebhookDeliveries];
