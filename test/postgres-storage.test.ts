import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, entryHmac, verifyAudit, type AuditAppender } from '../src/audit/log.ts';
import type { Db } from '../src/db/index.ts';
import { openStorage } from '../src/db/open.ts';
import { IdempotencyStore } from '../src/runtime/idempotency.ts';
import { freshPostgresDatabase, type PostgresDatabase } from './postgres.ts';

// Two handles on one database, each with its own pool: what two replicas are to each other.
describe('PostgreSQL storage shared by replicas', () => {
  let database: PostgresDatabase;
  let a: Db;
  let b: Db;
  const key = randomBytes(32);
  const appender: AuditAppender = { entryHash: (prev, row) => entryHmac(key, prev, row), appended: () => undefined };
  const clock = () => new Date();

  beforeAll(async () => {
    database = await freshPostgresDatabase();
    const config = { databaseUrl: database.url, durability: 'normal' as const, replicaId: 'test' };
    // Both migrate at once, as replicas starting together do.
    [a, b] = await Promise.all([openStorage(config, 'unused'), openStorage(config, 'unused')]);
  });
  afterAll(async () => {
    await Promise.all([a?.$close(), b?.$close()]);
    await database?.drop();
  });

  it('runs every statement of a transaction on its connection and undoes them all on a throw', async () => {
    await a.$sql.run("INSERT INTO outbox_cursors (name, position) VALUES ('kept', 1)");
    await expect(
      a.transaction(async () => {
        await a.$sql.run("UPDATE outbox_cursors SET position = 2 WHERE name = 'kept'");
        // Inside the transaction, through the same handle: sees its own uncommitted write.
        expect(await a.$sql.value('SELECT position FROM outbox_cursors WHERE name = ?', ['kept'])).toBe(2);
        // Another replica does not.
        expect(await b.$sql.value('SELECT position FROM outbox_cursors WHERE name = ?', ['kept'])).toBe(1);
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect(await b.$sql.value('SELECT position FROM outbox_cursors WHERE name = ?', ['kept'])).toBe(1);
  });

  it('runs what waits for a commit only after it, and never after a rollback (cache invalidation another connection must not outrun)', async () => {
    const done: string[] = [];
    await a.transaction(async () => {
      await a.$sql.run("INSERT INTO outbox_cursors (name, position) VALUES ('after-commit', 1)");
      a.$afterCommit(() => done.push(`committed, seen by another replica: ${String(done.length)}`));
      expect(done).toEqual([]);
    });
    expect(done).toEqual(['committed, seen by another replica: 0']);
    expect(await b.$sql.value('SELECT position FROM outbox_cursors WHERE name = ?', ['after-commit'])).toBe(1);
    await expect(
      a.transaction(async () => {
        a.$afterCommit(() => done.push('rolled back'));
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect(done).toHaveLength(1);
  });

  it('keeps the audit hash chain linear when two replicas append at once', async () => {
    await Promise.all(Array.from({ length: 40 }, (_, i) => appendAudit({ db: i % 2 ? a : b, clock, audit: appender }, { actor: `actor-${i}`, role: 'admin', action: 'test.append', target: `t-${i}`, outcome: 'ok' })));
    const seqs = await a.$sql.column<number>('SELECT seq FROM audit_log ORDER BY seq');
    expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const verification = await verifyAudit(a, key, undefined);
    // No anchor was ever written here (the service writes those); every link and HMAC holds.
    expect(verification.problems.map((p) => p.kind)).toEqual(['missing-anchor']);
    expect(verification.checked).toBe(40);
  });

  it('gives one Idempotency-Key to exactly one of many concurrent claims across replicas', async () => {
    const stores = [new IdempotencyStore({ db: a, clock }), new IdempotencyStore({ db: b, clock })];
    const claims = await Promise.all(Array.from({ length: 30 }, (_, i) => stores[i % 2]!.claim('scope', 'one-key-for-all', 'fp', 60_000, 30_000)));
    expect(claims.filter((c) => c.kind === 'proceed')).toHaveLength(1);
    expect(claims.filter((c) => c.kind === 'in-flight')).toHaveLength(29);
  });

  it("accepts drizzle's SQLite upsert (its qualified ON CONFLICT target)", async () => {
    const { outboxCursors } = await import('../src/db/index.ts');
    for (const position of [5, 6]) await a.insert(outboxCursors).values({ name: 'upserted', position }).onConflictDoUpdate({ target: outboxCursors.name, set: { position } }).run();
    expect(await b.$sql.value('SELECT position FROM outbox_cursors WHERE name = ?', ['upserted'])).toBe(6);
  });
});
