import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { startTestService, type TestService } from './harness.ts';

describe('ACCORD_DURABILITY', () => {
  let s: TestService | undefined;
  afterEach(async () => {
    await s?.cleanup();
    s = undefined;
  });

  it.each([
    [{}, 1, ''],
    [{ ACCORD_DURABILITY: 'normal' }, 1, ''],
    [{ ACCORD_DURABILITY: 'full' }, 2, 'committed'],
  ] as const)('%j opens SQLite with synchronous=%i (1 NORMAL, 2 FULL), WAL either way, and Git with core.fsync=%j', async (env, level, gitFsync) => {
    s = await startTestService({ env });
    expect(s.deps.db.$sqlite!.pragma('synchronous', { simple: true })).toBe(level);
    expect(s.deps.db.$sqlite!.pragma('journal_mode', { simple: true })).toBe('wal');
    let configured = '';
    try {
      configured = s.git('config', 'core.fsync').trim();
    } catch {
      // unset: git's default
    }
    expect(configured).toBe(gitFsync);
  });

  it('a data dir switched back from full to normal drops the Git fsync setting', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-durability-'));
    const first = await startTestService({ dir, env: { ACCORD_DURABILITY: 'full' } });
    await first.close();
    s = await startTestService({ dir });
    expect(() => s!.git('config', 'core.fsync')).toThrow();
  });

  it('creates the data dir and the database readable by their owner only', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-perms-'));
    const dir = path.join(root, 'data');
    s = await startTestService({ dir });
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    for (const file of ['accord.db', 'accord.db-wal']) expect(fs.statSync(path.join(dir, file)).mode & 0o777, file).toBe(0o600);
    // a database an earlier release left readable by others is tightened when it opens
    await s.close();
    fs.chmodSync(path.join(dir, 'accord.db'), 0o644);
    // another connection (as an earlier release had) holds its -wal and -shm, created readable by others
    const earlier = new Database(path.join(dir, 'accord.db'));
    earlier.pragma('journal_mode = WAL');
    earlier.exec('CREATE TABLE IF NOT EXISTS earlier (x)');
    expect(fs.statSync(path.join(dir, 'accord.db-wal')).mode & 0o777).toBe(0o644);
    s = await startTestService({ dir });
    for (const file of ['accord.db', 'accord.db-wal', 'accord.db-shm']) expect(fs.statSync(path.join(dir, file)).mode & 0o777, file).toBe(0o600);
    earlier.close();
    await s.cleanup();
    s = undefined;
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('refuses anything but normal or full', () => {
    expect(() => loadConfig({ ACCORD_DURABILITY: 'paranoid' })).toThrow(/ACCORD_DURABILITY must be normal or full/);
  });
});
