import { afterEach, describe, expect, it } from 'vitest';
import { AuthGuard, MAX_SYNC_ROWS, MAX_WRITE_THROUGH } from '../src/auth/abuse.ts';
import { total } from '../src/auth/replica-counts.ts';
import { AccordError } from '../src/errors.ts';
import { ADMIN_TOKEN, startTestService, TEST_AUDIT_KEY, TEST_STORAGE, type TestService } from './harness.ts';
import { freshPostgresDatabase, type PostgresDatabase } from './postgres.ts';

/**
 * Abuse limits across replicas: two AuthGuards with their own replica names on ONE real
 * PostgreSQL database (what two Accord processes behind a load balancer are to each other),
 * sharing their counts through rate_counters when sync() runs (the jobs loop's call). And on
 * SQLite, where one process owns the file, nothing is shared or written. Each test chooses its
 * storage itself, so the suite means the same in both test projects. Time is the injected clock.
 */

const T0 = Date.parse('2026-11-27T12:00:10Z');
const ATTACKER = '203.0.113.7';
const BYSTANDER = '198.51.100.20';

/** What authenticate answered: 200 for a principal, else the error's status and Retry-After. */
async function attempt(guard: AuthGuard, authorization: string | undefined, address = ATTACKER): Promise<{ status: number; retryAfter?: number }> {
  try {
    await guard.authenticate(authorization, () => address);
    return { status: 200 };
  } catch (error) {
    if (!(error instanceof AccordError)) throw error;
    return { status: error.status, ...(error.retryAfterSeconds === undefined ? {} : { retryAfter: error.retryAfterSeconds }) };
  }
}

describe('abuse limits across replicas on one PostgreSQL', () => {
  let s: TestService;
  let database: PostgresDatabase | undefined;
  let now: number;
  afterEach(async () => {
    await s.cleanup();
    await database?.drop();
    database = undefined;
  });

  /** A service on PostgreSQL (the project's own database there, a fresh one in the sqlite project) and two guards named a and b on it. */
  const start = async (limits: { failures?: number; perToken?: number } = {}) => {
    now = T0;
    let env: Record<string, string> = {};
    if (TEST_STORAGE !== 'postgres') {
      database = await freshPostgresDatabase({ migrated: true });
      env = { ACCORD_DATABASE_URL: database.url, ACCORD_AUDIT_KEY: TEST_AUDIT_KEY };
    }
    s = await startTestService({ clock: () => new Date(now), env });
    expect(s.deps.db.$dialect).toBe('postgres');
    const guard = (replicaId: string) => new AuthGuard({ ...s.deps, config: { ...s.deps.config, replicaId, authFailureLimit: limits.failures ?? 20, tokenRateLimit: limits.perToken ?? 0 } });
    return { a: guard('replica-a'), b: guard('replica-b') };
  };
  const rows = async (replica: string, scope = 'failures') => (await s.deps.db.$sql.all('SELECT key, window_start AS start, count FROM rate_counters WHERE replica = ? AND scope = ? ORDER BY key', [replica, scope])) as Array<{ key: string; start: number; count: number }>;

  it('failures spread over two replicas are refused at their combined count, on both, with a Retry-After that holds', async () => {
    const { a, b } = await start({ failures: 4 });
    expect((await attempt(a, undefined)).status).toBe(401);
    expect((await attempt(a, 'Bearer acc_unknown-0000000000000000000')).status).toBe(401);
    now += 5_000;
    expect((await attempt(b, undefined)).status).toBe(401);
    // a writes its 2, b writes its 1 and reads a's 2, a reads b's 1: each knows 3 of 4.
    await a.sync();
    await b.sync();
    await a.sync();
    expect(await rows('replica-a')).toEqual([expect.objectContaining({ key: `address ${ATTACKER}`, start: T0, count: 2 }), expect.objectContaining({ key: 'prefix acc_unknown-', count: 1 })]);
    expect((await attempt(a, `Bearer ${ADMIN_TOKEN}`)).status).toBe(200);

    now += 5_000;
    // b's second failure is the fourth in all: b writes its count at once rather than at its next sync.
    expect((await attempt(b, undefined)).status).toBe(401);
    expect(await rows('replica-b')).toEqual([expect.objectContaining({ key: `address ${ATTACKER}`, start: T0 + 5_000, count: 2 })]);
    // Refused until a's window (2 of the 4) ends at T0 + 60 s, 50 s from now; a valid token included.
    expect(await attempt(b, `Bearer ${ADMIN_TOKEN}`)).toEqual({ status: 429, retryAfter: 50 });
    await a.sync();
    expect(await attempt(a, `Bearer ${ADMIN_TOKEN}`)).toEqual({ status: 429, retryAfter: 50 });
    expect((await attempt(a, `Bearer ${ADMIN_TOKEN}`, BYSTANDER)).status).toBe(200);

    now = T0 + 60_000; // a's window has ended: 2 left, b's
    expect((await attempt(a, `Bearer ${ADMIN_TOKEN}`)).status).toBe(200);
    expect((await attempt(b, `Bearer ${ADMIN_TOKEN}`)).status).toBe(200);
  });

  it('a token\'s requests spread over two replicas get 429 at the combined ACCORD_TOKEN_RATE_LIMIT', async () => {
    const { a, b } = await start({ perToken: 5 });
    const ci = `Bearer ${await s.token('ci')}`;
    for (let i = 0; i < 3; i++) expect((await attempt(a, ci)).status).toBe(200);
    now += 1_000;
    expect((await attempt(b, ci)).status).toBe(200);
    await a.sync();
    await b.sync();
    await a.sync();
    now += 1_000;
    // The fifth in all: allowed, and written at once so a learns of it at its next sync.
    expect((await attempt(b, ci)).status).toBe(200);
    expect((await rows('replica-b', 'requests')).map((r) => r.count)).toEqual([2]);
    // b knows a's 3: its next is the sixth. Refused until a's window (3 requests, ends T0 + 60 s) is over.
    expect(await attempt(b, ci)).toEqual({ status: 429, retryAfter: 58 });
    await a.sync();
    // a counts this one too (4 here + b's 2 as written): refused until its own window ends.
    expect(await attempt(a, ci)).toEqual({ status: 429, retryAfter: 58 });
    expect((await attempt(a, `Bearer ${ADMIN_TOKEN}`)).status).toBe(200);

    now = T0 + 60_000;
    expect((await attempt(a, ci)).status).toBe(200);
  });

  it('once the windows end both replicas are back on the fast path, and a sync purges rows of windows ended two minutes ago', async () => {
    const { a, b } = await start({ failures: 2 });
    for (const guard of [a, b]) expect((await attempt(guard, undefined)).status).toBe(401);
    await a.sync();
    await b.sync();
    await a.sync();
    expect(await attempt(a, `Bearer ${ADMIN_TOKEN}`)).toEqual({ status: 429, retryAfter: 60 });
    expect(a.replicas.size('failures')).toBe(1);

    now = T0 + 61_000;
    for (const guard of [a, b]) {
      await guard.flushEnded(); // the jobs loop: forget ended windows, then sync
      await guard.sync();
      expect(guard.failures.size).toBe(0);
      expect(guard.replicas.size('failures')).toBe(0);
      expect((await attempt(guard, `Bearer ${ADMIN_TOKEN}`)).status).toBe(200);
    }
    expect(await s.deps.db.$sql.value('SELECT count(*) FROM rate_counters')).toBe(2); // not two minutes old yet

    now = T0 + 3 * 60_000;
    await a.sync();
    expect(await s.deps.db.$sql.value('SELECT count(*) FROM rate_counters')).toBe(0); // b's rows too
  });

  it('a flood of addresses makes one sync write at most MAX_SYNC_ROWS rows, the highest counts first, and the rest on the next', async () => {
    const { a, b } = await start({ failures: 20 });
    for (let i = 0; i < 3; i++) await attempt(a, undefined, '192.0.2.250'); // counted early: the flood does not crowd it out
    const flood = MAX_SYNC_ROWS + 200;
    for (let i = 0; i < flood; i++) expect((await attempt(a, undefined, `10.0.${i >> 8}.${i & 255}`)).status).toBe(401);
    await a.sync();
    const first = await rows('replica-a');
    expect(first).toHaveLength(MAX_SYNC_ROWS);
    expect(first).toContainEqual(expect.objectContaining({ key: 'address 192.0.2.250', count: 3 }));
    await a.sync();
    expect(await rows('replica-a')).toHaveLength(flood + 1);
    await a.sync(); // nothing changed: nothing written
    await b.sync();
    expect(b.replicas.size('failures')).toBe(flood + 1);
    expect(total(b.replicas.of('failures', 'address 192.0.2.250', now))).toBe(3);
  });

  it('writes at most MAX_WRITE_THROUGH keys at once between two syncs when a flood of keys reaches the limit', async () => {
    const { a } = await start({ failures: 1 });
    for (let i = 0; i < MAX_WRITE_THROUGH + 50; i++) expect((await attempt(a, undefined, `10.1.0.${i}`)).status).toBe(401);
    expect(await rows('replica-a')).toHaveLength(MAX_WRITE_THROUGH);
    await a.sync();
    expect(await rows('replica-a')).toHaveLength(MAX_WRITE_THROUGH + 50);
  });
});

describe('abuse limits on SQLite (one process owns the file)', () => {
  let s: TestService;
  afterEach(async () => await s.cleanup());

  it('shares nothing and writes no rate_counters rows: each guard counts alone, as before replicas', async () => {
    let now = T0;
    // An empty ACCORD_DATABASE_URL selects SQLite in the postgres test project too.
    s = await startTestService({ clock: () => new Date(now), env: { ACCORD_DATABASE_URL: '' } });
    expect(s.deps.db.$dialect).toBe('sqlite');
    expect(s.config.replicaId).toBe('embedded');
    const guard = (replicaId: string) => new AuthGuard({ ...s.deps, config: { ...s.deps.config, replicaId, authFailureLimit: 2, tokenRateLimit: 3 } });
    const [a, b] = [guard('embedded'), guard('other')];
    const ci = `Bearer ${await s.token('ci')}`;
    for (let i = 0; i < 2; i++) expect((await attempt(a, undefined)).status).toBe(401);
    for (let i = 0; i < 3; i++) expect((await attempt(a, ci, BYSTANDER)).status).toBe(200);
    await a.sync();
    await b.sync();
    expect(await attempt(a, `Bearer ${ADMIN_TOKEN}`)).toEqual({ status: 429, retryAfter: 60 });
    expect(await attempt(a, ci, BYSTANDER)).toEqual({ status: 429, retryAfter: 60 });
    expect((await attempt(b, `Bearer ${ADMIN_TOKEN}`)).status).toBe(200);
    expect((await attempt(b, ci, BYSTANDER)).status).toBe(200);
    expect(a.replicas.shared).toBe(false);
    expect(await s.deps.db.$sql.value('SELECT count(*) FROM rate_counters')).toBe(0);
    now += 60_000;
    expect((await attempt(a, `Bearer ${ADMIN_TOKEN}`)).status).toBe(200);
  });
});
