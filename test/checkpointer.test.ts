import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startCheckpointer } from '../src/db/checkpointer.ts';
import { startTestService, type TestService } from './harness.ts';

describe('WAL checkpoints off the request thread', () => {
  let s: TestService | undefined;
  afterEach(async () => {
    await s?.cleanup();
    s = undefined;
  });

  it('copies committed pages into the database file without the request thread checkpointing', async () => {
    s = await startTestService();
    const sqlite = s.deps.db.$sqlite!;
    const file = path.join(s.dir, 'accord.db');
    // The request thread's own automatic checkpoint is only a far-away backstop.
    expect(sqlite.pragma('wal_autocheckpoint', { simple: true })).toBeGreaterThanOrEqual(10_000);
    const before = fs.statSync(file).size;
    const insert = sqlite.prepare("INSERT INTO outbox_cursors (name, position) VALUES (?, 0)");
    sqlite.transaction(() => {
      for (let i = 0; i < 3000; i++) insert.run(`cursor-${i}-${'x'.repeat(500)}`);
    })();
    // Well under the backstop: only the worker can have moved these pages into the file.
    const deadline = Date.now() + 10_000;
    while (fs.statSync(file).size <= before + 1_000_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(fs.statSync(file).size).toBeGreaterThan(before + 1_000_000);
    expect(sqlite.prepare('SELECT count(*) FROM outbox_cursors').pluck().get()).toBeGreaterThanOrEqual(3000);
  });

  it('stops with the service and leaves a database that opens again with everything in it', async () => {
    s = await startTestService();
    const dir = s.dir;
    await s.deps.db.$sql.run("INSERT INTO outbox_cursors (name, position) VALUES ('kept', 7)");
    await s.close();
    s = undefined;
    const again = await startTestService({ dir });
    try {
      expect((await again.deps.db.$sql.value("SELECT position FROM outbox_cursors WHERE name = 'kept'"))).toBe(7);
    } finally {
      await again.cleanup();
    }
  });

  it('stops at once, and more than once, when its worker has already died', async () => {
    const sqlite = new Database(':memory:');
    const errors: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => errors.push(line) });
    const checkpointer = startCheckpointer(sqlite, path.join(os.tmpdir(), 'no-such-dir-for-accord', 'x.db'), logger);
    for (let i = 0; i < 500 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(errors.join('')).toContain('checkpoint worker stopped');
    await new Promise((r) => setTimeout(r, 50)); // the exit follows the error
    const hung = Symbol('hung');
    const within = (p: Promise<void>) => Promise.race([p, new Promise((r) => setTimeout(() => r(hung), 5000))]);
    expect(await within(checkpointer.stop())).not.toBe(hung);
    expect(await within(checkpointer.stop())).not.toBe(hung);
  });
});
