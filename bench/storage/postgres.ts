/**
 * The exchange hot path's storage pattern (bench/storage/pattern.ts) on PostgreSQL engines:
 * - PGlite (`@electric-sql/pglite`, PostgreSQL compiled to WASM, in process) on a temp data
 *   directory (default durability, and `relaxedDurability`), and in memory (no file system: the
 *   engine's own cost), one connection, the batch in an async group commit as the app does on
 *   SQLite;
 * - a real PostgreSQL through node-postgres (`pg`): one connection per client, one transaction
 *   per request (BEGIN, claim, complete, record, COMMIT); `synchronous_commit` on (PostgreSQL's
 *   default: WAL flushed at every commit, concurrent commits share a flush) and off (the
 *   analogue of SQLite's WAL + synchronous=NORMAL, ADR 0012).
 * 1 and 8 concurrent clients, `rounds` alternating rounds, fresh tables each run.
 *
 * Not part of `npm run bench`: the packages are not the project's. Install them in a scratch
 * directory and point ACCORD_STORAGE_SCRATCH at it (default /tmp/pglite-try):
 *   mkdir /tmp/pglite-try && cd /tmp/pglite-try && npm init -y && npm install @electric-sql/pglite pg
 * and give a PostgreSQL URL for the real server (skipped when unset):
 *   ACCORD_BENCH_PG_URL=postgres://accord@127.0.0.1:55432/postgres npx tsx bench/storage/postgres.ts [seconds=3] [rounds=3] [only=pglite|pg]
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { AsyncGroupCommit, drive, POSTGRES, requestParams, summarise } from './pattern.ts';

const scratch = process.env.ACCORD_STORAGE_SCRATCH ?? '/tmp/pglite-try';
const requireScratch = createRequire(path.join(scratch, 'package.json'));

async function pgliteRun(clients: number, seconds: number, storage: 'file' | 'file-relaxed' | 'memory'): Promise<number> {
  const { PGlite } = (await import(requireScratch.resolve('@electric-sql/pglite'))) as any;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-pglite-bench-'));
  const db = storage === 'memory' ? await PGlite.create() : await PGlite.create(dir, { relaxedDurability: storage === 'file-relaxed' });
  try {
    await db.exec(POSTGRES.ddl);
    const commits = new AsyncGroupCommit(db, (c: any, text: string) => c.exec(text));
    return await drive(clients, seconds, (i) =>
      commits.run(async (c: any) => {
        const p = requestParams(i);
        const claimed = await c.query(POSTGRES.claim, POSTGRES.claimArgs(p));
        if (claimed.affectedRows !== 1) throw new Error('claim lost');
        await c.query(POSTGRES.complete, POSTGRES.completeArgs(p));
        await c.query(POSTGRES.record, POSTGRES.recordArgs(p));
      }),
    );
  } finally {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function pgRun(url: string, clients: number, seconds: number, synchronousCommit: 'on' | 'off'): Promise<number> {
  const pg = requireScratch('pg');
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  await setup.query(POSTGRES.ddl);
  await setup.end();
  const connections = await Promise.all(
    Array.from({ length: clients }, async () => {
      const c = new pg.Client({ connectionString: url, options: `-c synchronous_commit=${synchronousCommit}` });
      await c.connect();
      return c;
    }),
  );
  try {
    return await drivePg(connections, seconds);
  } finally {
    await Promise.all(connections.map((c) => c.end()));
  }
}

/** One loop per connection: BEGIN, claim, complete, record, COMMIT, again. */
async function drivePg(connections: any[], seconds: number): Promise<number> {
  let n = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    connections.map(async (c) => {
      while (performance.now() < end) {
        const p = requestParams(n++);
        await c.query('BEGIN');
        const claimed = await c.query(POSTGRES.claim, POSTGRES.claimArgs(p));
        if (claimed.rowCount !== 1) throw new Error('claim lost');
        await c.query(POSTGRES.complete, POSTGRES.completeArgs(p));
        await c.query(POSTGRES.record, POSTGRES.recordArgs(p));
        await c.query('COMMIT');
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

export async function benchStoragePostgres(seconds = 3, rounds = 3, only?: string): Promise<string[]> {
  const url = process.env.ACCORD_BENCH_PG_URL;
  const runs: Array<[string, (clients: number) => Promise<number>]> = [];
  if (!only || only === 'pglite') {
    runs.push(['pglite (file dir, group commit)', (clients) => pgliteRun(clients, seconds, 'file')]);
    runs.push(['pglite (file dir, relaxedDurability, group commit)', (clients) => pgliteRun(clients, seconds, 'file-relaxed')]);
    runs.push(['pglite (in memory, group commit)', (clients) => pgliteRun(clients, seconds, 'memory')]);
  }
  if (url && (!only || only === 'pg')) {
    runs.push(['postgresql 15 via pg, synchronous_commit=on', (clients) => pgRun(url, clients, seconds, 'on')]);
    runs.push(['postgresql 15 via pg, synchronous_commit=off', (clients) => pgRun(url, clients, seconds, 'off')]);
  }
  const results = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (const clients of [1, 8]) {
      for (const [name, run] of runs) {
        const key = `${name}, ${clients} client${clients > 1 ? 's' : ''}`;
        results.set(key, [...(results.get(key) ?? []), await run(clients)]);
      }
    }
  }
  return [...results].map(([name, values]) => {
    const s = summarise(values);
    return `${name}: ${s.text}; ${(1e6 / s.median).toFixed(1)} µs/request`;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [seconds = '3', rounds = '3', only] = process.argv.slice(2);
  for (const line of await benchStoragePostgres(Number(seconds), Number(rounds), only)) console.log(line);
}
