import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { dbOf, type Db } from '../src/db/client.ts';
import { SqliteExecutor } from '../src/db/sqlite.ts';

describe('SQLite storage: transactions and the group commit over one connection', () => {
  const open = () => {
    const sqlite = new Database(':memory:');
    sqlite.exec('CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER NOT NULL)');
    return { sqlite, db: dbOf(new SqliteExecutor(sqlite), sqlite) };
  };
  const ids = async (db: Db) => (await db.$sql.column<string>('SELECT id FROM t ORDER BY id')).join(',');
  const insert = (db: Db, id: string, n = 1) => db.$sql.run('INSERT INTO t VALUES (?, ?)', [id, n]);

  it('commits the units of one event-loop turn together and answers after the commit', async () => {
    const { sqlite, db } = open();
    const settled = await Promise.all(['a', 'b', 'c'].map((id) => db.unit(async () => (await insert(db, id)).changes).then((changes) => ({ changes, inTransaction: sqlite.inTransaction }))));
    expect(settled).toEqual(Array(3).fill({ changes: 1, inTransaction: false }));
    expect(await ids(db)).toBe('a,b,c');
  });

  it('rolls back a failing unit alone, with everything it wrote, and keeps the others', async () => {
    const { db } = open();
    await insert(db, 'taken', 0);
    const results = await Promise.allSettled([
      db.unit(() => insert(db, 'a')),
      db.unit(async () => {
        await insert(db, 'half-written');
        await insert(db, 'taken'); // constraint violation after a first write
      }),
      db.unit(() => insert(db, 'c')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect(await ids(db)).toBe('a,c,taken');
  });

  it('keeps statements of other async contexts out of an open transaction: they wait for its end and survive its rollback', async () => {
    const { db } = open();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const tx = db.transaction(async () => {
      await insert(db, 'inside');
      await held; // an await in the middle of the transaction (a test only: code awaits nothing but storage there)
      throw new Error('roll back');
    });
    const outside = insert(db, 'outside'); // issued while the transaction holds the connection
    const seenMeanwhile = db.$sql.column<string>('SELECT id FROM t ORDER BY id'); // issued while it is open, too
    release();
    await expect(tx).rejects.toThrow('roll back');
    await outside;
    expect(await seenMeanwhile).toEqual(['outside']); // the read waited its turn: it never saw the uncommitted row
    expect(await ids(db)).toBe('outside');
  });

  it("runs a transaction inside another as a savepoint, through the caller's db handle or tx", async () => {
    const { db } = open();
    await db.transaction(async (tx) => {
      await insert(tx, 'kept');
      await expect(
        db.transaction(async () => {
          await insert(db, 'undone');
          throw new Error('inner fails');
        }),
      ).rejects.toThrow('inner fails');
      await db.unit(() => insert(db, 'unit-inside')); // a unit inside a transaction joins it instead of waiting for it
    });
    expect(await ids(db)).toBe('kept,unit-inside');
  });

  it('close waits for the transaction in progress', async () => {
    const { sqlite, db } = open();
    const tx = db.transaction(async () => {
      await insert(db, 'a');
      await new Promise((resolve) => setTimeout(resolve, 20));
      await insert(db, 'b');
    });
    await db.$close();
    await tx;
    expect(sqlite.open).toBe(false);
  });
});
