import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { PACKAGE_ROOT } from '../src/config.ts';
import { parseYaml } from '../src/lib/yaml.ts';
import { median } from './util.ts';

/** A benchmark process spoken to in JSON lines (stdin → stdout); it exits when its stdin ends. */
interface Child {
  next<T>(): Promise<T>;
  ask<T>(command: string): Promise<T>;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
// Whatever ends this process, its children go too (they also exit on their own when their stdin closes).
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function start(script: string, ...args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve(import.meta.dirname, script), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  void exited.then(() => children.delete(child));
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async <T>(): Promise<T> => {
    const line = await lines.next();
    if (line.done) throw new Error(`${script} ${args.join(' ')} ended early`);
    return JSON.parse(line.value) as T;
  };
  return {
    next,
    ask: <T>(command: string) => {
      child.stdin.write(`${command}\n`);
      return next<T>();
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** One autocannon run's result, as the load process prints it. */
interface Run {
  rate: number;
  p50: number;
  p99: number;
  failures: number;
}

/** A target's rounds. */
interface Rounds {
  rates: number[];
  p50s: number[];
  p99s: number[];
  failures: number;
}

const TARGETS = ['full', 'echo', 'sqlite', 'quiet'] as const;
type Target = (typeof TARGETS)[number];
const LABELS: Record<Target, string> = {
  full: 'idempotent $member-match, full pipeline',
  echo: 'bare Hono JSON echo',
  sqlite: 'bare Hono route, one SQLite insert (WAL, synchronous=NORMAL)',
  quiet: 'full pipeline, telemetry off (ACCORD_TELEMETRY=off)',
};

/**
 * What users see of the exchange runtime: an idempotent $member-match POST through the full
 * pipeline (auth, routing, contract validation, Idempotency-Key store, handler, transaction
 * record, telemetry) against a bare Hono JSON echo and against a bare Hono route doing one
 * SQLite insert (the floor any durable write pays), and against the pipeline with telemetry off.
 * Every server runs in its own process, and autocannon in another (neither the servers' event
 * loop nor this one's), all on 127.0.0.1, 50 connections. This VM's speed drifts by tens of
 * percent within a minute, so the targets run in alternating rounds (5 × 3 s each, after a 2 s
 * warm-up), each ratio is taken between runs of the same round and the median round's ratio is
 * reported, with every round's. Every $member-match and insert carries a new Idempotency-Key, so
 * none is a cheap replay. Targets: ≥ 40 % of the echo's throughput, p99 ≤ 50 ms, telemetry ≤ 10 %.
 */
export async function benchRuntime(rounds = 5, seconds = 3): Promise<string[]> {
  const doc = parseYaml(fs.readFileSync(path.join(PACKAGE_ROOT, 'contracts/northwind-health/p2p-exchange/2.0.0/openapi.yaml'), 'utf8'), { maxAliases: 0 }) as any;
  const example = (p: string) => JSON.stringify(doc.paths[p].post.requestBody.content['application/fhir+json'].example);
  const servers = Object.fromEntries(TARGETS.map((t) => [t, start('runtime-server.ts', t)])) as Record<Target, Child>;
  const load = start('runtime-load.ts');
  try {
    const at = Object.fromEntries(await Promise.all(TARGETS.map(async (t) => [t, await servers[t].next<{ url: string; token: string }>()] as const))) as Record<Target, { url: string; token: string }>;
    const body = example('/Patient/$member-match');
    const match = (t: Target) => ({ url: `${at[t].url}/exchange/northwind-health/p2p-exchange/v2/Patient/$member-match`, headers: { Authorization: `Bearer ${at[t].token}`, 'Content-Type': 'application/fhir+json' }, body, keyPrefix: `bench-${t}` });
    const runs: Record<Target, object> = {
      full: match('full'),
      quiet: match('quiet'),
      echo: { url: `${at.echo.url}/echo`, headers: { 'Content-Type': 'application/json' }, body },
      sqlite: { url: `${at.sqlite.url}/insert`, headers: { 'Content-Type': 'application/json' }, body, keyPrefix: 'bench-sqlite' },
    };
    const run = (t: Target, duration: number) => load.ask<Run>(JSON.stringify({ ...runs[t], connections: 50, duration }));
    for (const t of TARGETS) await run(t, 2); // warm-up: JIT, caches, SQLite pages
    const results = Object.fromEntries(TARGETS.map((t): [Target, Rounds] => [t, { rates: [], p50s: [], p99s: [], failures: 0 }])) as Record<Target, Rounds>;
    for (let round = 0; round < rounds; round++) {
      for (const t of TARGETS) {
        const r = await run(t, seconds);
        results[t].rates.push(r.rate);
        results[t].p50s.push(r.p50);
        results[t].p99s.push(r.p99);
        results[t].failures += r.failures;
      }
    }
    const storm = await duplicateStorm(at.full, example('/Consent'), servers.full);

    const perRound = (a: Rounds, b: Rounds) => a.rates.map((rate, i) => rate / b.rates[i]!);
    const pct = (values: number[]) => values.map((v) => (v * 100).toFixed(0)).join('/');
    const { full, echo, sqlite, quiet } = results;
    const lines = TARGETS.map((t) => {
      const r = results[t];
      return `${LABELS[t]}: ${median(r.rates).toFixed(0)} req/s, p50 ${median(r.p50s)} ms, p99 ${median(r.p99s)} ms (median round; worst round's p99 ${Math.max(...r.p99s)} ms), ${r.failures} non-2xx or errors`;
    });
    const cost = full.rates.map((rate, i) => 1 - rate / quiet.rates[i]!);
    return [
      ...lines,
      `full ÷ echo: ${(median(perRound(full, echo)) * 100).toFixed(0)} % (target ≥ 40 %; rounds ${pct(perRound(full, echo))} %); full p99 ${median(full.p99s)} ms (target ≤ 50 ms)`,
      `full ÷ one SQLite insert: ${(median(perRound(full, sqlite)) * 100).toFixed(0)} % (rounds ${pct(perRound(full, sqlite))} %)`,
      `telemetry on costs ${(median(cost) * 100).toFixed(1)} % of throughput (target ≤ 10 %; rounds ${pct(cost)} %)`,
      `${rounds} alternating rounds × ${seconds} s per target, 50 connections; each server in its own process, autocannon in another`,
      storm,
    ];
  } finally {
    await Promise.all([load, ...Object.values(servers)].map((c) => c.stop()));
  }
}

/** 1,000 concurrent consent captures over 10 Idempotency-Keys must store exactly 10 consents. */
async function duplicateStorm(full: { url: string; token: string }, consent: string, server: Child): Promise<string> {
  const before = (await server.ask<{ count: number }>('consents')).count;
  const statuses = await Promise.all(
    Array.from({ length: 1000 }, (_, i) =>
      fetch(`${full.url}/exchange/northwind-health/p2p-exchange/v2/Consent`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${full.token}`, 'Content-Type': 'application/fhir+json', 'Idempotency-Key': `storm-${process.pid}-${i % 10}` },
        body: consent,
      }).then(async (r) => {
        await r.arrayBuffer();
        return r.status;
      }),
    ),
  );
  const effects = (await server.ask<{ count: number }>('consents')).count - before;
  const byStatus = Object.entries(statuses.reduce<Record<number, number>>((acc, st) => ({ ...acc, [st]: (acc[st] ?? 0) + 1 }), {}))
    .map(([k, v]) => `${v}× ${k}`)
    .join(', ');
  return `duplicate storm: 1000 concurrent consent captures over 10 keys → ${effects} effects (target exactly 10); answers ${byStatus}`;
}
