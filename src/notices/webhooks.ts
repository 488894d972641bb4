import { createHmac, randomBytes } from 'node:crypto';
import { and, count, eq, isNull, sql } from 'drizzle-orm';
import { keyAfter, keyOrder, pageOf, type KeyPart, type Page } from '../lib/pages.ts';
import { z } from 'zod';
import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { webhookDeliveries, webhooks, type Db } from '../db/index.ts';
import { AccordError, type FieldError } from '../errors.ts';
import { checkUrl, destinationRefusal, MAX_URL_LENGTH, outboundPolicy } from '../outbound/address-policy.ts';
import type { ResolveHost } from '../outbound/dns-resolver.ts';
import { OUTBOUND_FAILURES } from '../outbound/http-client.ts';

/** Exchange-runtime transaction events (from the transaction outbox, src/runtime/outbox.ts). */
export const TRANSACTION_EVENT_TYPES = [
  'transaction.state-changed',
  'transaction.step-failed',
  'transaction.compensation-failed',
  'transaction.reversal-event',
  'transaction.recorded',
  'transaction.compensation-awaiting-approval',
  'transaction.compensation-approved',
  'transaction.compensation-rejected',
] as const;
/** SLA monitor and synthetic-check events (src/observability). */
export const OBSERVABILITY_EVENT_TYPES = ['sla.page-owner', 'sla.open-ticket', 'sla.recovered'] as const;
/** Notice events: one per notice kind (src/notices/notices.ts NOTICE_KINDS). */
const NOTICE_EVENT_TYPES = ['notice.deprecation', 'notice.breaking-release', 'notice.sunset-reached', 'notice.synthetic-drift', 'notice.partner-drift', 'notice.webhook-disabled', 'notice.acknowledgement-requested', 'notice.change-unaffected'] as const;
/** Change-request events sent to the partners they concern (src/changes/open.ts). */
const PARTNER_CHANGE_EVENT_TYPES = ['change.acknowledgement-requested'] as const;
/** Every event a webhook may subscribe to. */
/** Incidents opened (by an SLA breach or an operator) and closed: staff hooks only. */
export const INCIDENT_EVENT_TYPES = ['incident.opened', 'incident.closed'] as const;

export const EVENT_TYPES = [...NOTICE_EVENT_TYPES, ...PARTNER_CHANGE_EVENT_TYPES, 'release.recorded', 'gate.break-glass', 'matrix.break-glass', ...TRANSACTION_EVENT_TYPES, ...OBSERVABILITY_EVENT_TYPES, ...INCIDENT_EVENT_TYPES] as const;
/** What a partner's webhook may subscribe to: notices and change-request events concerning it. */
const PARTNER_EVENTS = new Set<string>([...NOTICE_EVENT_TYPES, ...PARTNER_CHANGE_EVENT_TYPES]);
/** Failure class of a 3xx answer: Accord never follows redirects (the target could be anywhere). */
export const REDIRECT_NOT_FOLLOWED = 'redirect not followed';
/** Where a delivery is: waiting for its (next) attempt, delivered, failed after the last attempt, or cancelled with its webhook. */
export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed', 'cancelled'] as const;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

const SECRET_RULE = 'must be 16–256 characters (used to sign deliveries)';
const EVENTS_RULE = `must list events: ${EVENT_TYPES.join(', ')}`;

/**
 * A webhook registration: its shape. Whether the URL may be called (the outbound address policy,
 * DNS) and which events the caller may subscribe to are checked when it is created.
 */
export const WebhookRequest = z
  .object({
    url: z
      .string({ error: 'must be an http(s) URL' })
      .max(MAX_URL_LENGTH, { error: `must be at most ${MAX_URL_LENGTH} characters` })
      .meta({ description: 'Where deliveries are posted: an http(s) URL reaching a public address (unless the outbound opt-ins allow others), without credentials', maxLength: MAX_URL_LENGTH }),
    secret: z.string({ error: SECRET_RULE }).min(16, SECRET_RULE).max(256, SECRET_RULE).meta({ description: 'Signs every delivery (16–256 characters); never returned' }),
    events: z
      .array(z.enum(EVENT_TYPES, { error: `must be one of ${EVENT_TYPES.join(', ')}` }), { error: EVENTS_RULE })
      .min(1, EVENTS_RULE)
      .meta({ description: 'The events to deliver; a partner may subscribe only to notice and change-request events (those concerning it)' }),
  })
  .meta({ id: 'WebhookRequest' });

export type WebhookRequest = z.output<typeof WebhookRequest>;

function toView(row: typeof webhooks.$inferSelect) {
  const { secret, events, ...rest } = row;
  void secret;
  return { ...rest, events: JSON.parse(events) as string[] };
}

/** Throws 409 when the owner already holds `webhooksPerOwner` active (neither deleted nor disabled) subscriptions. */
async function requireRoomFor(tx: Tx, deps: Pick<Deps, 'config'>, partner: string | null): Promise<void> {
  const active = (await tx
    .select({ n: count() })
    .from(webhooks)
    .where(and(partner === null ? isNull(webhooks.partner) : eq(webhooks.partner, partner), isNull(webhooks.deletedAt), isNull(webhooks.disabledAt)))
    .get())!.n;
  if (active >= deps.config.webhooksPerOwner) {
    throw new AccordError('conflict', `${partner ?? 'The staff'} already ${partner === null ? 'hold' : 'holds'} ${active} active webhook subscriptions, the most allowed (ACCORD_WEBHOOKS_PER_OWNER=${deps.config.webhooksPerOwner}); delete one first`);
  }
}

/**
 * Registers a webhook. Admins may subscribe to any event; a partner only to notices and
 * change-request events concerning it. The URL must reach a public address (or one the
 * outbound opt-ins allow; a host name is resolved with `resolve`, the system resolver by
 * default); each owner may hold at most `webhooksPerOwner` active subscriptions.
 */
export async function createWebhook(deps: Pick<Deps, 'db' | 'clock' | 'config'>, principal: Principal, input: WebhookRequest, options: { resolve?: ResolveHost } = {}) {
  const errors: FieldError[] = [];
  const literal = checkUrl(input.url, outboundPolicy(deps.config));
  if (!literal.ok) errors.push({ location: '/url', message: literal.reason });
  if (principal.role === 'partner') {
    input.events.forEach((e, i) => {
      if (!PARTNER_EVENTS.has(e)) errors.push({ location: `/events/${i}`, message: `must be one of ${[...PARTNER_EVENTS].join(', ')}` });
    });
  }
  if (errors.length > 0) throw new AccordError('invalid_document', 'Invalid webhook', { errors });
  const partner = principal.role === 'partner' ? principal.partner : null;
  // The cheap checks first: a request refused anyway makes no DNS query.
  await deps.db.transaction(async (tx) => await requireRoomFor(tx, deps, partner));
  const refusal = await destinationRefusal(deps.config, principal.role === 'partner', input.url, { resolve: options.resolve, timeoutMs: deps.config.webhookTimeoutMs });
  if (refusal) throw new AccordError('invalid_document', 'Invalid webhook', { errors: [{ location: '/url', message: refusal }] });
  const row = await deps.db.transaction(async (tx) => {
    await requireRoomFor(tx, deps, partner);
    return await tx
      .insert(webhooks)
      .values({
        id: `whk_${randomBytes(8).toString('hex')}`,
        url: new URL(input.url).toString(),
        secret: input.secret,
        events: JSON.stringify([...new Set(input.events)]),
        partner,
        createdAt: deps.clock().toISOString(),
        createdBy: principal.name,
        deletedAt: null,
      })
      .returning()
      .get();
  });
  return toView(row);
}

function visible(principal: Principal, row: typeof webhooks.$inferSelect): boolean {
  return principal.role === 'admin' || (principal.role === 'partner' && row.partner === principal.partner);
}

/** Webhooks the principal may see (a partner its own), with `disabledAt`/`disabledReason` when Accord stopped delivering. */
export async function listWebhooks(deps: Pick<Deps, 'db'>, principal: Principal, page: Page = { limit: 100_000 }) {
  const order: KeyPart<typeof webhooks.$inferSelect>[] = [
    { column: webhooks.createdAt, of: (r) => r.createdAt },
    { column: webhooks.id, of: (r) => r.id },
  ];
  // The SQL form of `visible`: an admin sees every webhook, a partner its own, anyone else none.
  const mine = principal.role === 'admin' ? undefined : principal.role === 'partner' && principal.partner ? eq(webhooks.partner, principal.partner) : sql`1 = 0`;
  const rows = await deps.db.select().from(webhooks).where(and(isNull(webhooks.deletedAt), mine, keyAfter(order, page.after))).orderBy(...keyOrder(order)).limit(page.limit + 1).all();
  const paged = pageOf(rows, page.limit, order);
  return { ...paged, items: paged.items.map(toView) };
}

async function ownWebhook(deps: Pick<Deps, 'db'>, principal: Principal, id: string) {
  const row = await deps.db.select().from(webhooks).where(eq(webhooks.id, id)).get();
  if (!row || row.deletedAt || !visible(principal, row)) throw new AccordError('not_found', `No webhook ${id}`);
  return row;
}

/** One webhook (404 for another partner's). */
export async function getWebhook(deps: Pick<Deps, 'db'>, principal: Principal, id: string) {
  return toView(await ownWebhook(deps, principal, id));
}

/**
 * Re-enables a disabled webhook after its owner fixed the endpoint: the URL is checked again
 * as at registration, the owner's cap applies, and the failure streak starts over. Deliveries
 * cancelled when it was disabled stay cancelled. Enabling an active webhook changes nothing.
 */
export async function enableWebhook(deps: Pick<Deps, 'db' | 'clock' | 'config'>, principal: Principal, id: string) {
  const row = await ownWebhook(deps, principal, id);
  if (!row.disabledAt) return toView(row);
  const refusal = await destinationRefusal(deps.config, principal.role === 'partner', row.url, { timeoutMs: deps.config.webhookTimeoutMs });
  if (refusal) throw new AccordError('invalid_document', 'The webhook URL is not allowed; delete it and register a reachable public URL', { errors: [{ location: '/url', message: refusal }] });
  const enabled = await deps.db.transaction(async (tx) => {
    await requireRoomFor(tx, deps, row.partner);
    return await tx.update(webhooks).set({ disabledAt: null, disabledReason: null, consecutiveFailures: 0, failingSince: null }).where(eq(webhooks.id, id)).returning().get();
  });
  return toView(enabled);
}

/** Deletes a webhook and cancels its pending deliveries. */
export async function deleteWebhook(deps: Pick<Deps, 'db' | 'clock'>, principal: Principal, id: string): Promise<void> {
  await ownWebhook(deps, principal, id);
  await deps.db.transaction(async (tx) => {
    await tx.update(webhooks).set({ deletedAt: deps.clock().toISOString() }).where(eq(webhooks.id, id)).run();
    await tx.update(webhookDeliveries).set({ status: 'cancelled' }).where(and(eq(webhookDeliveries.webhookId, id), eq(webhookDeliveries.status, 'pending'))).run();
  });
}

/** Failure classes a delivery log may show; anything else stored (rows from before the classes) shows as "delivery failed". */
const SHOWN_FAILURES = new Set<string>([...Object.values(OUTBOUND_FAILURES), REDIRECT_NOT_FOLLOWED]);

function shownFailure(lastError: string | null): string | null {
  if (lastError === null || SHOWN_FAILURES.has(lastError) || /^HTTP \d{3}$/.test(lastError)) return lastError;
  return 'delivery failed';
}

/**
 * The delivery log of a webhook, newest first: what happened to each event (status, attempts,
 * the last HTTP status and failure class, when it was created and delivered), never raw
 * connection errors, nor when Accord will try again (a lease while an attempt is in flight,
 * then a time derived from the attempt's start: neither is the owner's business).
 */
export async function listDeliveries(deps: Pick<Deps, 'db'>, principal: Principal, id: string, page: Page = { limit: 200 }) {
  await ownWebhook(deps, principal, id);
  const order: KeyPart<{ createdAt: string; id: string }>[] = [
    { column: webhookDeliveries.createdAt, desc: true, of: (r) => r.createdAt },
    { column: webhookDeliveries.id, desc: true, of: (r) => r.id },
  ];
  const rows = await deps.db
    .select({
      id: webhookDeliveries.id,
      eventId: webhookDeliveries.eventId,
      eventType: webhookDeliveries.eventType,
      status: webhookDeliveries.status,
      attempts: webhookDeliveries.attempts,
      lastStatus: webhookDeliveries.lastStatus,
      lastError: webhookDeliveries.lastError,
      createdAt: webhookDeliveries.createdAt,
      deliveredAt: webhookDeliveries.deliveredAt,
      payload: webhookDeliveries.payload,
    })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.webhookId, id), keyAfter(order, page.after)))
    .orderBy(...keyOrder(order))
    .limit(page.limit + 1)
    .all();
  const paged = pageOf(rows, page.limit, order);
  return { ...paged, items: paged.items.map((d) => ({ ...d, lastError: shownFailure(d.lastError), payload: JSON.parse(d.payload) as unknown })) };
}

/**
 * Puts an event in the outbox of every webhook subscribed to it (partner webhooks only when
 * the event concerns that partner), inside the caller's transaction so the event is durable
 * exactly when the state change is.
 */
export async function enqueueEvent(tx: Tx, now: Date, type: string, data: Record<string, unknown>, audience: string[] | 'all'): Promise<string> {
  const eventId = `evt_${randomBytes(10).toString('hex')}`;
  const payload = JSON.stringify({ id: eventId, type, createdAt: now.toISOString(), data });
  for (const hook of await tx.select().from(webhooks).where(and(isNull(webhooks.deletedAt), isNull(webhooks.disabledAt))).all()) {
    const events = JSON.parse(hook.events) as string[];
    if (!events.includes(type)) continue;
    if (hook.partner && (audience === 'all' || !audience.includes(hook.partner))) continue;
    await tx.insert(webhookDeliveries)
      .values({ id: `dlv_${randomBytes(8).toString('hex')}`, webhookId: hook.id, eventId, eventType: type, payload, status: 'pending', attempts: 0, nextAttemptAt: now.toISOString(), createdAt: now.toISOString() })
      .run();
  }
  return eventId;
}

/** `Accord-Signature` header value: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>. */
export function signature(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`;
}

/**
 * Standard Webhooks `webhook-signature` value: `v1,<base64 HMAC-SHA256 over "<id>.<timestamp>.<body>">`,
 * keyed with the secret's UTF-8 bytes (receivers verify it with `new Webhook(secret, { format: 'raw' })`).
 */
export function standardSignature(secret: string, deliveryId: string, body: string, unixSeconds: number): string {
  return `v1,${createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${deliveryId}.${unixSeconds}.${body}`).digest('base64')}`;
}

/** Delay before retry n (1-based): 2^(n-1) seconds, at most one hour. */
export function backoffMs(attempt: number): number {
  return Math.min(2 ** (attempt - 1) * 1000, 3_600_000);
}

