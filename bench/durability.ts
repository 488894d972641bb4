import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { PACKAGE_ROOT } from '../src/config.ts';
import { parseYaml } from '../src/lib/yaml.ts';
import { median } from './util.ts';

const TOKEN = 'bench-admin-token-0123456789abcdef';

/** `accord serve` in its own process on a fresh data dir; resolves with its base URL once it listens. */
async function startServer(durability: 'normal' | 'full'): Promise<{ url: string; stop: () => Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `accord-bench-${durability}-`));
  const child: ChildProcess = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'bin/accord.js'), 'serve'], {
    env: { PATH: process.env.PATH, ACCORD_DATA_DIR: dir, ACCORD_ADMIN_TOKEN: TOKEN, ACCORD_LOG_LEVEL: 'silent', PORT: '0', ACCORD_DURABILITY: durability },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`accord serve exited with ${code}: ${out}`)));
  });
  return {
    url,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function run(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => autocannon(options, (error, result) => (error ? reject(error) : resolve(result))));
}

/**
 * ACCORD_DURABILITY=normal vs full (ADR 0012): two `accord serve` processes, autocannon in this
 * process. Idempotent consent captures (each a committed write of the record, its idempotency
 * entry and its transaction) with 50 connections — commits shared by group commit — and with one
 * connection, where every request waits for its own commit. Alternating 3 s rounds; medians.
 */
export async function benchDurability(): Promise<string[]> {
  const doc = parseYaml(fs.readFileSync(path.join(PACKAGE_ROOT, 'contracts/northwind-health/p2p-exchange/2.0.0/openapi.yaml'), 'utf8'), { maxAliases: 0 }) as any;
  const body = JSON.stringify(doc.paths['/Consent'].post.requestBody.content['application/fhir+json'].example);
  const servers = { normal: await startServer('normal'), full: await startServer('full') };
  try {
    let n = 0;
    const capture = (url: string, connections: number): autocannon.Options => ({
      url: `${url}/exchange/northwind-health/p2p-exchange/v2/Consent`,
      method: 'POST',
      connections,
      duration: 3,
      body,
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/fhir+json' },
      requests: [{ setupRequest: (req: any) => ({ ...req, headers: { ...req.headers, 'Idempotency-Key': `durability-${process.pid}-${n++}` } }) }],
    });
    const results: Record<string, { rates: number[]; p50: number[]; p99: number[]; failures: number }> = {};
    for (const mode of ['normal', 'full'] as const) await run({ ...capture(servers[mode].url, 10), duration: 1 }); // warm-up
    for (let round = 0; round < 3; round++) {
      for (const connections of [50, 1]) {
        for (const mode of ['normal', 'full'] as const) {
          const r = await run(capture(servers[mode].url, connections));
          const key = `${mode}/${connections}`;
          const acc = (results[key] ??= { rates: [], p50: [], p99: [], failures: 0 });
          acc.rates.push(r.requests.total / r.duration);
          acc.p50.push(r.latency.p50);
          acc.p99.push(r.latency.p99);
          acc.failures += r.non2xx + r.errors;
        }
      }
    }
    const line = (mode: string, connections: number) => {
      const r = results[`${mode}/${connections}`]!;
      return `ACCORD_DURABILITY=${mode}, ${connections} connection${connections === 1 ? '' : 's'}: ${median(r.rates).toFixed(0)} req/s, p50 ${median(r.p50)} ms, p99 ${median(r.p99)} ms${r.failures ? `, ${r.failures} non-2xx or errors` : ''}`;
    };
    const cost = (connections: number) => (1 - median(results[`full/${connections}`]!.rates) / median(results[`normal/${connections}`]!.rates)) * 100;
    return [
      line('normal', 50),
      line('full', 50),
      line('normal', 1),
      line('full', 1),
      `full costs ${cost(50).toFixed(0)} % of throughput with 50 connections, ${cost(1).toFixed(0)} % with one (consent captures, server in its own process, 3 alternating rounds × 3 s)`,
    ];
  } finally {
    await servers.normal.stop();
    await servers.full.stop();
  }
}
