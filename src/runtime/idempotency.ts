import type { Deps } from '../deps.ts';

/** What the store decided for one request carrying an Idempotency-Key. */
export type Claim =
  | { kind: 'proceed' }
  | { kind: 'replay'; status: number; headers: Record<string, string>; body: string }
  | { kind: 'in-flight' }
  | { kind: 'mismatch' };

interface Row {
  fingerprint: string;
  status: string;
  lease_expires_at: string;
  expires_at: string;
  response_status: number;
  response_headers: string;
  response_body: string;
}

/**
 * SQLite-backed Idempotency-Key store (table idempotency_keys; prepared statements, it is the hot path) with IETF httpapi semantics. `claim` is an atomic
 * insert-or-get: the first request with a key proceeds and holds a lease; a repeat with the
 * same fingerprint gets the stored response once completed (or "in flight" while the lease
 * holds); a repeat with a different fingerprint is a mismatch. Expired windows and leases are
 * taken over.
 */
const INSERT = `INSERT INTO idempotency_keys (scope, key, fingerprint, status, lease_expires_at, created_at, expires_at)
  VALUES (@scope, @key, @fingerprint, 'in-flight', @lease, @now, @expires) ON CONFLICT (scope, key) DO NOTHING`;
const SELECT = 'SELECT * FROM idempotency_keys WHERE scope = ? AND key = ?';
// Take over only what is still expired at write time (another claimant may have won).
const TAKE_OVER = `UPDATE idempotency_keys SET fingerprint = @fingerprint, status = 'in-flight', lease_expires_at = @lease, created_at = @now, expires_at = @expires,
    response_status = NULL, response_headers = NULL, response_body = NULL
  WHERE scope = @scope AND key = @key AND (expires_at <= @now OR (status = 'in-flight' AND lease_expires_at <= @now))`;
const PURGE = `DELETE FROM idempotency_keys WHERE (scope, key) IN (SELECT scope, key FROM idempotency_keys WHERE expires_at <= ? AND status = 'completed' LIMIT ?)`;
const COMPLETE = `UPDATE idempotency_keys SET status = 'completed', response_status = ?, response_headers = ?, response_body = ? WHERE scope = ? AND key = ?`;

/**
 * Idempotency-Key store (table idempotency_keys; raw SQL, it is the hot path) with IETF httpapi
 * semantics. `claim` is an atomic insert-or-get: the first request with a key proceeds and holds
 * a lease; a repeat with the same fingerprint gets the stored response once completed (or "in
 * flight" while the lease holds); a repeat with a different fingerprint is a mismatch. Expired
 * windows and leases are taken over.
 */
export class IdempotencyStore {
  constructor(private readonly deps: Pick<Deps, 'db' | 'clock'>) {}

  /**
   * Claims a key for a request.
   * @param windowMs the flow's dedupe window
   * @param leaseMs how long an in-flight claim blocks repeats before it may be taken over
   */
  async claim(scope: string, key: string, fingerprint: string, windowMs: number, leaseMs: number): Promise<Claim> {
    const sql = this.deps.db.$sql;
    const now = this.deps.clock();
    const params = { scope, key, fingerprint, now: now.toISOString(), lease: new Date(now.getTime() + leaseMs).toISOString(), expires: new Date(now.getTime() + windowMs).toISOString() };
    if ((await sql.run(INSERT, params)).changes === 1) return { kind: 'proceed' };
    const row = await sql.get<Row>(SELECT, [scope, key]);
    if (!row) return await this.claim(scope, key, fingerprint, windowMs, leaseMs);
    const expired = row.expires_at <= params.now;
    if (!expired && row.fingerprint !== fingerprint) return { kind: 'mismatch' };
    if (expired || (row.status === 'in-flight' && row.lease_expires_at <= params.now)) {
      return (await sql.run(TAKE_OVER, params)).changes === 1 ? { kind: 'proceed' } : await this.claim(scope, key, fingerprint, windowMs, leaseMs);
    }
    if (row.status === 'in-flight') return { kind: 'in-flight' };
    return { kind: 'replay', status: row.response_status, headers: JSON.parse(row.response_headers) as Record<string, string>, body: row.response_body };
  }

  /** Deletes keys whose dedupe window is over (at most `limit` per call); returns how many. */
  async purgeExpired(limit = 10_000): Promise<number> {
    return (await this.deps.db.$sql.run(PURGE, [this.deps.clock().toISOString(), limit])).changes;
  }

  /** Stores the response of a claimed key; repeats get it byte for byte. */
  async complete(scope: string, key: string, response: { status: number; headers: Record<string, string>; body: string }): Promise<void> {
    await this.deps.db.$sql.run(COMPLETE, [response.status, JSON.stringify(response.headers), response.body, scope, key]);
  }
}
