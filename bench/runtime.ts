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

/** Sums of alternating rounds of one target: requests, seconds, and the worst p50/p99 seen. */
interface Totals {
  requests: number;
  seconds: number;
  p50: number;
  p99: number;
  failures: number;
}

function add(totals: Totals | undefined, result: autocannon.Result): Totals {
  const t = totals ?? { requests: 0, seconds: 0, p50: 0, p99: 0, failures: 0 };
  return { requests: t.requests + result.requests.total, seconds: t.seconds + result.duration, p50: Math.max(t.p50, result.latency.p50), p99: Math.max(t.p99, result.latency.p99), failures: t.failures + result.non2xx + result.errors };
}

const rate = (t: Totals) => t.requests / t.seconds;

/**
 * Idempotent $member-match POST through the full pipeline (auth, routing, contract validation,
 * Idempotency-Key store, handler, transaction record, telemetry) against a bare Hono JSON echo
 * route, same machine, same run, 50 connections on 127.0.0.1 (targets: ≥ 40 % of the bare
 * route's throughput, p99 ≤ 50 ms; telemetry on costs ≤ 10 %). This VM's speed drifts by tens of
 * percent within a minute, so the three targets run in alternating rounds (full, echo,
 * telemetry off; 3 × 4 s each) and are compared on their totals; p50/p99 are the worst round's.
 * Every request carries a new key, so none is a cheap replay.
 */
export async function benchRuntime(): Promise<string[]> {
  const svc = await startBenchService({ seed: true });
  const quiet = await startBenchService({ seed: true, env: { ACCORD_TELEMETRY: 'off' } }); // metrics, SLA samples and scorecard counters off
  const bare = new Hono();
  bare.post('/echo', async (c) => c.json(await c.req.json()));
  const doc = parseYaml(fs.readFileSync(path.join(PACKAGE_ROOT, 'contracts/northwind-health/p2p-exchange/2.0.0/openapi.yaml'), 'utf8'), { maxAliases: 0 }) as any;
  const body = JSON.stringify(doc.paths['/Patient/$member-match'].post.requestBody.content['application/fhir+json'].example);
  const runtime = await listen(svc.app.fetch);
  const quietServer = await listen(quiet.app.fetch);
  const stopJobs = svc.startJobs(); // SLA evaluation, stats flush and outbox run as in production
  const stopQuietJobs = quiet.startJobs();
  const echo = await listen(bare.fetch);
  try {
    const common = { connections: 50, duration: 4, method: 'POST' as const, body };
    let n = 0;
    const match = (url: string, token: string): autocannon.Options => ({
      ...common,
      url: `${url}/exchange/northwind-health/p2p-exchange/v2/Patient/$member-match`,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/fhir+json' },
      requests: [{ setupRequest: (req: any) => ({ ...req, headers: { ...req.headers, 'Idempotency-Key': `bench-${process.pid}-${n++}` } }) }],
    });
    const targets = { full: match(runtime.url, svc.token), echo: { ...common, url: `${echo.url}/echo`, headers: { 'Content-Type': 'application/json' } }, quiet: match(quietServer.url, quiet.token) };
    for (const options of Object.values(targets)) await run({ ...options, duration: 2 }); // warm-up
    const totals: Partial<Record<keyof typeof targets, Totals>> = {};
    for (let round = 0; round < 3; round++) {
      for (const [name, options] of Object.entries(targets) as Array<[keyof typeof targets, autocannon.Options]>) totals[name] = add(totals[name], await run(options));
    }
    const { full, echo: base, quiet: off } = totals as Record<keyof typeof targets, Totals>;
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
    const failed = (t: Totals) => (t.failures ? `, ${t.failures} non-2xx or errors` : '');
    return [
      `bare Hono echo: ${rate(base).toFixed(0)} req/s, p50 ${base.p50} ms, p99 ${base.p99} ms`,
      `idempotent $member-match (full pipeline${failed(full)}): ${rate(full).toFixed(0)} req/s, p50 ${full.p50} ms, p99 ${full.p99} ms`,
      `ratio ${((rate(full) / rate(base)) * 100).toFixed(0)} % of the bare route (target ≥ 40 %), p99 ${full.p99} ms (target ≤ 50 ms), 50 connections, 3 alternating rounds × 4 s`,
      `duplicate storm: 1000 concurrent consent captures over 10 keys → ${effects} effects (target exactly 10); answers ${byStatus}`,
      `telemetry off (ACCORD_TELEMETRY=off${failed(off)}): ${rate(off).toFixed(0)} req/s, p99 ${off.p99} ms; telemetry on costs ${((1 - rate(full) / rate(off)) * 100).toFixed(1)} % of throughput (target ≤ 10 %)`,
    ];
  } finally {
    stopJobs();
    stopQuietJobs();
    runtime.close();
    quietServer.close();
    echo.close();
    await svc.cleanup();
    await quiet.cleanup();
  }
}
