import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { contractOfSize } from './fixtures.ts';

interface Memory {
  rss: number;
  heap: number;
}

/**
 * RSS growth of the service over 50 registrations of distinct ~2 MB contract versions of one
 * API (each diffed against the one before), sent over HTTP to the service in its own process
 * and measured there after a full GC (target ≤ 100 MB: the caches of parsed documents and
 * compiled validators are bounded by bytes). The baseline is taken once the service has served
 * a few 2 MB registrations (the allocator's one-time growth for such requests) and its caches
 * were emptied, so the growth is what the caches fill up to plus anything that accumulates;
 * the growth from a cold start is printed too.
 */
export async function benchMemory(count = 50, mb = 2): Promise<string[]> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', path.resolve(import.meta.dirname, 'memory-child.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async <T>(): Promise<T> => {
    const line = await lines.next();
    if (line.done) throw new Error('the service process ended early');
    return JSON.parse(line.value) as T;
  };
  const ask = <T>(command: string): Promise<T> => {
    child.stdin.write(`${command}\n`);
    return next<T>();
  };
  try {
    const { url, token } = await next<{ url: string; token: string }>();
    const register = async (api: string, version: string, body: string) => {
      const res = await fetch(`${url}/v1/contracts/bench/${api}/versions?version=${version}`, { method: 'POST', body, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/yaml' } });
      if (res.status !== 201) throw new Error(`register ${api}@${version} failed: ${res.status} ${(await res.text()).slice(0, 300)}`);
    };
    const template = contractOfSize(mb * 1024 * 1024);
    const distinct = (version: string) => template.replace(/^ {2}version: 1\.0\.0$/m, `  version: ${version}`);
    // Loads every module and compiles the OpenAPI structure schemas.
    await register('warm-up', '1.0.0', contractOfSize(50 * 1024));
    const cold = await ask<Memory>('measure');
    for (let i = 0; i < 5; i++) await register('allocator-warm-up', `9.${i}.0`, distinct(`9.${i}.0`));
    await ask('clear-caches');
    const before = await ask<Memory>('measure');
    const started = performance.now();
    for (let i = 0; i < count; i++) await register('large-api', `1.${i}.0`, distinct(`1.${i}.0`));
    const seconds = (performance.now() - started) / 1000;
    const after = await ask<Memory>('measure');
    const label = `register ${count} × ${mb} MB`;
    return [
      `${label}: RSS +${(after.rss - before.rss).toFixed(0)} MB (target ≤ 100 MB)`,
      `${label}: RSS ${before.rss.toFixed(0)} → ${after.rss.toFixed(0)} MB after GC, heap +${(after.heap - before.heap).toFixed(0)} MB; +${(after.rss - cold.rss).toFixed(0)} MB from the cold start; ${(Buffer.byteLength(template) / 1048576).toFixed(2)} MB documents over HTTP, ${seconds.toFixed(0)} s`,
    ];
  } catch (error) {
    return [`register ${count} × ${mb} MB: failed (${(error as Error).message})`];
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin.end('exit\n');
      await new Promise((resolve) => child.once('close', resolve));
    }
  }
}
