/**
 * One server of the runtime benchmark, in its own process, on 127.0.0.1 (argument: which one):
 * - `full`: the seeded Accord service with its jobs (SLA evaluation, stats flush, outbox);
 * - `quiet`: the same with ACCORD_TELEMETRY=off;
 * - `echo`: a bare Hono route answering the JSON it was sent;
 * - `sqlite`: a bare Hono route doing one better-sqlite3 insert per request into a file database
 *   in WAL mode with Accord's pragmas (src/db/client.ts: synchronous=NORMAL, the default
 *   durability; foreign_keys; busy_timeout).
 * It prints `{"url": …, "token": …}` once listening, then answers one JSON line per command read
 * from stdin (`consents`: consent records stored, for the duplicate storm) and exits when stdin
 * ends, so it never outlives the benchmark.
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { serve } from '@hono/node-server';
import Database from 'better-sqlite3';
import { Hono } from 'hono';
import { startBenchService } from './util.ts';

const kind = process.argv[2];
let fetch: (req: Request) => Response | Promise<Response>;
let token = '';
let consents: () => Promise<number> = async () => 0;
let close: () => Promise<void>;

if (kind === 'full' || kind === 'quiet') {
  const svc = await startBenchService({ seed: true, env: kind === 'quiet' ? { ACCORD_TELEMETRY: 'off' } : {} });
  const stopJobs = await svc.startJobs(); // as in production
  fetch = svc.app.fetch;
  token = svc.token;
  consents = async () => (await svc.deps.db.$sql.value("SELECT count(*) FROM partner_records WHERE kind = 'consent'")) as number;
  close = async () => {
    await stopJobs();
    await svc.cleanup();
  };
} else if (kind === 'echo') {
  const app = new Hono();
  app.post('/echo', async (c) => c.json(await c.req.json()));
  fetch = app.fetch;
  close = async () => {};
} else if (kind === 'sqlite') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-bench-sqlite-'));
  const db = new Database(path.join(dir, 'bench.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.exec('CREATE TABLE records (id INTEGER PRIMARY KEY, idempotency_key TEXT UNIQUE, body TEXT NOT NULL, created_at TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO records (idempotency_key, body, created_at) VALUES (?, ?, ?)');
  const app = new Hono();
  app.post('/insert', async (c) => {
    const body = await c.req.json();
    const { lastInsertRowid } = insert.run(c.req.header('idempotency-key') ?? null, JSON.stringify(body), new Date().toISOString());
    return c.json({ id: Number(lastInsertRowid) }, 201);
  });
  fetch = app.fetch;
  close = async () => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
} else {
  throw new Error(`usage: runtime-server.ts full|quiet|echo|sqlite (got ${kind})`);
}

const server = serve({ fetch, hostname: '127.0.0.1', port: 0 });
await new Promise((resolve) => server.once('listening', resolve));
console.log(JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token }));
for await (const command of readline.createInterface({ input: process.stdin })) {
  if (command === 'consents') console.log(JSON.stringify({ count: await consents() }));
  else break;
}
server.close();
await close();
process.exit(0);
