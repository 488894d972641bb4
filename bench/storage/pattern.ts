/**
 * The exchange hot path's storage pattern (src/runtime/direct-requests/serve.ts), reduced to its
 * statements: per request, in ONE transaction, an idempotency claim (insert-or-nothing on
 * (scope, key)), the stored response (update of the claimed row) and the transaction record
 * (one insert into `transactions`, src/runtime/direct-requests/record.ts). Same SQL text as the
 * app for SQLite, the same statements in PostgreSQL's dialect for PGlite and node-postgres.
 */
import { randomUUID } from 'node:crypto';

/** One request's parameters (a fresh key: every request is a first delivery, as in the runtime bench). */
export function requestParams(i: number, now = new Date()) {
  const iso = now.toISOString();
  return {
    scope: `token-bench POST /exchange/northwind-health/p2p-exchange/v2/Patient/$member-match`,
    key: `${randomUUID()}-${i}`,
    fingerprint: 'f3c1a9d0b2e4f6a8c0e2a4b6d8f0a2c4e6a8b0d2f4a6c8e0a2b4d6f8a0c2e4a6',
    now: iso,
    lease: new Date(now.getTime() + 30_000).toISOString(),
    expires: new Date(now.getTime() + 86_400_000).toISOString(),
    status: 200,
    headers: JSON.stringify({ 'Content-Type': 'application/fhir+json' }),
    body: JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'MemberIdentifier', valueIdentifier: { system: 'urn:oid:2.16.840.1.113883.4.3.0', value: `M-${i}` } }] }),
    id: randomUUID(),
    flow: 'member-match',
    partner: 'northwind-health',
    api: 'p2p-exchange',
    version: '2.0.0',
    state: 'completed',
    correlationId: randomUUID(),
    traceId: randomUUID().replaceAll('-', ''),
    caller: 'token-bench',
    callerPartner: 'contoso-health',
    syncStep: JSON.stringify({ id: 'match', operation: 'member-match', state: 'succeeded', attempts: 1, startedAt: iso, endedAt: iso, latencyMs: 0, outcome: { status: 200, result: 'answered' }, attemptLog: [{ n: 1, startedAt: iso, endedAt: iso, latencyMs: 0, status: 200, result: 'answered', spanId: '00f067aa0ba902b7' }] }),
  };
}
export type RequestParams = ReturnType<typeof requestParams>;

/** SQLite: the app's own statement texts (named parameters). */
export const SQLITE = {
  claim: `INSERT INTO idempotency_keys (scope, key, fingerprint, status, lease_expires_at, created_at, expires_at)
       VALUES (@scope, @key, @fingerprint, 'in-flight', @lease, @now, @expires) ON CONFLICT (scope, key) DO NOTHING`,
  complete: `UPDATE idempotency_keys SET status = 'completed', response_status = @status, response_headers = @headers, response_body = @body WHERE scope = @scope AND key = @key`,
  record: `INSERT INTO transactions (id, flow, partner, api, version, state, phase, cursor, correlation_id, idempotency_key, trace_id, tracestate, caller_token_id, caller_partner, mode, input, plan, context, sync_step, failure, time_scale_ppm, created_at, updated_at, finished_at)
       VALUES (@id, @flow, @partner, @api, @version, @state, 'forward', 1, @correlationId, @key, @traceId, NULL, @caller, @callerPartner, 'sync', '{}', '{}', '{}', @syncStep, NULL, 1000000, @now, @now, @now)`,
};

/** PostgreSQL: the same statements, positional parameters, and the tables/indexes as in migrations/ (text timestamps kept). */
export const POSTGRES = {
  ddl: `
    DROP TABLE IF EXISTS idempotency_keys; DROP TABLE IF EXISTS transactions;
    CREATE TABLE idempotency_keys (scope text NOT NULL, key text NOT NULL, fingerprint text NOT NULL, status text NOT NULL, lease_expires_at text NOT NULL,
      response_status integer, response_headers text, response_body text, created_at text NOT NULL, expires_at text NOT NULL, PRIMARY KEY (scope, key));
    CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);
    CREATE TABLE transactions (id text PRIMARY KEY, flow text NOT NULL, partner text NOT NULL, api text NOT NULL, version text NOT NULL, state text NOT NULL,
      phase text NOT NULL, cursor integer NOT NULL, operator_action text, correlation_id text NOT NULL, idempotency_key text, trace_id text NOT NULL, tracestate text,
      caller_token_id text NOT NULL, caller_partner text, mode text NOT NULL, input text NOT NULL, plan text NOT NULL, context text NOT NULL, sync_step text, failure text,
      time_scale_ppm integer NOT NULL, next_run_at text, created_at text NOT NULL, updated_at text NOT NULL, finished_at text, seq bigserial NOT NULL);
    CREATE INDEX transactions_correlation ON transactions (correlation_id);
    CREATE INDEX transactions_idempotency_key ON transactions (idempotency_key);
    CREATE INDEX transactions_unfinished ON transactions (state, updated_at) WHERE state NOT IN ('completed', 'compensated');`,
  claim: `INSERT INTO idempotency_keys (scope, key, fingerprint, status, lease_expires_at, created_at, expires_at)
       VALUES ($1, $2, $3, 'in-flight', $4, $5, $6) ON CONFLICT (scope, key) DO NOTHING`,
  complete: `UPDATE idempotency_keys SET status = 'completed', response_status = $1, response_headers = $2, response_body = $3 WHERE scope = $4 AND key = $5`,
  record: `INSERT INTO transactions (id, flow, partner, api, version, state, phase, cursor, correlation_id, idempotency_key, trace_id, tracestate, caller_token_id, caller_partner, mode, input, plan, context, sync_step, failure, time_scale_ppm, created_at, updated_at, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'forward', 1, $7, $8, $9, NULL, $10, $11, 'sync', '{}', '{}', '{}', $12, NULL, 1000000, $13, $13, $13)`,
  claimArgs: (p: RequestParams) => [p.scope, p.key, p.fingerprint, p.lease, p.now, p.expires],
  completeArgs: (p: RequestParams) => [p.status, p.headers, p.body, p.scope, p.key],
  recordArgs: (p: RequestParams) => [p.id, p.flow, p.partner, p.api, p.version, p.state, p.correlationId, p.key, p.traceId, p.caller, p.callerPartner, p.syncStep, p.now],
};

/**
 * Runs `clients` concurrent loops of `request(i)` for `seconds`; returns requests per second.
 * Each loop awaits its own request before the next, as an HTTP client with one connection does.
 */
export async function drive(clients: number, seconds: number, request: (i: number) => Promise<unknown>): Promise<number> {
  let n = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) await request(n++);
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

/**
 * Group commit for an asynchronous connection: units queued in the same event-loop turn run
 * one after another (each awaited) inside one BEGIN … COMMIT, and every caller's promise settles
 * after the commit. What src/db/group-commit.ts does, for a driver whose calls return promises
 * (no savepoint fallback: the bench's units do not fail).
 */
export class AsyncGroupCommit<C> {
  private queue: Array<{ work: (c: C) => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void }> = [];
  private scheduled = false;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly connection: C,
    private readonly exec: (c: C, sql: string) => Promise<unknown>,
    private readonly maxBatch = 256,
  ) {}

  run<T>(work: (c: C) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.running = this.running.then(() => this.flush());
        });
      }
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.queue.splice(0, this.maxBatch);
    if (this.queue.length > 0) {
      this.scheduled = true;
      setImmediate(() => {
        this.running = this.running.then(() => this.flush());
      });
    }
    if (batch.length === 0) return;
    try {
      await this.exec(this.connection, 'BEGIN');
      const values: unknown[] = [];
      for (const unit of batch) values.push(await unit.work(this.connection));
      await this.exec(this.connection, 'COMMIT');
      batch.forEach((unit, i) => unit.resolve(values[i]));
    } catch (error) {
      await this.exec(this.connection, 'ROLLBACK').catch(() => {});
      for (const unit of batch) unit.reject(error);
    }
  }
}

/** Median and spread (min–max) of repeated measurements, rounded. */
export function summarise(values: number[]): { median: number; min: number; max: number; text: string } {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const r = (x: number) => Math.round(x).toLocaleString('en-US');
  return { median, min: sorted[0]!, max: sorted.at(-1)!, text: `${r(median)} req/s (${r(sorted[0]!)}–${r(sorted.at(-1)!)}; ${values.map(r).join(' / ')})` };
}
