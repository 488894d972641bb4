import { setTimeout as sleep } from 'node:timers/promises';
import { and, asc, countDistinct, eq, isNull, lte, min, sql } from 'drizzle-orm';
import { appendAudit } from '../audit/log.ts';
import type { Deps } from '../deps.ts';
import { webhookDeliveries, webhooks, changesOf } from '../db/index.ts';
import { checkUrl, MAX_URL_LENGTH, outboundPolicy, type OutboundPolicy } from '../outbound/address-policy.ts';
import type { ResolveHost } from '../outbound/dns-resolver.ts';
import { OUTBOUND_FAILURES, sendOutbound } from '../outbound/http-client.ts';
import { publishNotice } from './notices.ts';
import { backoffMs, REDIRECT_NOT_FOLLOWED, signature, standardSignature, type Tx } from './webhooks.ts';

/** Attempts per delivery before it is marked failed. */
const MAX_ATTEMPTS = 10;
/** How long past an attempt's own budget a claimed delivery stays claimed (a crash mid-attempt retries it after that). */
const CLAIM_MARGIN_MS = 60_000;

type DispatchDeps = Pick<Deps, 'db' | 'clock' | 'logger' | 'config' | 'audit'>;
type Webhook = typeof webhooks.$inferSelect;
type Delivery = typeof webhookDeliveries.$inferSelect;

/** Who a subscription belongs to: its partner, or the staff (`''`: no partner id is empty). */
const ownerOf = (partner: string | null): string => partner ?? '';

/** A URL as logs and notices quote it: one stored before URLs were bounded is cut at the bound. */
const quoted = (url: string): string => (url.length > MAX_URL_LENGTH ? `${url.slice(0, MAX_URL_LENGTH)}…` : url);

function increment(counts: Map<string, number>, key: string, by: 1 | -1): void {
  const n = (counts.get(key) ?? 0) + by;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}

/** A delivery is due: pending, its next attempt at or before `now`, its webhook neither deleted nor disabled (over webhook_deliveries joined with webhooks). */
function dueCondition(now: string) {
  return and(eq(webhookDeliveries.status, 'pending'), lte(webhookDeliveries.nextAttemptAt, now), isNull(webhooks.deletedAt), isNull(webhooks.disabledAt));
}

/**
 * The subscriptions with due deliveries and their owner (partner), the one with the oldest due
 * delivery first (ties by id, so that both engines agree). The owner is grouped by as well:
 * PostgreSQL selects no column it does not group by, although a subscription has one owner.
 */
export async function dueSubscriptions(db: Deps['db'], now: string): Promise<Array<{ id: string; partner: string | null }>> {
  return await db
    .select({ id: webhookDeliveries.webhookId, partner: webhooks.partner })
    .from(webhookDeliveries)
    .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
    .where(dueCondition(now))
    .groupBy(webhookDeliveries.webhookId, webhooks.partner)
    .orderBy(asc(min(webhookDeliveries.nextAttemptAt)), asc(webhookDeliveries.webhookId))
    .all();
}

/**
 * Delivers webhook events on its own schedule, apart from the jobs loop: at most
 * `webhookConcurrency` attempts in flight, at most an owner's share of them per owner (a
 * partner, or the staff), at most `webhookSubscriberConcurrency` per subscription (1 keeps a
 * subscriber's first attempts in event order), each bounded by `webhookTimeoutMs`. A
 * subscriber whose endpoint or name server hangs holds only slots of its owner's share, so
 * other owners' deliveries and the jobs loop carry on.
 */
export class WebhookDispatcher {
  readonly #deps: DispatchDeps;
  readonly #policy: OutboundPolicy;
  readonly #resolve: ResolveHost | undefined;
  readonly #inFlightPerWebhook = new Map<string, number>();
  readonly #inFlightPerOwner = new Map<string, number>();
  /** When each owner last had an attempt started (a counter, not a time): ties go to the one served least recently. */
  readonly #lastServed = new Map<string, number>();
  #served = 0;
  readonly #attempts = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #stopping: Promise<void> | undefined;

  /** `resolve` replaces the system resolver (a test's stand-in for DNS, which is a remote party). */
  constructor(deps: DispatchDeps, options: { resolve?: ResolveHost } = {}) {
    this.#deps = deps;
    this.#policy = outboundPolicy(deps.config);
    this.#resolve = options.resolve;
  }

  /** Looks for due deliveries every `jobsIntervalMs`, and again whenever an attempt ends. */
  async start(): Promise<void> {
    if (this.#timer || this.#stopping) return;
    this.#timer = setInterval(() => void this.fill(), this.#deps.config.jobsIntervalMs);
    this.#timer.unref();
    await this.fill();
  }

  /** Stops starting attempts and waits for those in flight (each is bounded by `webhookTimeoutMs`). Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      clearInterval(this.#timer);
      await Promise.allSettled([...this.#attempts]);
    })();
    return this.#stopping;
  }

  /** Attempts in flight now. */
  get inFlight(): number {
    return this.#attempts.size;
  }

  /** Resolves when the next attempt in flight ends. */
  async nextSettled(): Promise<void> {
    if (this.#attempts.size > 0) await Promise.race([...this.#attempts]);
  }

  /**
   * How many attempts one owner may have in flight: `webhookConcurrency` split evenly between
   * the owners holding active subscriptions (at least 1). The shares add up to at most the
   * whole, so whatever the others' endpoints do, every owner can always start its share.
   */
  async #ownerShare(): Promise<number> {
    const { db, config } = this.#deps;
    const owners = (await db
      .select({ n: countDistinct(sql`coalesce(${webhooks.partner}, '')`) })
      .from(webhooks)
      .where(and(isNull(webhooks.deletedAt), isNull(webhooks.disabledAt)))
      .get())!.n;
    return Math.max(1, Math.floor(config.webhookConcurrency / Math.max(1, owners)));
  }

  /**
   * Starts attempts for due deliveries while the caps allow, one at a time, each to the owner
   * with the fewest attempts in flight (then the one served least recently, then the one with
   * the oldest due delivery), round-robin over that owner's subscriptions, each subscription's
   * deliveries in order. Returns the ids of the deliveries started; those in `skip` are left alone.
   */
  async fill(skip: ReadonlySet<string> = new Set()): Promise<string[]> {
    if (this.#stopping) return [];
    const { db, clock, config, logger } = this.#deps;
    const started: string[] = [];
    try {
      const now = clock().toISOString();
      const due = dueCondition(now);
      const subscriptions = await dueSubscriptions(db, now);
      if (subscriptions.length === 0) return started;
      // Owners in the order of their oldest due delivery, each with its subscriptions in that order.
      const queues = new Map<string, string[]>();
      for (const { id, partner } of subscriptions) {
        const owner = ownerOf(partner);
        queues.set(owner, [...(queues.get(owner) ?? []), id]);
      }
      const share = await this.#ownerShare();
      const candidates = new Map<string, Array<{ delivery: Delivery; webhook: Webhook }>>();
      while (this.#attempts.size < config.webhookConcurrency) {
        const owner = this.#nextOwner(queues, share);
        if (owner === undefined) break;
        const queue = queues.get(owner)!;
        const id = queue.shift()!;
        if ((this.#inFlightPerWebhook.get(id) ?? 0) >= config.webhookSubscriberConcurrency) continue;
        if (!candidates.has(id)) candidates.set(id, await this.#dueDeliveries(id, due, skip));
        const next = candidates.get(id)!.shift();
        if (!next) continue;
        queue.push(id);
        if (!(await this.#claim(next.delivery))) continue;
        this.#lastServed.set(owner, ++this.#served);
        this.#launch(next.webhook, next.delivery);
        started.push(next.delivery.id);
      }
    } catch (error) {
      logger.error({ err: error }, 'webhook dispatch failed');
    }
    return started;
  }

  /** The owner to start an attempt for: below its share, fewest in flight, served least recently; ties keep `queues`' order. */
  #nextOwner(queues: Map<string, string[]>, share: number): string | undefined {
    let best: { owner: string; inFlight: number; lastServed: number } | undefined;
    for (const [owner, queue] of queues) {
      const inFlight = this.#inFlightPerOwner.get(owner) ?? 0;
      if (queue.length === 0 || inFlight >= share) continue;
      const lastServed = this.#lastServed.get(owner) ?? 0;
      if (!best || inFlight < best.inFlight || (inFlight === best.inFlight && lastServed < best.lastServed)) best = { owner, inFlight, lastServed };
    }
    return best?.owner;
  }

  /** A subscription's due deliveries in order, as many as it could start now. */
  async #dueDeliveries(webhookId: string, due: ReturnType<typeof and>, skip: ReadonlySet<string>): Promise<Array<{ delivery: Delivery; webhook: Webhook }>> {
    const room = this.#deps.config.webhookSubscriberConcurrency - (this.#inFlightPerWebhook.get(webhookId) ?? 0);
    return (await this.#deps.db
      .select({ delivery: webhookDeliveries, webhook: webhooks })
      .from(webhookDeliveries)
      .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
      .where(and(eq(webhookDeliveries.webhookId, webhookId), due))
      .orderBy(asc(webhookDeliveries.nextAttemptAt), asc(webhookDeliveries.createdAt), asc(sql`${webhookDeliveries}.rowid`))
      .limit(room + skip.size)
      .all())
      .filter((r) => !skip.has(r.delivery.id))
      .slice(0, room);
  }

  /** Moves the delivery's next attempt past this attempt's budget, unless someone else already did. */
  async #claim(delivery: Delivery): Promise<boolean> {
    const { db, clock, config } = this.#deps;
    const until = new Date(clock().getTime() + config.webhookTimeoutMs + CLAIM_MARGIN_MS).toISOString();
    return (
      changesOf(await db
        .update(webhookDeliveries)
        .set({ nextAttemptAt: until })
        .where(and(eq(webhookDeliveries.id, delivery.id), eq(webhookDeliveries.status, 'pending'), eq(webhookDeliveries.nextAttemptAt, delivery.nextAttemptAt)))
        .run()) === 1
    );
  }

  #launch(webhook: Webhook, delivery: Delivery): void {
    const owner = ownerOf(webhook.partner);
    increment(this.#inFlightPerWebhook, webhook.id, 1);
    increment(this.#inFlightPerOwner, owner, 1);
    const attempt: Promise<void> = this.#attempt(webhook, delivery)
      .catch((error) => this.#deps.logger.error({ err: error, delivery: delivery.id }, 'webhook delivery could not be recorded'))
      .finally(() => {
        increment(this.#inFlightPerWebhook, webhook.id, -1);
        increment(this.#inFlightPerOwner, owner, -1);
        this.#attempts.delete(attempt);
        if (this.#timer && !this.#stopping) setImmediate(() => void this.fill());
      });
    this.#attempts.add(attempt);
  }

  /**
   * One attempt. A failure without an HTTP answer is recorded only once the attempt's budget is
   * spent, and the retry is scheduled from the attempt's start: a refused connection and a
   * silent one then look the same in the owner's delivery log, at any moment (no port scanning
   * by timing).
   */
  async #attempt(webhook: Webhook, delivery: Delivery): Promise<void> {
    const { clock, config, logger } = this.#deps;
    const startedAt = clock();
    const budgetEnds = performance.now() + config.webhookTimeoutMs;
    const sentAt = Math.floor(startedAt.getTime() / 1000);
    const result = await sendOutbound(
      this.#policy,
      {
        url: webhook.url,
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'Accord-Signature': signature(webhook.secret, delivery.payload, sentAt),
          'Accord-Event': delivery.eventType,
          'Accord-Delivery': delivery.id,
          'webhook-id': delivery.id,
          'webhook-timestamp': String(sentAt),
          'webhook-signature': standardSignature(webhook.secret, delivery.id, delivery.payload, sentAt),
        },
        body: delivery.payload,
        timeoutMs: config.webhookTimeoutMs,
      },
      { resolve: this.#resolve },
    );
    if (result.outcome === 'failed' && result.failure === 'no-answer') {
      while (performance.now() < budgetEnds) await sleep(Math.ceil(budgetEnds - performance.now()));
    }
    const status = result.outcome === 'response' ? result.status : null;
    const ok = status !== null && status >= 200 && status < 300;
    const failure = ok ? null : result.outcome === 'failed' ? OUTBOUND_FAILURES[result.failure] : status! >= 300 && status! < 400 ? REDIRECT_NOT_FOLLOWED : `HTTP ${status}`;
    if (!ok) logger.warn({ webhook: webhook.id, delivery: delivery.id, url: quoted(webhook.url), attempts: delivery.attempts + 1, status, failure, error: result.outcome === 'failed' ? result.error : undefined }, 'webhook delivery failed');
    const disabled = await recordAttempt(this.#deps, webhook.id, delivery, { startedAt, status, failure });
    if (disabled) await auditDisabled(this.#deps, webhook.id, disabled);
  }
}

/**
 * Records one attempt: a 2xx marks the delivery delivered and ends the subscription's failure
 * streak; anything else schedules a retry with backoff from the attempt's start (failed after
 * MAX_ATTEMPTS) and extends the streak, disabling the subscription once it has failed
 * `webhookDisableFailures` times in a row over at least `webhookDisableAfterMs`. Returns the
 * reason if it disabled it.
 */
async function recordAttempt(deps: DispatchDeps, webhookId: string, delivery: Delivery, outcome: { startedAt: Date; status: number | null; failure: string | null }): Promise<string | undefined> {
  const now = deps.clock();
  const attempts = delivery.attempts + 1;
  const ok = outcome.failure === null;
  return await deps.db.transaction(async (tx) => {
    await tx.update(webhookDeliveries)
      .set({
        attempts,
        lastStatus: outcome.status,
        lastError: outcome.failure,
        status: ok ? 'delivered' : attempts >= MAX_ATTEMPTS ? 'failed' : 'pending',
        deliveredAt: ok ? now.toISOString() : null,
        nextAttemptAt: ok ? delivery.nextAttemptAt : new Date(outcome.startedAt.getTime() + backoffMs(attempts)).toISOString(),
      })
      .where(and(eq(webhookDeliveries.id, delivery.id), eq(webhookDeliveries.status, 'pending')))
      .run();
    const webhook = await tx.select().from(webhooks).where(eq(webhooks.id, webhookId)).get();
    if (!webhook || webhook.deletedAt || webhook.disabledAt) return undefined;
    if (ok) {
      if (webhook.consecutiveFailures > 0) await tx.update(webhooks).set({ consecutiveFailures: 0, failingSince: null }).where(eq(webhooks.id, webhookId)).run();
      return undefined;
    }
    const failures = webhook.consecutiveFailures + 1;
    const failingSince = webhook.failingSince ?? now.toISOString();
    await tx.update(webhooks).set({ consecutiveFailures: failures, failingSince }).where(eq(webhooks.id, webhookId)).run();
    if (failures < deps.config.webhookDisableFailures || now.getTime() - Date.parse(failingSince) < deps.config.webhookDisableAfterMs) return undefined;
    const reason = `every delivery attempt failed since ${failingSince} (${failures} in a row, the last: ${outcome.failure})`;
    await disableWebhook(tx, deps, webhook, reason);
    return reason;
  });
}

/**
 * Stops delivering to a webhook, in the caller's transaction: sets `disabledAt` and
 * `disabledReason`, cancels its pending deliveries and tells its owner with a
 * `webhook-disabled` notice (a partner's own audience; an admin's subscription: staff only).
 */
async function disableWebhook(tx: Tx, deps: Pick<Deps, 'db' | 'clock'>, webhook: Webhook, reason: string): Promise<void> {
  await tx.update(webhooks).set({ disabledAt: deps.clock().toISOString(), disabledReason: reason }).where(eq(webhooks.id, webhook.id)).run();
  await tx.update(webhookDeliveries).set({ status: 'cancelled' }).where(and(eq(webhookDeliveries.webhookId, webhook.id), eq(webhookDeliveries.status, 'pending'))).run();
  await publishNotice(
    tx,
    deps,
    {
      kind: 'webhook-disabled',
      partner: webhook.partner ?? '',
      // A notice about a subscription, not a contract version: it names the webhook instead.
      api: 'webhooks',
      version: webhook.id,
      title: `Webhook ${webhook.id} was disabled`,
      body: `Accord stopped delivering to ${quoted(webhook.url)} (webhook ${webhook.id}): ${reason}. Its pending deliveries were cancelled. Fix the endpoint, then re-enable it with POST /v1/webhooks/${webhook.id}/enable.`,
    },
    { audience: webhook.partner ? [webhook.partner] : [] },
  );
}

async function auditDisabled(deps: Pick<Deps, 'db' | 'clock' | 'logger' | 'audit'>, webhookId: string, reason: string): Promise<void> {
  deps.logger.warn({ webhook: webhookId, reason }, 'webhook disabled');
  await appendAudit(deps, { actor: 'accord-system', role: 'system', action: 'webhook.disabled', target: webhookId, outcome: 'ok', detail: { reason } });
}

/**
 * At start-up (every start; idempotent): disables active subscriptions whose URL the outbound
 * policy no longer allows, judged without DNS (scheme, credentials, an address literal, a
 * `localhost` name), each with a notice to its owner. Names are checked at every delivery.
 * Returns how many were disabled.
 */
export async function disableDisallowedWebhooks(deps: DispatchDeps): Promise<number> {
  const policy = outboundPolicy(deps.config);
  let disabled = 0;
  for (const webhook of await deps.db.select().from(webhooks).where(and(isNull(webhooks.deletedAt), isNull(webhooks.disabledAt))).all()) {
    const check = checkUrl(webhook.url, policy);
    if (check.ok) continue;
    const reason = `the URL ${check.reason}; outbound calls reach public addresses only, unless ACCORD_OUTBOUND_ALLOW_PRIVATE or ACCORD_OUTBOUND_ALLOW_CIDRS allow more`;
    await deps.db.transaction(async (tx) => await disableWebhook(tx, deps, webhook, reason));
    await auditDisabled(deps, webhook.id, reason);
    disabled++;
  }
  return disabled;
}

/**
 * Attempts every delivery due now once (within the concurrency caps) and waits for the
 * attempts to end; returns how many were attempted. For tests and one-off runs: the service
 * delivers with a started `WebhookDispatcher`.
 */
export async function dispatchDueDeliveries(deps: DispatchDeps, options: { resolve?: ResolveHost } = {}): Promise<number> {
  const dispatcher = new WebhookDispatcher(deps, options);
  const attempted = new Set<string>();
  for (;;) {
    for (const id of await dispatcher.fill(attempted)) attempted.add(id);
    if (dispatcher.inFlight === 0) return attempted.size;
    await dispatcher.nextSettled();
  }
}
