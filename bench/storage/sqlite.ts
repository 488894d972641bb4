/**
 * The exchange hot path's storage pattern (bench/storage/pattern.ts) on the embedded database as
 * the app opens it (openDb: temp file, WAL, synchronous=NORMAL, migrations; the checkpoint
 * worker running), three ways:
 * - app storage: what the app runs since ADR 0016, `db.unit` (the group commit of
 *   src/db/sqlite.ts) with the statements through `db.$sql` (statement cache, async);
 * - async wrapper: better-sqlite3 prepared statements held by the bench, one `await` each, in
 *   the bench's own async group commit (BEGIN … await each unit … COMMIT): the floor;
 * - async drizzle: drizzle prepared queries (placeholders) in `db.unit`, awaited per statement.
 * 1 and 8 concurrent clients; every (variant, clients) pair runs `rounds` times, alternating, on
 * a fresh database each time. Needs nothing beyond the project's packages.
 *
 * Run: `npx tsx bench/storage/sqlite.ts [seconds=3] [rounds=3]` or `npm run bench -- storage`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { startCheckpointer } from '../../src/db/checkpointer.ts';
import { changesOf, openDb, type Db } from '../../src/db/client.ts';
import { idempotencyKeys, transactions } from '../../src/db/schema/index.ts';
import { AsyncGroupCommit, drive, requestParams, SQLITE, summarise, type RequestParams } from './pattern.ts';

type Variant = 'app storage' | 'async wrapper' | 'async drizzle';

async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-storage-bench-'));
  const file = path.join(dir, 'accord.db');
  const db = openDb(file);
  const checkpointer = startCheckpointer(db.$sqlite!, file, pino({ level: 'silent' }));
  try {
    return await fn(db);
  } finally {
    await checkpointer.stop();
    await db.$close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function runner(db: Db, variant: Variant): Promise<(i: number) => Promise<unknown>> {
  const sqlite = db.$sqlite!;
  const claim = sqlite.prepare(SQLITE.claim);
  const complete = sqlite.prepare(SQLITE.complete);
  const record = sqlite.prepare(SQLITE.record);
  if (variant === 'app storage') {
    return (i) =>
      db.unit(async () => {
        const p = requestParams(i);
        if ((await db.$sql.run(SQLITE.claim, p)).changes !== 1) throw new Error('claim lost');
        await db.$sql.run(SQLITE.complete, p);
        await db.$sql.run(SQLITE.record, p);
      });
  }
  const exec = async (_: unknown, text: string) => sqlite.exec(text);
  const commits = new AsyncGroupCommit(null, exec);
  if (variant === 'async wrapper') {
    // An async repository over better-sqlite3: same statements, one await each.
    const repo = {
      claim: async (p: RequestParams) => claim.run(p).changes === 1,
      complete: async (p: RequestParams) => void complete.run(p),
      record: async (p: RequestParams) => void record.run(p),
    };
    return (i) =>
      commits.run(async () => {
        const p = requestParams(i);
        if (!(await repo.claim(p))) throw new Error('claim lost');
        await repo.complete(p);
        await repo.record(p);
      });
  }
  const ph = (name: string) => sql.placeholder(name);
  const dClaim = db
    .insert(idempotencyKeys)
    .values({ scope: ph('scope'), key: ph('key'), fingerprint: ph('fingerprint'), status: 'in-flight', leaseExpiresAt: ph('lease'), createdAt: ph('now'), expiresAt: ph('expires') })
    .onConflictDoNothing()
    .prepare();
  const dComplete = db
    .update(idempotencyKeys)
    .set({ status: 'completed', responseStatus: sql`${ph('status')}`, responseHeaders: sql`${ph('headers')}`, responseBody: sql`${ph('body')}` })
    .where(sql`${idempotencyKeys.scope} = ${ph('scope')} AND ${idempotencyKeys.key} = ${ph('key')}`)
    .prepare();
  const dRecord = db
    .insert(transactions)
    .values({
      id: ph('id'), flow: ph('flow'), partner: ph('partner'), api: ph('api'), version: ph('version'), state: ph('state'), phase: 'forward', cursor: 1,
      correlationId: ph('correlationId'), idempotencyKey: ph('key'), traceId: ph('traceId'), callerTokenId: ph('caller'), callerPartner: ph('callerPartner'),
      mode: 'sync', input: '{}', plan: '{}', context: '{}', syncStep: ph('syncStep'), timeScale: 1_000_000, createdAt: ph('now'), updatedAt: ph('now'), finishedAt: ph('now'),
    })
    .prepare();
  return (i) =>
    db.unit(async () => {
      const p = requestParams(i);
      if (changesOf(await dClaim.run(p)) !== 1) throw new Error('claim lost');
      await dComplete.run(p);
      await dRecord.run(p);
    });
}

/** Runs every variant × clients `rounds` times, alternating; returns one line per pair. */
export async function benchStorageSqlite(seconds = 3, rounds = 3): Promise<string[]> {
  const variants: Variant[] = ['async wrapper', 'app storage', 'async drizzle'];
  const results = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (const clients of [1, 8]) {
      for (const variant of variants) {
        const rate = await withDb(async (db) => drive(clients, seconds, await runner(db, variant)));
        const name = `sqlite ${variant}, ${clients} client${clients > 1 ? 's' : ''}`;
        results.set(name, [...(results.get(name) ?? []), rate]);
      }
    }
  }
  const lines: string[] = [];
  for (const clients of [1, 8]) {
    const base = summarise(results.get(`sqlite async wrapper, ${clients} client${clients > 1 ? 's' : ''}`)!).median;
    for (const variant of variants) {
      const name = `sqlite ${variant}, ${clients} client${clients > 1 ? 's' : ''}`;
      const s = summarise(results.get(name)!);
      lines.push(`${name}: ${s.text}; ${(1e6 / s.median).toFixed(1)} µs/request; ${variant === 'async wrapper' ? 'baseline' : `${(((s.median - base) / base) * 100).toFixed(1)} % vs the async wrapper`}`);
    }
  }
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [seconds = '3', rounds = '3'] = process.argv.slice(2);
  for (const line of await benchStorageSqlite(Number(seconds), Number(rounds))) console.log(line);
}
