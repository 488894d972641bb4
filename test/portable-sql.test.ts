import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAudit } from '../src/audit/search.ts';
import type { Principal } from '../src/auth/principal.ts';
import { latestChangeFor } from '../src/changes/changes.ts';
import { observedUsage } from '../src/changes/usage.ts';
import { acknowledgementInbox, awaitingPrincipal, changeQueue, inboxCount, partnerChanges, QUEUE_TABS, queueCounts } from '../src/changes/queue.ts';
import { versionKey } from '../src/contracts/ids.ts';
import { listContracts } from '../src/contracts/versions.ts';
import { dbOf, openDb, type Db } from '../src/db/client.ts';
import { migratePostgres } from '../src/db/postgres-migrate.ts';
import { postgresTypes } from '../src/db/postgres-types.ts';
import type { Executor } from '../src/db/sql.ts';
import { PostgresExecutor } from '../src/db/postgres.ts';
import { SqliteExecutor } from '../src/db/sqlite.ts';
import type { Deps } from '../src/deps.ts';
import { dueSubscriptions } from '../src/notices/webhook-dispatcher.ts';
import { PartnerStats } from '../src/observability/partner-stats.ts';
import { scorecard } from '../src/observability/scorecards.ts';
import { SlaMonitor } from '../src/observability/sla.ts';
import { operatorViews } from '../src/observability/views.ts';
import type { Runtime } from '../src/runtime/index.ts';
import { appendEvent } from '../src/runtime/outbox.ts';
import { freshPostgresDatabase, type PostgresDatabase } from './postgres.ts';

/**
 * The app's SQL that had to be rewritten to run on both engines (src/changes/queue.ts,
 * src/changes/usage.ts, src/contracts/versions.ts, src/notices/webhook-dispatcher.ts, src/observability/*,
 * src/audit/search.ts), run through the app's own functions on a migrated SQLite and a migrated
 * PostgreSQL holding the same rows. Each function must answer the same on both, and so must
 * every statement it issues (rows as the driver returns them: a PostgreSQL boolean or text where
 * SQLite answers 0/1 or a number fails here even where JavaScript would coerce it).
 */

type Statement = { text: string; rows: unknown[] };

/** The executor, noting each statement and the rows it answered. */
function recording(inner: Executor, log: Statement[]): Executor {
  return {
    dialect: inner.dialect,
    query: async (text, params, mode) => {
      const result = await inner.query(text, params, mode);
      log.push({ text, rows: result.rows });
      return result;
    },
    transaction: (work) => inner.transaction(work),
    unit: (work) => inner.unit(work),
    close: () => inner.close(),
  };
}

const sqliteLog: Statement[] = [];
const postgresLog: Statement[] = [];
let sqlite: Db;
let postgres: Db;
let database: PostgresDatabase;

beforeAll(async () => {
  const connection = openDb(':memory:').$sqlite!;
  sqlite = dbOf(recording(new SqliteExecutor(connection), sqliteLog), connection);
  database = await freshPostgresDatabase();
  const pool = new pg.Pool({ connectionString: database.url, types: postgresTypes, max: 2 });
  await migratePostgres(pool);
  postgres = dbOf(recording(new PostgresExecutor(pool), postgresLog));
});
afterAll(async () => {
  await sqlite?.$close();
  await postgres?.$close();
  await database?.drop();
});

/** Inserts the same rows into both databases. */
async function seed(text: string, rows: unknown[][]): Promise<void> {
  for (const row of rows) {
    await sqlite.$sql.run(text, row);
    await postgres.$sql.run(text, row);
  }
}

/** Runs `read` on both databases: the same statements, each answering the same rows, and the same result. */
async function same<T>(read: (db: Db) => Promise<T>): Promise<T> {
  sqliteLog.length = 0;
  postgresLog.length = 0;
  const fromSqlite = await read(sqlite);
  const fromPostgres = await read(postgres);
  expect(postgresLog.map((s) => s.text)).toEqual(sqliteLog.map((s) => s.text));
  for (const [i, s] of sqliteLog.entries()) expect(postgresLog[i]!.rows, s.text).toEqual(s.rows);
  expect(fromPostgres).toEqual(fromSqlite);
  return fromSqlite;
}

const at = (minute: number, second = 0) => `2026-12-01T10:${String(minute).padStart(2, '0')}:${String(second).padStart(2, '0')}.000Z`;
const staff = (name: string, tokenId: string, role: Principal['role']): Principal => ({ tokenId, name, role, partner: null });
const partner = (id: string): Principal => ({ tokenId: `tok_${id}`, name: id, role: 'partner', partner: id });

describe('contract versions and change requests', () => {
  beforeAll(async () => {
    const versions: Array<[partner: string, api: string, version: string, state: string, registeredBy: string]> = [
      ['acme', 'claims', '1.0.0', 'released', 'carol'],
      ['acme', 'claims', '2.0.0', 'draft', 'carol'],
      ['acme', 'claims', '2.1.0-rc.1', 'draft', 'carol'],
      ['acme', 'eligibility', '1.1.0', 'approved', 'carol'],
      ['acme', 'eligibility', '1.2.0', 'draft', 'bob-approver'],
      ['acme', 'notes', '0.1.0', 'draft', 'carol'],
      ['globex', 'members', '2.0.0', 'deprecated', 'carol'],
      ['globex', 'members', '3.0.0', 'draft', 'carol'],
      ['initech', 'billing', '1.0.0', 'draft', 'carol'],
    ];
    await seed(
      'INSERT INTO contract_versions (partner, api, version, version_key, state, sha256, "commit", tag, size_bytes, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      versions.map(([p, api, v, state, by], n) => [p, api, v, versionKey(v), state, `sha-${n}`, `commit-${n}`, `${p}/${api}/v${v}`, 100 + n, at(0, n), by]),
    );
    // In insertion (rowid) order; chg_7 and chg_8 were opened in the same millisecond: chg_8, inserted later, is current.
    const changes: Array<[id: string, api: string, version: string, diffHash: string, breaking: number, approvals: number, acks: string[], createdAt: string, by: string]> = [
      ['chg_0', 'acme/claims', '2.0.0', 'h0', 1, 2, ['globex'], at(0, 30), 'alice-author'],
      ['chg_1', 'acme/claims', '1.0.0', 'h1', 0, 1, [], at(1), 'alice-author'],
      ['chg_2', 'acme/claims', '1.0.0', 'h1', 0, 1, [], at(2), 'alice-author'],
      ['chg_3', 'acme/claims', '2.0.0', 'h2', 1, 2, ['globex', 'initech'], at(3), 'alice-author'],
      ['chg_4', 'acme/eligibility', '1.1.0', 'h3', 0, 1, [], at(4), 'alice-author'],
      ['chg_5', 'acme/eligibility', '1.2.0', 'h4', 0, 2, ['globex'], at(5), 'alice-author'],
      ['chg_6', 'globex/members', '3.0.0', 'h5', 1, 1, ['acme'], at(6), 'erin'],
      ['chg_9', 'globex/members', '2.0.0', 'h9', 0, 1, [], at(6, 30), 'erin'],
      ['chg_7', 'initech/billing', '1.0.0', 'h6', 1, 1, ['acme'], at(7), 'frank'],
      ['chg_8', 'initech/billing', '1.0.0', 'h6', 1, 1, ['acme', 'globex'], at(7), 'frank'],
    ];
    await seed(
      `INSERT INTO change_requests (id, partner, api, version, content_sha256, base_version, diff, diff_hash, breaking, summary, flows, required_approvals, required_acks, required_evidence, created_at, created_by, created_by_token)
       VALUES (?, ?, ?, ?, 's', NULL, '{}', ?, ?, ?, '[]', ?, ?, '[]', ?, ?, ?)`,
      changes.map(([id, pa, v, h, breaking, approvals, acks, createdAt, by]) => [id, ...pa.split('/'), v, h, breaking, `change ${id}`, approvals, JSON.stringify(acks), createdAt, by, `tok_${by}`]),
    );
    await seed(
      "INSERT INTO change_reviews (id, change_id, decision, comment, diff_hash, reviewer, reviewer_token, created_at) VALUES (?, ?, ?, '', ?, ?, ?, ?)",
      [
        ['rev_1', 'chg_3', 'approve', 'h2', 'bob-approver', 'tok_b', at(10)],
        ['rev_2', 'chg_3', 'approve', 'h2', 'dave-approver', 'tok_d', at(11)],
        ['rev_3', 'chg_4', 'approve', 'h3', 'dave-approver', 'tok_d', at(12)],
        ['rev_4', 'chg_5', 'approve', 'h4', 'dave-approver', 'tok_d', at(13)],
        ['rev_5', 'chg_6', 'reject', 'h5', 'dave-approver', 'tok_d', at(14)],
        ['rev_6', 'chg_1', 'approve', 'h1', 'dave-approver', 'tok_d', at(15)],
      ],
    );
    await seed("INSERT INTO change_acks (id, change_id, partner, diff_hash, comment, created_at, created_by) VALUES (?, ?, ?, ?, '', ?, ?)", [['ack_1', 'chg_3', 'globex', 'h2', at(20), 'globex']]);
  });

  const viewers = [staff('val-author', 'tok_v', 'author'), staff('bob-approver', 'tok_b', 'approver'), staff('dave-approver', 'tok_d', 'approver'), staff('Alice-Author', 'tok_adm', 'admin')];

  it('lists and counts every queue tab, for viewers who review and who do not', async () => {
    for (const viewer of viewers) {
      for (const tab of QUEUE_TABS) {
        await same((db) => changeQueue({ db }, viewer, tab));
        await same((db) => changeQueue({ db }, viewer, tab, 2, 1));
      }
      await same((db) => queueCounts({ db }, viewer));
      await same((db) => awaitingPrincipal({ db }, viewer));
    }
    expect(await same((db) => queueCounts({ db }, viewers[0]!))).toEqual({ review: 2, acks: 1, ready: 1, released: 2 });
    expect(await same((db) => queueCounts({ db }, viewers[1]!))).toEqual({ review: 1, acks: 1, ready: 1, released: 2 });
    const review = await same((db) => changeQueue({ db }, viewers[0]!, 'review'));
    expect(review.rows.map((r) => [r.id, r.breaking, r.approvals, r.requiredAcknowledgements])).toEqual([['chg_8', true, 0, 2], ['chg_5', false, 1, 1]]);
    const acks = await same((db) => changeQueue({ db }, viewers[0]!, 'acks'));
    expect(acks.rows.map((r) => [r.id, r.approvals, r.acknowledgements, r.rejected])).toEqual([['chg_3', 2, 1, false]]);
    expect((await same((db) => changeQueue({ db }, viewers[0]!, 'released'))).rows.map((r) => [r.id, r.state])).toEqual([['chg_9', 'deprecated'], ['chg_2', 'released']]);
    expect((await same((db) => awaitingPrincipal({ db }, viewers[1]!))).map((c) => c.id)).toEqual(['chg_8']);
  });

  it("lists partners' inboxes and their own change requests", async () => {
    for (const id of ['acme', 'globex', 'initech', 'nobody']) {
      await same((db) => acknowledgementInbox({ db }, id));
      await same((db) => inboxCount({ db }, id));
      await same((db) => partnerChanges({ db }, id));
      await same((db) => awaitingPrincipal({ db }, partner(id)));
    }
    expect((await same((db) => acknowledgementInbox({ db }, 'globex'))).rows.map((r) => r.id)).toEqual(['chg_8', 'chg_5']);
    expect(await same((db) => inboxCount({ db }, 'acme'))).toBe(1);
    const rejected = await same((db) => partnerChanges({ db }, 'globex'));
    expect(rejected.rows.map((r) => [r.id, r.rejected])).toEqual([['chg_9', false], ['chg_6', true]]);
  });

  it('takes the later of two change requests opened in the same millisecond as current', async () => {
    expect((await same((db) => latestChangeFor({ db }, 'initech', 'billing', '1.0.0')))?.id).toBe('chg_8');
  });

  it("lists every API with its newest visible version and count", async () => {
    const deps = (db: Db) => ({ db }) as Deps;
    expect(await same(async (db) => (await listContracts(deps(db), staff('val-author', 'tok_v', 'author'))).items)).toEqual([
      { partner: 'acme', api: 'claims', latestVersion: '2.1.0-rc.1', versionCount: 3 },
      { partner: 'acme', api: 'eligibility', latestVersion: '1.2.0', versionCount: 2 },
      { partner: 'acme', api: 'notes', latestVersion: '0.1.0', versionCount: 1 },
      { partner: 'globex', api: 'members', latestVersion: '3.0.0', versionCount: 2 },
      { partner: 'initech', api: 'billing', latestVersion: '1.0.0', versionCount: 1 },
    ]);
    expect(await same(async (db) => (await listContracts(deps(db), partner('globex'))).items)).toEqual([
      { partner: 'acme', api: 'claims', latestVersion: '1.0.0', versionCount: 1 },
      { partner: 'globex', api: 'members', latestVersion: '3.0.0', versionCount: 2 },
    ]);
  });
});

describe('webhook deliveries', () => {
  it('finds the subscriptions with due deliveries, oldest due first, with their owner', async () => {
    await seed("INSERT INTO webhooks (id, url, secret, events, partner, created_at, created_by, deleted_at, disabled_at) VALUES (?, 'https://hooks.example/x', 's', '[]', ?, ?, 'carol', ?, ?)", [
      ['wh_1', 'acme', at(0), null, null],
      ['wh_2', null, at(0), null, null],
      ['wh_3', 'globex', at(0), null, at(1)],
      ['wh_4', 'globex', at(0), at(1), null],
      ['wh_5', 'globex', at(0), null, null],
    ]);
    await seed("INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, payload, status, attempts, next_attempt_at, created_at) VALUES (?, ?, 'evt', 'notice.published', '{}', ?, 0, ?, ?)", [
      ['d_1', 'wh_1', 'pending', at(5), at(0)],
      ['d_2', 'wh_1', 'pending', at(2), at(0)],
      ['d_3', 'wh_2', 'pending', at(2), at(0)],
      ['d_4', 'wh_3', 'pending', at(1), at(0)],
      ['d_5', 'wh_4', 'pending', at(1), at(0)],
      ['d_6', 'wh_5', 'delivered', at(1), at(0)],
      ['d_7', 'wh_5', 'pending', at(30), at(0)],
      ['d_8', 'wh_5', 'pending', at(8), at(0)],
    ]);
    expect(await same((db) => dueSubscriptions(db, at(10)))).toEqual([{ id: 'wh_1', partner: 'acme' }, { id: 'wh_2', partner: null }, { id: 'wh_5', partner: 'globex' }]);
  });
});

describe('transaction outbox', () => {
  it('numbers appended events itself on both engines', async () => {
    for (const [n, type] of ['transaction.initiated', 'transaction.step-succeeded'].entries()) {
      await same((db) => appendEvent(db, { id: 'tx_e1', correlationId: 'corr' }, at(n), type, { step: n ? 'match' : undefined, to: n ? undefined : 'initiated', data: { n } }));
    }
    const events = await same((db) => db.$sql.all('SELECT seq, transaction_id, type, from_state, to_state, step_id, data, published_at FROM transaction_events ORDER BY seq'));
    expect(events).toEqual([
      { seq: 1, transaction_id: 'tx_e1', type: 'transaction.initiated', from_state: null, to_state: 'initiated', step_id: null, data: '{"n":0}', published_at: null },
      { seq: 2, transaction_id: 'tx_e1', type: 'transaction.step-succeeded', from_state: null, to_state: null, step_id: 'match', data: '{"n":1}', published_at: null },
    ]);
  });
});

describe('observability', () => {
  const TX = `INSERT INTO transactions (id, flow, partner, api, version, state, phase, cursor, correlation_id, trace_id, caller_token_id, mode, input, plan, context, sync_step, failure, time_scale_ppm, created_at, updated_at)
    VALUES (?, ?, ?, 'claims', '1.0.0', ?, ?, 1, 'corr', 'trace', 'tok', ?, '{}', '{}', '{}', ?, ?, 1000000, ?, ?)`;
  const STEP = "INSERT INTO transaction_steps (transaction_id, kind, step_id, position, operation, state, attempts, round_attempts, attempt_log, correlation_id) VALUES (?, 'forward', ?, ?, 'op', ?, ?, ?, ?, 'corr')";
  const syncStep = (latencyMs: number, status: number | null) => JSON.stringify({ id: 'match', latencyMs, outcome: status === null ? { result: 'timeout' } : { status, result: 'answered' } });
  const failure = (step: string | null, failureMode: string) => JSON.stringify({ ...(step ? { step } : {}), failureMode, status: 504 });
  const now = new Date('2026-12-01T11:00:00.000Z');
  const deps = (db: Db) => ({ db, clock: () => now, config: { publicUrl: 'https://accord.example' } }) as unknown as Deps;

  beforeAll(async () => {
    const t = (m: number) => `2026-12-01T10:${String(m).padStart(2, '0')}:00.000Z`;
    await seed(TX, [
      ['tx_s1', 'member-match', 'acme', 'completed', 'forward', 'sync', syncStep(12, 200), null, t(1), t(1)],
      ['tx_s2', 'member-match', 'acme', 'completed', 'forward', 'sync', syncStep(250, 503), null, t(2), t(2)],
      ['tx_s3', 'member-match', 'acme', 'needs-attention', 'forward', 'sync', syncStep(30_000, null), failure('match', 'timeout'), t(3), t(3)],
      ['tx_s4', 'member-match', 'globex', 'completed', 'forward', 'sync', syncStep(5, 200), null, t(4), t(4)],
      ['tx_a1', 'bulk-export', 'acme', 'in-progress', 'forward', 'saga', null, null, t(5), t(40)],
      ['tx_a2', 'bulk-export', 'acme', 'in-progress', 'forward', 'saga', null, null, t(6), t(41)],
      ['tx_a3', 'bulk-export', 'acme', 'compensating', 'compensating', 'saga', null, failure(null, 'rejected'), t(7), t(42)],
      ['tx_a4', 'bulk-export', 'acme', 'compensated', 'compensating', 'saga', null, failure('export', 'timeout'), t(8), t(43)],
    ]);
    await seed(STEP, [
      ['tx_a1', 'export', 0, 'running', 3, 3, JSON.stringify([{ n: 1, latencyMs: 40.5, status: 503 }, { n: 2, latencyMs: 41, status: 503 }])],
      ['tx_a2', 'export', 0, 'running', 2, 2, JSON.stringify([{ n: 1, latencyMs: 90, status: 202 }])],
      ['tx_a3', 'export', 0, 'failed', 1, 1, JSON.stringify([{ n: 1, latencyMs: 7 }])],
      ['tx_a4', 'export', 0, 'failed', 1, 1, JSON.stringify([{ n: 1, latencyMs: 8, status: 504 }])],
    ]);
    await seed('INSERT INTO partner_stats (partner, minute, requests, accepted, errors, errors_coded, duplicates, duplicates_replayed, with_correlation, with_traceparent, with_both) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [
      ['acme', t(1), 10, 8, 2, 1, 1, 1, 9, 7, 7],
      ['acme', t(2), 5, 5, 0, 0, 0, 0, 5, 5, 5],
    ]);
    await seed("INSERT INTO evidence (id, partner, api, version, kind, result, sha256, uri, environment, \"commit\", produced_at, created_at, created_by) VALUES (?, 'acme', 'claims', '1.0.0', 'synthetic-check', ?, 's', 'u', 'production', 'c', ?, ?, 'ci')", [
      ['ev_1', 'pass', t(1), t(1)],
      ['ev_2', 'fail', t(2), t(2)],
      ['ev_3', 'pass', t(3), t(3)],
    ]);
  });

  it("scores a partner's acceptance, duplicates, errors and synthetic checks alike", async () => {
    const result = await same(async (db) => await scorecard(deps(db), { stats: new PartnerStats(deps(db)) } as Runtime, staff('val-author', 'tok_v', 'author'), 'acme'));
    expect(result.acceptance).toEqual({ transactions: 7, rate: 0.2857, latencyMs: { p50: 40.5, p95: 30_000 } });
    expect(result.synthetic).toEqual({ checks: 3, passed: 2, successRate: 0.6667 });
  });

  it('shows the operator views alike: failing routes, stuck types, accumulating retries, pending compensations', async () => {
    const views = await same(async (db) => await operatorViews(deps(db), { sla: await SlaMonitor.open(deps(db), () => Promise.resolve([])) } as unknown as Runtime));
    expect(views.degradedRoutes.map((r) => ('step' in r ? [r.flow, r.step, r.failureMode] : r))).toEqual([['bulk-export', null, 'rejected'], ['bulk-export', 'export', 'timeout'], ['member-match', 'match', 'timeout']]);
    expect(views.accumulatingRetries).toEqual([
      { partner: 'acme', flow: 'bulk-export', step: 'export', n: 2, maxAttempts: 3, transactions: ['https://accord.example/v1/transactions/tx_a1', 'https://accord.example/v1/transactions/tx_a2'] },
    ]);
    expect(views.pendingCompensations.map((c) => c.id)).toEqual(['tx_a3']);
  });
});

describe('audit search', () => {
  beforeAll(async () => {
    const entries: Array<[actor: string, action: string, target: string]> = [
      ['bob-approver', 'change.review', 'chg_1'],
      ['Bob', 'change_review', 'chg_2'],
      ['josé', 'token.create', '100% of tokens'],
      ['JOSÉ', 'token.create', '100 tokens'],
      ['alice', 'changeXreview', 'a\\b'],
    ];
    await seed("INSERT INTO audit_log (seq, at, actor, role, action, target, outcome, detail, prev_hash, hash, chain) VALUES (?, ?, ?, 'admin', ?, ?, 'ok', '{}', 'p', 'h', 'hmac-sha256')", entries.map(([actor, action, target], n) => [n + 1, at(n), actor, action, target]));
  });

  it('matches substrings ignoring ASCII case only, with %, _ and \\ taken literally', async () => {
    const actors = async (filter: Parameters<typeof searchAudit>[1]) => (await same((db) => searchAudit({ db }, filter))).entries.map((e) => e.actor);
    expect(await actors({ actor: 'BOB' })).toEqual(['Bob', 'bob-approver']);
    expect(await actors({ actor: 'é' })).toEqual(['josé']);
    expect(await actors({ actor: 'JOS' })).toEqual(['JOSÉ', 'josé']);
    expect(await actors({ target: '100%' })).toEqual(['josé']);
    expect(await actors({ action: 'CHANGE_' })).toEqual(['Bob']);
    expect(await actors({ action: 'change', target: 'CHG' })).toEqual(['Bob', 'bob-approver']);
    expect(await actors({ target: 'a\\' })).toEqual(['alice']);
  });
});

describe('observed usage', () => {
  it("finds the operations each partner called on an API within the window: attempted saga steps and compensating operations, and direct requests", async () => {
    const TX = `INSERT INTO transactions (id, flow, partner, api, version, state, phase, cursor, correlation_id, trace_id, caller_token_id, caller_partner, mode, input, plan, context, sync_step, time_scale_ppm, created_at, updated_at)
      VALUES (?, 'f', ?, ?, '1.0.0', 'completed', 'forward', 1, 'corr', 'trace', 'tok', ?, ?, '{}', '{}', '{}', ?, 1000000, ?, ?)`;
    const sync = (operation: string) => JSON.stringify({ id: 'step', operation, latencyMs: 3, outcome: { status: 200 } });
    await seed(TX, [
      ['tx_u1', 'umbrella', 'orders', 'acme', 'sync', sync('placeOrder'), at(30), at(30)],
      ['tx_u2', 'umbrella', 'orders', 'acme', 'sync', sync('placeOrder'), at(31), at(31)],
      ['tx_u3', 'umbrella', 'orders', 'globex', 'sync', sync('getOrder'), at(32), at(32)],
      ['tx_u4', 'umbrella', 'orders', 'globex', 'saga', null, at(33), at(33)],
      // before the window, another API, another provider, no caller partner
      ['tx_u5', 'umbrella', 'orders', 'initech', 'sync', sync('cancelOrder'), at(1), at(1)],
      ['tx_u6', 'umbrella', 'invoices', 'acme', 'sync', sync('payInvoice'), at(34), at(34)],
      ['tx_u7', 'hooli', 'orders', 'acme', 'sync', sync('refund'), at(35), at(35)],
      ['tx_u8', 'umbrella', 'orders', null, 'sync', sync('audit'), at(36), at(36)],
    ]);
    await seed("INSERT INTO transaction_steps (transaction_id, kind, step_id, position, operation, state, attempts, round_attempts, attempt_log, correlation_id) VALUES ('tx_u4', ?, ?, ?, ?, ?, ?, 0, '[]', 'corr')", [
      ['forward', 'place', 0, 'placeOrder', 'succeeded', 1],
      ['forward', 'ship', 1, 'shipOrder', 'failed', 2],
      ['forward', 'bill', 2, 'billOrder', 'pending', 0],
      ['compensation', 'place', 0, 'cancelOrder', 'succeeded', 1],
      ['compensation', 'ship', 1, 'reversal-event', 'succeeded', 1],
    ]);
    const found = await same((db) => observedUsage({ db }, 'umbrella', 'orders', at(20)));
    expect([...found]).toEqual([
      ['acme', ['placeOrder']],
      ['globex', ['cancelOrder', 'getOrder', 'placeOrder', 'shipOrder']],
    ]);
  });
});
