import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../src/db/group-commit.ts';

describe('group commit', () => {
  const open = () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER NOT NULL)');
    return db;
  };
  const ids = (db: Database.Database) => (db.prepare('SELECT id FROM t ORDER BY id').pluck().all() as string[]).join(',');

  it('commits the units of one event-loop turn together and answers after the commit', async () => {
    const db = open();
    const commits = new GroupCommit(db);
    const insert = db.prepare('INSERT INTO t VALUES (?, ?)');
    const settled = await Promise.all(['a', 'b', 'c'].map((id) => commits.run(() => insert.run(id, 1).changes).then((changes) => ({ changes, inTransaction: db.inTransaction }))));
    expect(settled).toEqual(Array(3).fill({ changes: 1, inTransaction: false }));
    expect(ids(db)).toBe('a,b,c');
  });

  it('rolls back a failing unit alone, with everything it wrote, and keeps the others', async () => {
    const db = open();
    const commits = new GroupCommit(db);
    const insert = db.prepare('INSERT INTO t VALUES (?, ?)');
    db.prepare("INSERT INTO t VALUES ('taken', 0)").run();
    const results = await Promise.allSettled([
      commits.run(() => insert.run('a', 1)),
      commits.run(() => {
        insert.run('half-written', 1);
        insert.run('taken', 1); // constraint violation after a first write
      }),
      commits.run(() => insert.run('c', 1)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/UNIQUE/);
    expect(ids(db)).toBe('a,c,taken');
  });
});
