import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { PACKAGE_ROOT } from '../src/config.ts';
import { parseYaml } from '../src/lib/yaml.ts';
import { startPostgresCluster } from '../test/postgres-cluster.ts';
import { initBareRemote } from '../test/git-remote.ts';
import { startServeProcess, type ServeProcess } from '../test/serve-process.ts';
import { median } from './util.ts';

const TOKEN = 'bench-admin-token-0123456789abcdef';
const AUDIT_KEY = 'b2'.repeat(32);
const MATCH = '/exchange/northwind-health/p2p-exchange/v2/Patient/$member-match';

/** A real `accord serve` process (the bench is its client, in another process). */
function serve(env: Record<string, string>): Promise<ServeProcess> {
  return startServeProcess({ ACCORD_ADMIN_TOKEN: TOKEN, ACCORD_LOG_LEVEL: 'error', ACCORD_SEED_DIR: PACKAGE_ROOT, ...env });
}

function run(options: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => autocannon(options, (error, result) => (error ? reject(error) : resolve(result))));
}

/**
 * Runtime throughput of the deployment shapes issue 15 names: the embedded SQLite server, one
 * replica on PostgreSQL, and two replicas on one PostgreSQL behind a round-robin client (25 of
 * the 50 connections each). Idempotent $member-match POSTs with a new key each, from this process
 * (the servers are their own processes), alternating rounds of 3 s, median round reported.
 * PostgreSQL is a throwaway local cluster (`--no-sync`, like SQLite's synchronous=NORMAL it does
 * not wait for the disk at each commit), or ACCORD_BENCH_DATABASE_URL's server if set. Everything
 * shares this machine's cores: two replicas cannot be faster than one here, the number says what
 * coordinating them costs.
 */
export async function benchReplicas(): Promise<string[]> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-bench-replicas-'));
  const cluster = process.env.ACCORD_BENCH_DATABASE_URL ? undefined : await startPostgresCluster();
  const adminUrl = process.env.ACCORD_BENCH_DATABASE_URL ?? cluster!.adminUrl;
  const databases: string[] = [];
  const database = async () => {
    const name = `accord_bench_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
    await admin.end();
    databases.push(name);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  };
  const servers: ServeProcess[] = [];
  const start = async (env: Record<string, string>) => {
    const server = await serve(env);
    servers.push(server);
    return server;
  };
  try {
    const remote = path.join(work, 'registry.git');
    fs.mkdirSync(remote);
    initBareRemote(remote);
    const shared = await database();
    const replica = (name: string, url: string) => ({ ACCORD_DATA_DIR: path.join(work, name), ACCORD_DATABASE_URL: url, ACCORD_AUDIT_KEY: AUDIT_KEY, ACCORD_REPLICA_ID: name });
    const sqlite = await start({ ACCORD_DATA_DIR: path.join(work, 'sqlite') });
    const one = await start(replica('one', await database()));
    const pair = [await start({ ...replica('a', shared), ACCORD_REGISTRY_REMOTE: remote }), await start({ ...replica('b', shared), ACCORD_REGISTRY_REMOTE: remote })];

    const doc = parseYaml(fs.readFileSync(path.join(PACKAGE_ROOT, 'contracts/northwind-health/p2p-exchange/2.0.0/openapi.yaml'), 'utf8'), { maxAliases: 0 }) as any;
    const body = JSON.stringify(doc.paths['/Patient/$member-match'].post.requestBody.content['application/fhir+json'].example);
    let n = 0;
    const load = (url: string, connections: number, duration: number): autocannon.Options => ({
      url: `${url}${MATCH}`,
      method: 'POST',
      body,
      connections,
      duration,
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/fhir+json' },
      requests: [{ setupRequest: (req: any) => ({ ...req, headers: { ...req.headers, 'Idempotency-Key': `bench-${process.pid}-${n++}` } }) }],
    });
    /** One round against `urls`, the 50 connections split between them; requests per second in all, non-2xx answers. */
    const round = async (urls: string[], duration = 3) => {
      const results = await Promise.all(urls.map((url) => run(load(url, 50 / urls.length, duration))));
      return { rate: results.reduce((sum, r) => sum + r.requests.total / r.duration, 0), p99: Math.max(...results.map((r) => r.latency.p99)), failures: results.reduce((sum, r) => sum + r.non2xx + r.errors, 0) };
    };
    const targets: Record<string, string[]> = { 'SQLite (embedded)': [sqlite.url], 'PostgreSQL, one replica': [one.url], 'PostgreSQL, two replicas round-robin': pair.map((s) => s.url) };
    for (const urls of Object.values(targets)) await round(urls, 2); // warm-up
    const rounds: Record<string, Array<Awaited<ReturnType<typeof round>>>> = {};
    for (let i = 0; i < 3; i++) for (const [name, urls] of Object.entries(targets)) (rounds[name] ??= []).push(await round(urls));
    const sqliteRate = median(rounds['SQLite (embedded)']!.map((r) => r.rate));
    return Object.entries(rounds).map(([name, rs]) => {
      const rate = median(rs.map((r) => r.rate));
      const failures = rs.reduce((sum, r) => sum + r.failures, 0);
      return `${name}: ${rate.toFixed(0)} req/s (${((rate / sqliteRate) * 100).toFixed(0)} % of SQLite), p99 ${median(rs.map((r) => r.p99))} ms${failures ? `, ${failures} non-2xx or errors` : ''}; rounds ${rs.map((r) => r.rate.toFixed(0)).join('/')}`;
    });
  } finally {
    for (const s of servers) {
      s.child.kill('SIGTERM');
      await new Promise((resolve) => (s.child.exitCode !== null || s.child.signalCode !== null ? resolve(undefined) : s.child.once('exit', resolve)));
    }
    if (cluster) await cluster.stop();
    else {
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      for (const name of databases) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
}
