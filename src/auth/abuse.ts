import { appendAudit } from '../audit/log.ts';
import type { Deps } from '../deps.ts';
import { AccordError } from '../errors.ts';
import { limitKey } from './client-address.ts';
import type { Principal } from './principal.ts';
import { MAX_WINDOWS, ReplicaCounts, retryAfterSeconds, total, WINDOW_MS, type Window } from './replica-counts.ts';
import { bearerSecret, resolveToken, type AuthFailure } from './tokens.ts';

export { MAX_SYNC_ROWS, MAX_WINDOWS, MAX_WRITE_THROUGH } from './replica-counts.ts';

/** How many characters of a presented token identify it for the failure limit. */
export const TOKEN_PREFIX_LENGTH = 12;
/** Most sources with their own audit row per minute; the rest share one "(other sources)" row. */
export const MAX_REFUSAL_SOURCES = 100;

/** Most characters of request-derived text (a path, a route) an audit row keeps in `action` or `target`. */
export const AUDIT_TEXT_MAX = 512;

/** `text` cut to AUDIT_TEXT_MAX characters, marked `…(+N characters)` when cut (never inside a surrogate pair). */
export function auditText(text: string): string {
  if (text.length <= AUDIT_TEXT_MAX) return text;
  const end = /[\uD800-\uDBFF]/.test(text[AUDIT_TEXT_MAX - 1]!) ? AUDIT_TEXT_MAX - 1 : AUDIT_TEXT_MAX;
  return `${text.slice(0, end)}…(+${text.length - end} characters)`;
}

/**
 * Counts events per key in fixed one-minute windows (a window starts at its key's first event).
 * Holds at most `capacity` keys: windows are kept in the order they started, and the oldest go
 * first when a new key arrives and the counter is full.
 */
export class WindowCounters {
  readonly #windows = new Map<string, Window>();

  constructor(readonly capacity = MAX_WINDOWS) {}

  /** Keys held now (ended windows included until they are dropped). */
  get size(): number {
    return this.#windows.size;
  }

  /** Every key and its window, oldest first (ended windows included until they are dropped). */
  entries(): IterableIterator<[string, Window]> {
    return this.#windows.entries();
  }

  /** The key's open window, if any. */
  peek(key: string, now: number): Window | undefined {
    const window = this.#windows.get(key);
    return window && now < window.start + WINDOW_MS ? window : undefined;
  }

  /** Forgets the windows that have ended (the map is ordered by start: stops at the first open one). */
  prune(now: number): void {
    for (const [key, window] of this.#windows) {
      if (now < window.start + WINDOW_MS) return;
      this.#windows.delete(key);
    }
  }

  /** Counts one event for `key`; returns its window after counting. */
  add(key: string, now: number): Window {
    const open = this.peek(key, now);
    if (open) {
      open.count++;
      return open;
    }
    // A new window goes to the end of the map, so the map stays ordered by start.
    this.#windows.delete(key);
    for (const [oldest, window] of this.#windows) {
      if (this.#windows.size < this.capacity && now < window.start + WINDOW_MS) break;
      this.#windows.delete(oldest);
    }
    const window = { start: now, count: 1, written: 0 };
    this.#windows.set(key, window);
    return window;
  }
}

interface RefusalBucket {
  action: string;
  actor: string;
  role: string;
  target: string;
  count: number;
  reasons: Record<string, number>;
  first: number;
  last: number;
}

/**
 * Refused authentications and rate-limited requests, aggregated: one audit row per source per
 * calendar minute with a count and the reasons, written when the minute ends (on the next
 * refusal, the jobs loop, or `flush()` at shutdown). At most MAX_REFUSAL_SOURCES rows a minute
 * name their source; the rest are summed into one row, so however many addresses a flood comes
 * from, it adds at most MAX_REFUSAL_SOURCES + 1 rows a minute.
 */
export class RefusalLog {
  readonly #pending = new Map<string, RefusalBucket>();
  #minute = Number.NEGATIVE_INFINITY;

  constructor(private readonly deps: Pick<Deps, 'db' | 'clock' | 'audit'>) {}

  /** Counts one refusal of `source` (its action, actor and target) for `reason`. */
  async record(source: { action: string; actor: string; role: string; target: string }, reason: string, now: number): Promise<void> {
    const minute = Math.floor(now / WINDOW_MS) * WINDOW_MS;
    if (minute > this.#minute) {
      await this.flush();
      this.#minute = minute;
    }
    source = { action: auditText(source.action), actor: auditText(source.actor), role: source.role, target: auditText(source.target) };
    let key = `${source.action}\n${source.actor}\n${source.target}`;
    if (!this.#pending.has(key) && this.#pending.size >= MAX_REFUSAL_SOURCES) {
      key = 'other';
      source = { action: source.action, actor: 'anonymous', role: 'none', target: '(other sources)' };
    }
    let bucket = this.#pending.get(key);
    if (!bucket) {
      bucket = { ...source, count: 0, reasons: {}, first: now, last: now };
      this.#pending.set(key, bucket);
    }
    bucket.count++;
    bucket.reasons[reason] = (bucket.reasons[reason] ?? 0) + 1;
    bucket.last = Math.max(bucket.last, now);
  }

  /** Writes the rows of a minute that has ended by `now`. */
  async flushEnded(now: number): Promise<void> {
    if (Math.floor(now / WINDOW_MS) * WINDOW_MS > this.#minute) await this.flush();
  }

  /** Writes every pending row now (shutdown). */
  async flush(): Promise<void> {
    if (this.#pending.size === 0) return;
    // One transaction for the minute's rows: one commit, not one per row.
    await this.deps.db.transaction(async () => {
      for (const bucket of this.#pending.values()) await this.#write(bucket);
    });
    this.#pending.clear();
  }

  async #write(bucket: RefusalBucket): Promise<void> {
    await appendAudit(this.deps, {
      actor: bucket.actor,
      role: bucket.role,
      action: bucket.action,
      target: bucket.target,
      outcome: 'refused',
      detail: { count: bucket.count, reasons: bucket.reasons, from: new Date(bucket.first).toISOString(), to: new Date(bucket.last).toISOString() },
    });
  }

  /** Sources with a row pending. */
  get pending(): number {
    return this.#pending.size;
  }
}

const FAILURE_DETAIL: Record<AuthFailure, string> = {
  missing: 'Send a bearer token: Authorization: Bearer <token>',
  malformed: 'Send a bearer token: Authorization: Bearer <token>',
  unknown: 'The bearer token is unknown or revoked',
  revoked: 'The bearer token is unknown or revoked',
  expired: 'The bearer token has expired',
};

/**
 * Authentication with abuse limits, shared by every authenticating route (`/v1/*` and
 * `/exchange/*`): failed authentications are counted per client address (IPv6 by /64) and per
 * token prefix, and past `config.authFailureLimit` in a minute every attempt from that address
 * or with that prefix gets 429 with Retry-After, a valid token included (no oracle); an
 * authenticated token past `config.tokenRateLimit` requests a minute gets 429 too. Refusals are
 * audited in aggregate (RefusalLog), never one row per request. On PostgreSQL the counts hold
 * across replicas: a decision adds the other replicas' counts as of the last `sync()` (see
 * ReplicaCounts) to this replica's own.
 */
export class AuthGuard {
  readonly failures = new WindowCounters();
  readonly requests = new WindowCounters();
  readonly refusals: RefusalLog;
  /** The other replicas' counts (PostgreSQL; empty on SQLite). */
  readonly replicas: ReplicaCounts;

  constructor(private readonly deps: Pick<Deps, 'db' | 'clock' | 'logger' | 'config' | 'audit'>) {
    this.refusals = new RefusalLog(deps);
    this.replicas = new ReplicaCounts(deps);
  }

  /**
   * The principal of a request's Authorization header; throws 401 (missing, malformed, unknown,
   * revoked, expired) or 429 (failure limit, token rate limit). Every throw is counted in the
   * refusal log.
   * @param address the client's address (see clientAddress), asked for only when a limit needs it
   */
  async authenticate(authorization: string | undefined, address: () => string): Promise<Principal> {
    const bearer = bearerSecret(authorization);
    // The hot path (a valid token, no failures anywhere, no per-token limit) allocates nothing.
    if (this.failures.size === 0 && this.replicas.size('failures') === 0 && this.deps.config.tokenRateLimit === 0 && 'secret' in bearer) {
      const resolved = await resolveToken(this.deps, bearer.secret);
      if ('principal' in resolved) return resolved.principal;
    }
    return await this.#authenticateWithLimits(bearer, address);
  }

  async #authenticateWithLimits(bearer: ReturnType<typeof bearerSecret>, address: () => string): Promise<Principal> {
    const prefix = 'secret' in bearer ? bearer.secret.slice(0, TOKEN_PREFIX_LENGTH) : undefined;
    let source: string | undefined;
    const sourceKey = () => (source ??= limitKey(address()));
    const keys = () => [`address ${sourceKey()}`, ...(prefix === undefined ? [] : [`prefix ${prefix}`])];
    const anonymous = () => ({ action: 'auth.refused', actor: 'anonymous', role: 'none', target: sourceKey() });
    let now: number | undefined;
    const clock = () => (now ??= this.deps.clock().getTime());

    const limit = this.deps.config.authFailureLimit;
    if (this.failures.size > 0 || this.replicas.size('failures') > 0) {
      let retryAfter = 0;
      for (const key of keys()) {
        const windows = this.#failureWindows(key, clock());
        if (total(windows) >= limit) retryAfter = Math.max(retryAfter, retryAfterSeconds(windows, limit, clock()));
      }
      if (retryAfter > 0) {
        await this.refusals.record(anonymous(), 'rate-limited', clock());
        throw new AccordError('too_many_requests', `Too many failed authentications; retry after ${retryAfter} s`, { retryAfterSeconds: retryAfter });
      }
    }

    const resolved = 'secret' in bearer ? await resolveToken(this.deps, bearer.secret) : bearer;
    if ('failure' in resolved) {
      for (const key of keys()) {
        const window = this.failures.add(key, clock());
        if (window.count + total(this.replicas.of('failures', key, clock())) !== limit) continue;
        // Once per window and key: the operator hears of a guessing run without one line per request.
        this.deps.logger.warn({ limited: key, retryAfterSeconds: 60 }, 'failed authentications reached ACCORD_AUTH_FAILURE_LIMIT; further attempts get 429 for a minute');
        await this.replicas.writeThrough('failures', key, window);
      }
      await this.refusals.record(anonymous(), resolved.failure, clock());
      throw new AccordError('unauthorized', FAILURE_DETAIL[resolved.failure]);
    }

    const principal = resolved.principal;
    const perToken = this.deps.config.tokenRateLimit;
    if (perToken > 0) {
      const window = this.requests.add(principal.tokenId, clock());
      const others = this.replicas.of('requests', principal.tokenId, clock());
      const count = window.count + total(others);
      // The last request the limit allows: the other replicas refuse the next one as soon as they sync.
      if (count === perToken) await this.replicas.writeThrough('requests', principal.tokenId, window);
      if (count > perToken) {
        await this.refusals.record({ action: 'rate-limited', actor: principal.name, role: principal.role, target: `token ${principal.tokenId}` }, 'token-rate-limit', clock());
        const retryAfter = retryAfterSeconds([window, ...others], perToken, clock());
        throw new AccordError('too_many_requests', `This token made more than ${perToken} requests this minute; retry after ${retryAfter} s`, { retryAfterSeconds: retryAfter });
      }
    }
    return principal;
  }

  /** This replica's open failure window for `key` (if any) and the other replicas' open ones. */
  #failureWindows(key: string, now: number): readonly Window[] {
    const local = this.failures.peek(key, now);
    const others = this.replicas.of('failures', key, now);
    return local ? [local, ...others] : others;
  }

  /**
   * Counts, in the aggregated refusal rows, a request that was answered without an authenticated
   * caller for any reason other than the guard's own refusals: nothing unauthenticated writes an
   * audit row of its own.
   * @param address the client's address (see clientAddress)
   */
  async refusedUnauthenticated(address: string, status: number): Promise<void> {
    await this.refusals.record({ action: 'auth.refused', actor: 'anonymous', role: 'none', target: limitKey(address) }, `status ${status}`, this.deps.clock().getTime());
  }

  /**
   * Writes the refusal rows of a minute that has ended and forgets ended windows, so requests take
   * the fast path again once the failures have aged out (the jobs loop calls it).
   */
  async flushEnded(): Promise<void> {
    const now = this.deps.clock().getTime();
    if (this.refusals.pending > 0) await this.refusals.flushEnded(now);
    this.failures.prune(now);
    this.requests.prune(now);
    this.replicas.prune(now);
  }

  /**
   * Shares the counts with the other replicas on PostgreSQL (the jobs loop calls it every
   * ACCORD_JOBS_INTERVAL_MS on every replica): writes this replica's changed counts to
   * rate_counters, reads the others' and purges ended windows; see ReplicaCounts. Does nothing on
   * SQLite. Never throws: a failed sync leaves the limits counting this replica alone until the
   * next one succeeds.
   */
  async sync(): Promise<void> {
    if (!this.replicas.shared) return;
    try {
      await this.replicas.sync({ failures: this.failures.entries(), requests: this.requests.entries() }, this.deps.clock().getTime());
    } catch (error) {
      this.deps.logger.error({ err: error }, 'rate-limit counts not shared with the other replicas');
    }
  }

  /** Writes every pending refusal row (shutdown). */
  async flush(): Promise<void> {
    await this.refusals.flush();
  }
}
