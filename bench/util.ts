import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig, PACKAGE_ROOT } from '../src/config.ts';
import { openService, type Service } from '../src/server.ts';

const TOKEN = 'bench-admin-token-0123456789abcdef';

/** A service on a temp data dir (real SQLite file, real Git), seeded only if asked, silent logs. */
export async function startBenchService(options: { seed?: boolean; env?: Record<string, string> } = {}): Promise<Service & { token: string; cleanup(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-bench-'));
  const config = loadConfig({ ACCORD_DATA_DIR: dir, ACCORD_ADMIN_TOKEN: TOKEN, ACCORD_SEED_DIR: options.seed ? PACKAGE_ROOT : '', ACCORD_LOG_LEVEL: 'silent', ...options.env });
  const service = await openService(config, { logger: pino({ level: 'silent' }) });
  return {
    ...service,
    token: TOKEN,
    async cleanup() {
      await service.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function median(values: number[]): number {
  return percentile(values, 50);
}
