import { createHmac, randomBytes } from 'node:crypto';
import { and, asc, desc, eq, isNull, lte } from 'drizzle-orm';
import { requireRole, type Principal } from '../auth/principal.ts';
import type { Deps } from '../context.ts';
import { webhookDeliveries, webhooks, type Db } from '../db/index.ts';
import { AccordError, type FieldError } from '../errors.ts';

/** Exchange-runtime transaction events (from the transaction outbox, src/runtime/outbox.ts). */
export const TRANSACTION_EVENT_TYPES = ['transaction.state-changed', 'transaction.step-failed', 'transaction.compensation-failed', 'transaction.reversal-event', 'transaction.recorded'] as const;
/** SLA monitor and synthetic-check events (src/observability). */
export const OBSERVABILITY_EVENT_TYPES = ['sla.page-owner', 'sla.open-ticket', 'sla.recovered'] as const;
export const EVENT_TYPES = ['notice.deprecation', 'notice.breaking-release', 'notice.sunset-reached', 'notice.synthetic-drift', 'release.recorded', 'gate.break-glass', ...TRANSACTION_EVENT_TYPES, ...OBSERVABILITY_EVENT_TYPES] as const;
/** What a partner's webhook may subscribe to: notices concerning it. */
const PARTNER_EVENTS = new Set(['notice.deprecation', 'notice.breaking-release', 'notice.sunset-reached', 'notice.synthetic-drift']);
const MAX_ATTEMPTS = 10;

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

function toView(row: typeof webhooks.$inferSelect) {
  const { secret, events, ...rest } = row;
  void secret;
  return { ...rest, events: JSON.parse(events) as string[] };
}

/** Registers a webhook. Admins may subscribe to any event; a partner only to notices concerning it. */
export function createWebhook(deps: Pick<Deps, 'db' | 'clock'>, principal: Principal, input: { url?: unknown; secret?: unknown; events?: unknown }) {
  requireRole(principal, ['admin', 'partner'], 'register webhooks');
  const errors: FieldError[] = [];
  let url: URL | undefined;
  try {
    url = new URL(String(input.url));
  } catch {
    // reported below
  }
  if (!url || !['http:', 'https:'].includes(url.protocol)) errors.push({ location: '/url', message: 'must be an http(s) URL' });
  if (typeof input.secret !== 'string' || input.secret.length < 16 || input.secret.length > 256) errors.push({ location: '/secret', message: 'must be 16–256 characters (used to sign deliveries)' });
  const allowed = principal.role === 'partner' ? PARTNER_EVENTS : new Set<string>(EVENT_TYPES);
  if (!Array.isArray(input.events) || input.events.length === 0) errors.push({ location: '/events', message: `must list events: ${[...allowed].join(', ')}` });
  else input.events.forEach((e, i) => {
    if (!allowed.has(e)) errors.push({ location: `/events/${i}`, message: `must be one of ${[...allowed].join(', ')}` });
  });
  if (errors.length > 0) throw new AccordError('invalid_document', 'Invalid webhook', { errors });
  const row = deps.db
    .insert(webhooks)
    .values({
      id: `whk_${randomBytes(8).toString('hex')}`,
      url: url!.toString(),
      secret: input.secret as string,
      events: JSON.stringify([...new Set(input.events as string[])]),
      partner: principal.role === 'partner' ? principal.partner : null,
      createdAt: deps.clock().toISOString(),
      createdBy: principal.name,
      deletedAt: null,
    })
    .returning()
    .get();
  return toView(row);
}

function visible(principal: Principal, row: typeof webhooks.$inferSelect): boolean {
  return principal.role === 'admin' || (principal.role === 'partner' && row.partner === principal.partner);
}

export function listWebhooks(deps: Pick<Deps, 'db'>, principal: Principal) {
  requireRole(principal, ['admin', 'partner'], 'list webhooks');
  return deps.db.select().from(webhooks).where(isNull(webhooks.deletedAt)).orderBy(asc(webhooks.createdAt)).all().filter((w) => visible(principal, w)).map(toView);
}

function ownWebhook(deps: Pick<Deps, 'db'>, principal: Principal, id: string) {
  requireRole(principal, ['admin', 'partner'], 'manage webhooks');
  const row = deps.db.select().from(webhooks).where(eq(webhooks.id, id)).get();
  if (!row || row.deletedAt || !visible(principal, row)) throw new AccordError('not_found', `No webhook ${id}`);
  return row;
}

/** Deletes a webhook and cancels its pending deliveries. */
export function deleteWebhook(deps: Pick<Deps, 'db' | 'clock'>, principal: Principal, id: string): void {
  ownWebhook(deps, principal, id);
  deps.db.transaction((tx) => {
    tx.update(webhooks).set({ deletedAt: deps.clock().toISOString() }).where(eq(webhooks.id, id)).run();
    tx.update(webhookDeliveries).set({ status: 'cancelled' }).where(and(eq(webhookDeliveries.webhookId, id), eq(webhookDeliveries.status, 'pending'))).run();
  });
}

export function listDeliveries(deps: Pick<Deps, 'db'>, principal: Principal, id: string) {
  ownWebhook(deps, principal, id);
  return deps.db
    .select()
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.webhookId, id))
    .orderBy(desc(webhookDeliveries.createdAt))
    .limit(200)
    .all()
    .map((d) => ({ ...d, payload: JSON.parse(d.payload) as unknown }));
}

/**
 * Puts an event in the outbox of every webhook subscribed to it (partner webhooks only when
 * the event concerns that partner), inside the caller's transaction so the event is durable
 * exactly when the state change is.
 */
export function enqueueEvent(tx: Tx, now: Date, type: string, data: Record<string, unknown>, audience: string[] | 'all'): string {
  const eventId = `evt_${randomBytes(10).toString('hex')}`;
  const payload = JSON.stringify({ id: eventId, type, createdAt: now.toISOString(), data });
  for (const hook of tx.select().from(webhooks).where(isNull(webhooks.deletedAt)).all()) {
    const events = JSON.parse(hook.events) as string[];
    if (!events.includes(type)) continue;
    if (hook.partner && (audience === 'all' || !audience.includes(hook.partner))) continue;
    tx.insert(webhookDeliveries)
      .values({ id: `dlv_${randomBytes(8).toString('hex')}`, webhookId: hook.id, eventId, eventType: type, payload, status: 'pending', attempts: 0, nextAttemptAt: now.toISOString(), createdAt: now.toISOString() })
      .run();
  }
  return eventId;
}

/** `Accord-Signature` header value: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>. */
export function signature(secret: string, body: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex')}`;
}

/** Delay before retry n (1-based): 2^(n-1) seconds, at most one hour. */
export function backoffMs(attempt: number): number {
  return Math.min(2 ** (attempt - 1) * 1000, 3_600_000);
}

/**
 * Sends every due delivery once: 2xx marks it delivered; anything else schedules a retry with
 * exponential backoff, and after MAX_ATTEMPTS it is marked failed. Returns how many were tried.
 */
export async function dispatchDueDeliveries(deps: Pick<Deps, 'db' | 'clock' | 'logger'>, options: { timeoutMs?: number; limit?: number } = {}): Promise<number> {
  const now = deps.clock();
  const due = deps.db
    .select({ d: webhookDeliveries, url: webhooks.url, secret: webhooks.secret })
    .from(webhookDeliveries)
    .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
    .where(and(eq(webhookDeliveries.status, 'pending'), lte(webhookDeliveries.nextAttemptAt, now.toISOString()), isNull(webhooks.deletedAt)))
    .orderBy(asc(webhookDeliveries.nextAttemptAt))
    .limit(options.limit ?? 50)
    .all();
  await Promise.all(
    due.map(async ({ d, url, secret }) => {
      const sentAt = Math.floor(deps.clock().getTime() / 1000);
      let status: number | null = null;
      let error: string | null = null;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Accord-Signature': signature(secret, d.payload, sentAt), 'Accord-Event': d.eventType, 'Accord-Delivery': d.id },
          body: d.payload,
          signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
          redirect: 'manual',
        });
        status = res.status;
        await res.body?.cancel();
      } catch (e) {
        error = (e as Error).message;
      }
      const attempts = d.attempts + 1;
      const ok = status !== null && status >= 200 && status < 300;
      deps.db
        .update(webhookDeliveries)
        .set({
          attempts,
          lastStatus: status,
          lastError: ok ? null : (error ?? `HTTP ${status}`),
          status: ok ? 'delivered' : attempts >= MAX_ATTEMPTS ? 'failed' : 'pending',
          deliveredAt: ok ? deps.clock().toISOString() : null,
          nextAttemptAt: ok ? d.nextAttemptAt : new Date(deps.clock().getTime() + backoffMs(attempts)).toISOString(),
        })
        .where(eq(webhookDeliveries.id, d.id))
        .run();
      if (!ok) deps.logger.warn({ delivery: d.id, url, attempts, status, error }, 'webhook delivery failed');
    }),
  );
  return due.length;
}
