import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { serve } from '@hono/node-server';
import autocannon from 'autocannon';
import { Hono } from 'hono';
import { PACKAGE_ROOT } from '../src/config.ts';
import { parseYaml } from '../src/lib/yaml.ts';
import { median, startBenchService } from './util.ts';

async function listen(fetch: (req: Request) => Response | Promise<Response>): Promise<{ url: string; close: () => void }> {
  const server = serve({ fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise((resolve) => server.once('listening', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

function run(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => autocannon(options, (error, result) => (error ? reject(error) : resolve(result))));
}

/** One target's rounds: requests per second, p50 and p99 of each, failed answers. */
interface Rounds {
  rates: number[];
  p50s: number[];
  p99s: number[];
  failures: number;
}

function add(rounds: Rounds | undefined, result: autocannon.Result): Rounds {
  const r = rounds ?? { rates: [], p50s: [], p99s: [], failures: 0 };
  return { rates: [...r.rates, result.requests.total / result.duration], p50s: [...r.p50s, result.latency.p50], p99s: [...r.p99s, result.latency.p99], failures: r.failures + result.non2xx + result.errors };
}

/** The median, per round, of a's rate over b's (rounds ran back to back, so each pair saw the same machine). */
const medianRatio = (a: Rounds, b: Rounds) => median(a.rates.map((rate, i) => rate / b.rates[i]!));

/**
 * Idempotent $member-match POST through the full pipeline (auth, routing, contract validation,
 * Idempotency-Key store, handler, transaction record, telemetry) against a bare Hono JSON echo
 * route, same machine, same run, 50 connections on 127.0.0.1 (targets: ≥ 40 % of the bare
 * route's throughput, p99 ≤ 50 ms; telemetry on costs ≤ 10 %). This VM's speed drifts by tens of
 * percent within a minute and stalls now and then, so the three targets run in alternating
 * rounds (full, echo, telemetry off; 5 × 3 s each), each round's ratios are taken between
 * back-to-back runs, and the median round is reported (latencies too, with the worst round's p99).
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
  const stopJobs = await svc.startJobs(); // SLA evaluation, stats flush and outbox run as in production
  const stopQuietJobs = await quiet.startJobs();
  const echo = await listen(bare.fetch);
  try {
    const common = { connections: 50, duration: 3, method: 'POST' as const, body };
    let n = 0;
    const match = (url: string, token: string): autocannon.Options => ({
      ...common,
      url: `${url}/exchange/northwind-health/p2p-exchange/v2/Patient/$member-match`,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/fhir+json' },
      requests: [{ setupRequest: (req: any) => ({ ...req, headers: { ...req.headers, 'Idempotency-Key': `bench-${process.pid}-${n++}` } }) }],
    });
    const targets = { full: match(runtime.url, svc.token), echo: { ...common, url: `${echo.url}/echo`, headers: { 'Content-Type': 'application/json' } }, quiet: match(quietServer.url, quiet.token) };
    for (const options of Object.values(targets)) await run({ ...options, duration: 2 }); // warm-up
    const rounds: Partial<Record<keyof typeof targets, Rounds>> = {};
    for (let round = 0; round < 5; round++) {
      for (const [name, options] of Object.entries(targets) as Array<[keyof typeof targets, autocannon.Options]>) rounds[name] = add(rounds[name], await run(options));
    }
    const { full, echo: base, quiet: off } = rounds as Record<keyof typeof targets, Rounds>;
    const rate = (r: Rounds) => median(r.rates).toFixed(0);
    const latency = (r: Rounds) => `p50 ${median(r.p50s)} ms, p99 ${median(r.p99s)} ms (median round; worst round's p99 ${Math.max(...r.p99s)} ms)`;
    // Duplicate storm: 1,000 concurrent consent captures over 10 keys must have exactly 10 effects.
    const consent = JSON.stringify(doc.paths['/Consent'].post.requestBody.content['application/fhir+json'].example);
    const before = (await svc.deps.db.$sql.value("SELECT count(*) FROM partner_records WHERE kind = 'consent'")) as number;
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
    const effects = ((await svc.deps.db.$sql.value("SELECT count(*) FROM partner_records WHERE kind = 'consent'")) as number) - before;
    const byStatus = Object.entries(statuses.reduce<Record<number, number>>((acc, st) => ({ ...acc, [st]: (acc[st] ?? 0) + 1 }), {})).map(([k, v]) => `${v}× ${k}`).join(', ');
    const failed = (r: Rounds) => (r.failures ? `, ${r.failures} non-2xx or errors` : '');
    return [
      `bare Hono echo: ${rate(base)} req/s, ${latency(base)}`,
      `idempotent $member-match (full pipeline${failed(full)}): ${rate(full)} req/s, ${latency(full)}`,
      `ratio ${(medianRatio(full, base) * 100).toFixed(0)} % of the bare route (target ≥ 40 %; rounds ${full.rates.map((r, i) => ((r / base.rates[i]!) * 100).toFixed(0)).join('/')} %), p99 ${median(full.p99s)} ms (target ≤ 50 ms), 50 connections, 5 alternating rounds × 3 s`,
      `duplicate storm: 1000 concurrent consent captures over 10 keys → ${effects} effects (target exactly 10); answers ${byStatus}`,
      `telemetry off (ACCORD_TELEMETRY=off${failed(off)}): ${rate(off)} req/s, ${latency(off)}; telemetry on costs ${((1 - medianRatio(full, off)) * 100).toFixed(1)} % of throughput (target ≤ 10 %; rounds ${full.rates.map((r, i) => ((1 - r / off.rates[i]!) * 100).toFixed(0)).join('/')} %)`,
    ];
  } finally {
    await stopJobs();
    await stopQuietJobs();
    runtime.close();
    quietServer.close();
    echo.close();
    await svc.cleanup();
    await quiet.cleanup();
  }
}
