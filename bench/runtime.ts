import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { serve } from '@hono/node-server';
import autocannon from 'autocannon';
import { Hono } from 'hono';
import { PACKAGE_ROOT } from '../src/config.ts';
import { parseYaml } from '../src/lib/yaml.ts';
import { startBenchService } from './util.ts';

async function listen(fetch: (req: Request) => Response | Promise<Response>): Promise<{ url: string; close: () => void }> {
  const server = serve({ fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((resolve) => server.once('listening', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

function run(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => autocannon(options, (error, result) => (error ? reject(error) : resolve(result))));
}

/**
 * Idempotent $member-match POST through the full pipeline (auth, routing, contract validation,
 * Idempotency-Key store, handler) against a bare Hono JSON echo route, same machine, same run,
 * 50 connections on 127.0.0.1 for a bounded 8 s each (targets: ≥ 40 % of the bare route's
 * throughput, p99 ≤ 50 ms). Every request carries a new key, so none is a cheap replay.
 */
export async function benchRuntime(): Promise<string[]> {
  const svc = await startBenchService({ seed: true });
  const bare = new Hono();
  bare.post('/echo', async (c) => c.json(await c.req.json()));
  const doc = parseYaml(fs.readFileSync(path.join(PACKAGE_ROOT, 'contracts/northwind-health/p2p-exchange/2.0.0/openapi.yaml'), 'utf8'), { maxAliases: 0 }) as any;
  const body = JSON.stringify(doc.paths['/Patient/$member-match'].post.requestBody.content['application/fhir+json'].example);
  const runtime = await listen(svc.app.fetch);
  const stopJobs = svc.startJobs(); // SLA evaluation, stats flush and outbox run as in production
  const echo = await listen(bare.fetch);
  try {
    const common = { connections: 50, duration: 8, method: 'POST' as const, body };
    let n = 0;
    const matchRequest = {
      ...common,
      url: `${runtime.url}/exchange/northwind-health/p2p-exchange/v2/Patient/$member-match`,
      headers: { Authorization: `Bearer ${svc.token}`, 'Content-Type': 'application/fhir+json' },
      requests: [{ setupRequest: (req: any) => ({ ...req, headers: { ...req.headers, 'Idempotency-Key': `bench-${process.pid}-${n++}` } }) }],
    };
    await run({ ...matchRequest, duration: 2 }); // warm-up
    const full = await run(matchRequest);
    const base = await run({ ...common, url: `${echo.url}/echo`, headers: { 'Content-Type': 'application/json' } });
    // Duplicate storm: 1,000 concurrent consent captures over 10 keys must have exactly 10 effects.
    const consent = JSON.stringify(doc.paths['/Consent'].post.requestBody.content['application/fhir+json'].example);
    const before = svc.deps.db.$client.prepare("SELECT count(*) FROM partner_records WHERE kind = 'consent'").pluck().get() as number;
    const statuses = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        fetch(`${runtime.url}/exchange/northwind-health/p2p-exchange/v2/Consent`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${svc.token}`, 'Content-Type': 'application/fhir+json', 'Idempotency-Key': `storm-${process.pid}-${i % 10}` },
          body: consent,
        }).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        }),
      ),
    );
    const effects = (svc.deps.db.$client.prepare("SELECT count(*) FROM partner_records WHERE kind = 'consent'").pluck().get() as number) - before;
    const byStatus = Object.entries(statuses.reduce<Record<number, number>>((acc, st) => ({ ...acc, [st]: (acc[st] ?? 0) + 1 }), {})).map(([k, v]) => `${v}× ${k}`).join(', ');
    // The same pipeline with telemetry (metrics, SLA monitor samples and evaluation, scorecard counters) off.
    const quiet = await startBenchService({ seed: true, env: { ACCORD_TELEMETRY: 'off' } });
    const quietServer = await listen(quiet.app.fetch);
    const stopQuietJobs = quiet.startJobs();
    let off: autocannon.Result;
    try {
      const offRequest = { ...matchRequest, url: `${quietServer.url}/exchange/northwind-health/p2p-exchange/v2/Patient/$member-match`, headers: { ...matchRequest.headers, Authorization: `Bearer ${quiet.token}` } };
      await run({ ...offRequest, duration: 2 });
      off = await run(offRequest);
    } finally {
      stopQuietJobs();
      quietServer.close();
      await quiet.cleanup();
    }
    const ok = full.non2xx === 0 && full.errors === 0;
    const ratio = full.requests.average / base.requests.average;
    return [
      `bare Hono echo: ${base.requests.average.toFixed(0)} req/s, p50 ${base.latency.p50} ms, p99 ${base.latency.p99} ms`,
      `idempotent $member-match (full pipeline${ok ? '' : `, ${full.non2xx} non-2xx, ${full.errors} errors`}): ${full.requests.average.toFixed(0)} req/s, p50 ${full.latency.p50} ms, p99 ${full.latency.p99} ms`,
      `ratio ${(ratio * 100).toFixed(0)} % of the bare route (target ≥ 40 %), p99 ${full.latency.p99} ms (target ≤ 50 ms), 50 connections`,
      `duplicate storm: 1000 concurrent consent captures over 10 keys → ${effects} effects (target exactly 10); answers ${byStatus}`,
      `telemetry off (ACCORD_TELEMETRY=off): ${off.requests.average.toFixed(0)} req/s, p99 ${off.latency.p99} ms; telemetry on costs ${((1 - full.requests.average / off.requests.average) * 100).toFixed(1)} % of throughput (target ≤ 10 %)`,
    ];
  } finally {
    stopJobs();
    runtime.close();
    echo.close();
    await svc.cleanup();
  }
}
