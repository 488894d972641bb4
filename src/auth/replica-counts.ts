import type { Deps } from '../deps.ts';

/** Length of a rate-limit window. */
export const WINDOW_MS = 60_000;
/** Most windows one counter keeps; past it the oldest are dropped (a flood of addresses cannot grow memory). */
export const MAX_WINDOWS = 10_000;
/**
 * Most rows of one scope a sync writes: under a flood of more changed keys than this a second,
 * the keys with the highest counts go first and the rest follow on later syncs (or not before
 * their window ends), so other replicas learn of the lowest counts late. Keys that reach a limit
 * are written at once besides (MAX_WRITE_THROUGH).
 */
export const MAX_SYNC_ROWS = 1_000;
/** Most keys written at once on reaching a limit between two syncs; past it they wait for the next sync. */
export const MAX_WRITE_THROUGH = 100;

/** Which limit a count is for: failed authentications (per address or token prefix) or requests (per token). */
export type Scope = 'failures' | 'requests';
const SCOPES: readonly Scope[] = ['failures', 'requests'];

/** One key's count in a window that starts at `start` (epoch ms) and lasts WINDOW_MS. */
export interface Window {
  start: number;
  count: number;
  /** The count this replica last wrote to rate_counters (PostgreSQL only). */
  written: number;
}

const NONE: readonly Window[] = Object.freeze([]);

// PostgreSQL only (sync never runs on SQLite, where one process owns the file): one statement for
// any number of rows, so the text stays one prepared shape. Each replica writes only its own rows;
// a count only grows within a window, so the larger of two racing writes (a sync and a write-through) wins.
const UPSERT = `INSERT INTO rate_counters (scope, key, window_start, replica, count)
SELECT r.scope, r.key, r.window_start, ?, r.count FROM unnest(?::text[], ?::text[], ?::bigint[], ?::bigint[]) AS r(scope, key, window_start, count)
ON CONFLICT (scope, key, window_start, replica) DO UPDATE SET count = GREATEST(rate_counters.count, excluded.count)`;

interface Row {
  scope: Scope;
  key: string;
  window: Window;
  count: number;
}

/**
 * The rate-limit counts of the other replicas sharing one PostgreSQL, and the writing of this
 * replica's own (table rate_counters, one row per scope, key, window and replica). Each replica
 * keeps its own windows (a window starts at the key's first event on that replica); a decision
 * adds this replica's open window to the others' windows for the same key that are open at that
 * moment, so counts spread over replicas add up. On SQLite nothing is shared and nothing written.
 */
export class ReplicaCounts {
  /** Whether other replicas may exist (PostgreSQL). */
  readonly shared: boolean;
  #others: Record<Scope, Map<string, Window[]>> = { failures: new Map(), requests: new Map() };
  #writeThroughs = 0;
  #purgedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly deps: Pick<Deps, 'db' | 'config' | 'logger'>) {
    this.shared = deps.db.$dialect === 'postgres';
  }

  /** Keys of `scope` with a window from another replica as of the last sync (ended ones until pruned). */
  size(scope: Scope): number {
    return this.#others[scope].size;
  }

  /** The other replicas' windows for `key` that are open at `now` (last synced counts). */
  of(scope: Scope, key: string, now: number): readonly Window[] {
    const windows = this.#others[scope].get(key);
    if (!windows) return NONE;
    return windows.filter((w) => now < w.start + WINDOW_MS);
  }

  /** Forgets the other replicas' windows that have ended (requests take the fast path again without waiting for a sync). */
  prune(now: number): void {
    for (const scope of SCOPES) {
      for (const [key, windows] of this.#others[scope]) if (windows.every((w) => now >= w.start + WINDOW_MS)) this.#others[scope].delete(key);
    }
  }

  /**
   * Writes this replica's row for one key at once (the key just reached a limit here, so the
   * other replicas learn of it at their next sync instead of one sync later). At most
   * MAX_WRITE_THROUGH between two syncs: a flood of keys reaching the limit cannot turn every
   * failed request into a write. Never throws (a failed write is retried by the next sync).
   */
  async writeThrough(scope: Scope, key: string, window: Window): Promise<void> {
    if (!this.shared || this.#writeThroughs >= MAX_WRITE_THROUGH) return;
    this.#writeThroughs++;
    try {
      await this.#write([{ scope, key, window, count: window.count }]);
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'rate-limit count not written through; the next sync writes it');
    }
  }

  /**
   * Writes this replica's changed counts of open windows (at most MAX_SYNC_ROWS per scope, the
   * highest first), reads the other replicas' open windows in their place, and once a minute
   * deletes every replica's rows of windows that ended two minutes ago or more. PostgreSQL only.
   */
  async sync(local: Record<Scope, Iterable<[string, Window]>>, now: number): Promise<void> {
    if (!this.shared) return;
    const rows: Row[] = [];
    for (const scope of SCOPES) rows.push(...changed(scope, local[scope], now));
    if (rows.length > 0) await this.#write(rows);
    this.#writeThroughs = 0;
    await this.#read(now);
    if (now - this.#purgedAt >= WINDOW_MS) {
      // Every replica's rows, not only this one's: a replica that stopped (or restarted under a new
      // name) leaves rows no one else would delete. Ended windows are never written again, so
      // this contends only with the same delete from another replica.
      await this.deps.db.$sql.run('DELETE FROM rate_counters WHERE window_start < ?', [now - 2 * WINDOW_MS]);
      this.#purgedAt = now;
    }
  }

  async #write(rows: Row[]): Promise<void> {
    await this.deps.db.$sql.run(UPSERT, [this.deps.config.replicaId, rows.map((r) => r.scope), rows.map((r) => r.key), rows.map((r) => r.window.start), rows.map((r) => r.count)]);
    // The count as written, not as it is now: requests may have counted more meanwhile.
    for (const row of rows) row.window.written = Math.max(row.window.written, row.count);
  }

  async #read(now: number): Promise<void> {
    const rows = await this.deps.db.$sql.all<{ scope: string; key: string; start: number; count: number }>(
      'SELECT scope, key, window_start AS start, count FROM rate_counters WHERE replica <> ? AND window_start > ? ORDER BY count DESC LIMIT ?',
      [this.deps.config.replicaId, now - WINDOW_MS, 2 * MAX_WINDOWS],
    );
    const others: Record<Scope, Map<string, Window[]>> = { failures: new Map(), requests: new Map() };
    for (const row of rows) {
      if (row.scope !== 'failures' && row.scope !== 'requests') continue;
      const map = others[row.scope];
      const windows = map.get(row.key);
      const window = { start: row.start, count: row.count, written: row.count };
      if (windows) windows.push(window);
      else if (map.size < MAX_WINDOWS) map.set(row.key, [window]);
    }
    this.#others = others;
  }
}

/** The open windows of one scope whose count changed since written, at most MAX_SYNC_ROWS, the highest counts first. */
function changed(scope: Scope, windows: Iterable<[string, Window]>, now: number): Row[] {
  const rows: Row[] = [];
  for (const [key, window] of windows) {
    if (now < window.start + WINDOW_MS && window.count > window.written) rows.push({ scope, key, window, count: window.count });
  }
  if (rows.length <= MAX_SYNC_ROWS) return rows;
  return rows.sort((a, b) => b.count - a.count).slice(0, MAX_SYNC_ROWS);
}

/** The sum of the windows' counts. */
export function total(windows: readonly Window[]): number {
  let sum = 0;
  for (const w of windows) sum += w.count;
  return sum;
}

/**
 * Seconds until the count over `windows` falls below `limit` (at least 1): what Retry-After
 * says. Windows end in order and take their counts with them; with one window it is the time
 * until that window ends.
 */
export function retryAfterSeconds(windows: readonly Window[], limit: number, now: number): number {
  const ends = windows.map((w) => ({ end: w.start + WINDOW_MS, count: w.count })).sort((a, b) => a.end - b.end);
  let left = total(windows);
  let until = now;
  for (const w of ends) {
    if (left < limit) break;
    until = w.end;
    left -= w.count;
  }
  return Math.max(1, Math.ceil((until - now) / 1000));
}
