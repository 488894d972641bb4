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
    [{}, 1],
    [{ ACCORD_DURABILITY: 'normal' }, 1],
    [{ ACCORD_DURABILITY: 'full' }, 2],
  ] as const)('%j opens SQLite with synchronous=%i (1 NORMAL, 2 FULL), WAL either way', async (env, level) => {
    s = await startTestService({ env });
    expect(s.deps.db.$client.pragma('synchronous', { simple: true })).toBe(level);
    expect(s.deps.db.$client.pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('refuses anything but normal or full', () => {
    expect(() => loadConfig({ ACCORD_DURABILITY: 'paranoid' })).toThrow(/ACCORD_DURABILITY must be normal or full/);
  });
});
