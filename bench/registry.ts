import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { versionKey } from '../src/contracts/ids.ts';
import { contractOfSize } from './fixtures.ts';
import { median, percentile, startBenchService } from './util.ts';

/** Median time to register a ~200 KB contract, in-process and over HTTP on 127.0.0.1. */
export async function benchRegister(): Promise<string[]> {
  const svc = await startBenchService();
  try {
    const body = contractOfSize(200 * 1024);
    const register = (version: string, url = '') =>
      fetchOrRequest(svc, `${url}/v1/contracts/bench/member-api/versions?version=${version}`, body);
    for (let i = 0; i < 3; i++) await register(`0.0.${i}`); // warm-up
    const inProcess: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      const res = await register(`1.${i}.0`);
      inProcess.push(performance.now() - t);
      if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
    }
    const server = serve({ fetch: svc.app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const overHttp: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      const res = await register(`2.${i}.0`, url);
      overHttp.push(performance.now() - t);
      if (res.status !== 201) throw new Error(`register failed: ${res.status}`);
    }
    server.close();
    return [
      `register ${Math.round(Buffer.byteLength(body) / 1024)} KB contract, in-process: median ${median(inProcess).toFixed(1)} ms, p95 ${percentile(inProcess, 95).toFixed(1)} ms (n=30, target median ≤ 150 ms)`,
      `register ${Math.round(Buffer.byteLength(body) / 1024)} KB contract, HTTP 127.0.0.1: median ${median(overHttp).toFixed(1)} ms, p95 ${percentile(overHttp, 95).toFixed(1)} ms (n=30)`,
    ];
  } finally {
    await svc.cleanup();
  }
}

function fetchOrRequest(svc: Awaited<ReturnType<typeof startBenchService>>, url: string, body: string): Promise<Response> {
  const init = { method: 'POST', body, headers: { Authorization: `Bearer ${svc.token}`, 'Content-Type': 'application/yaml' } };
  return url.startsWith('http') ? fetch(url, init) : Promise.resolve(svc.app.request(url, init));
}

/**
 * Median time to list the versions of an API with 5,000 versions. The index rows are written
 * straight into SQLite (listing reads only the index; registering 5,000 real versions would
 * take minutes of Git writes and measure nothing more).
 */
export async function benchListVersions(): Promise<string[]> {
  const svc = await startBenchService();
  try {
    const insert = svc.deps.db.$sqlite!.prepare(
      `INSERT INTO contract_versions (partner, api, version, version_key, state, sha256, "commit", tag, size_bytes, created_at, created_by) VALUES (?, ?, ?, ?, 'draft', ?, ?, ?, 1000, ?, 'bench')`,
    );
    svc.deps.db.$sqlite!.transaction(() => {
      for (let i = 0; i < 5000; i++) {
        const version = `${Math.floor(i / 100)}.${i % 100}.${i % 7}`;
        insert.run('bench', 'big-api', version, versionKey(version), 'a'.repeat(64), 'b'.repeat(40), `bench/big-api/v${version}`, new Date(1_700_000_000_000 + i * 1000).toISOString());
      }
    })();
    const list = () => svc.app.request('/v1/contracts/bench/big-api/versions', { headers: { Authorization: `Bearer ${svc.token}` } });
    for (let i = 0; i < 5; i++) await (await list()).json();
    const times: number[] = [];
    let count = 0;
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      const body = await (await list()).text();
      times.push(performance.now() - t);
      count = (JSON.parse(body) as unknown[]).length;
    }
    return [`list ${count} versions of one API (semver order, JSON): median ${median(times).toFixed(1)} ms, p95 ${percentile(times, 95).toFixed(1)} ms (n=50, target median ≤ 50 ms)`];
  } finally {
    await svc.cleanup();
  }
}
