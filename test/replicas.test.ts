import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresTypes } from '../src/db/postgres-types.ts';
import { parseYaml } from '../src/lib/yaml.ts';
import { ADMIN_TOKEN, REPO_ROOT, TEST_AUDIT_KEY } from './harness.ts';
import { gitIn, initBareRemote } from './git-remote.ts';
import { freshPostgresDatabase, type PostgresDatabase } from './postgres.ts';
import { startServeProcess, type ServeProcess } from './serve-process.ts';

/**
 * Issue 15's multi-replica test: three `accord serve` processes on one PostgreSQL database and
 * one shared Git remote, requests spread over them round-robin as a load balancer would.
 */

const MATCH = '/exchange/northwind-health/p2p-exchange/v2/Patient/$member-match';
const CONTRACT = (partner: string, version: string) => fs.readFileSync(path.join(REPO_ROOT, 'contracts', partner, 'p2p-exchange', version, 'openapi.yaml'), 'utf8');
const example = (partner: string, version: string) => (parseYaml(CONTRACT(partner, version), { maxAliases: 0 }) as any).paths['/Patient/$member-match'].post.requestBody.content['application/fhir+json'].example;
const INPUTS: Record<string, unknown> = { 'northwind-health': example('northwind-health', '2.0.0'), 'bluestem-mutual': example('bluestem-mutual', '1.1.0') };
const SAGAS = 100;

interface Replica extends ServeProcess {
  name: string;
}

describe('three replicas on one PostgreSQL and one Git remote', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-replicas-'));
  const remote = path.join(work, 'registry.git');
  let database: PostgresDatabase;
  let sql: pg.Pool;
  let replicas: Replica[] = [];
  let next = 0;
  /** Webhook deliveries received: webhook-id → event payloads. */
  const received = new Map<string, string[]>();
  let receiver: http.Server;
  let receiverUrl: string;

  async function start(name: string): Promise<Replica> {
    const server = await startServeProcess({
      ACCORD_DATA_DIR: path.join(work, name),
      ACCORD_DATABASE_URL: database.url,
      ACCORD_AUDIT_KEY: TEST_AUDIT_KEY,
      ACCORD_REGISTRY_REMOTE: remote,
      ACCORD_REPLICA_ID: name,
      ACCORD_LEASE_MS: '1500',
      ACCORD_JOBS_INTERVAL_MS: '200',
      ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true',
      ACCORD_ADMIN_TOKEN: ADMIN_TOKEN,
      ACCORD_LOG_LEVEL: 'error',
      ACCORD_SAGA_TIME_SCALE: '0.05',
      ACCORD_SEED_DIR: REPO_ROOT,
    });
    return { name, ...server };
  }

  /** The next replica round-robin (a load balancer). */
  const any = () => replicas[next++ % replicas.length]!;
  const call = (replica: Replica, method: string, route: string, body?: unknown, headers: Record<string, string> = {}, token = ADMIN_TOKEN) =>
    fetch(`${replica.url}${route}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': typeof body === 'string' ? 'application/fhir+json' : 'application/json' }), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  const count = async (text: string, values: unknown[] = []) => Number((await sql.query(text, values)).rows[0].count);
  /**
   * Polls `check` every 50 ms; whether it held for a check started within `ms` (a request's own
   * latency on a loaded machine does not count against the propagation it waits for).
   */
  const within = async (ms: number, check: () => Promise<boolean>) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const started = Date.now();
      if (await check()) return started <= deadline;
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    // An empty database: the three replicas migrate it together (the migration lock) and seed it once (the first-start lock).
    database = await freshPostgresDatabase({ migrated: false });
    sql = new pg.Pool({ connectionString: database.url, types: postgresTypes });
    fs.mkdirSync(remote);
    initBareRemote(remote);
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const id = String(req.headers['webhook-id']);
        received.set(id, [...(received.get(id) ?? []), body]);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    replicas = await Promise.all(['r1', 'r2', 'r3'].map(start));
  }, 120_000);

  afterAll(async () => {
    for (const r of replicas) r.child.kill('SIGKILL');
    await sql?.end();
    await new Promise((r) => receiver?.close(r));
    await database?.drop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('started together on an empty database: migrated and seeded once, one first admin token', async () => {
    expect(await count('SELECT count(*) FROM contract_versions')).toBeGreaterThan(0);
    expect(await count("SELECT count(*) FROM contract_versions WHERE partner = 'northwind-health' AND version = '2.0.0'")).toBe(1);
    expect(await count("SELECT count(*) FROM tokens WHERE role = 'admin'")).toBe(1);
    for (const r of replicas) expect((await call(r, 'GET', '/v1/contracts')).status).toBe(200);
  });

  it('1,000 concurrent requests over 10 idempotency keys, spread over the replicas: exactly 10 effects', async () => {
    const body = JSON.stringify(INPUTS['northwind-health']);
    const responses = await Promise.all(Array.from({ length: 1000 }, (_, i) => call(any(), 'POST', MATCH, body, { 'Idempotency-Key': `storm-key-${i % 10}` })));
    const statuses = responses.map((r) => r.status);
    const odd = responses.find((r) => r.status !== 200 && r.status !== 409);
    expect(odd && `${odd.status} ${await odd.text()}`).toBeUndefined();
    for (const s of statuses) expect([200, 409]).toContain(s);
    const originals = responses.filter((r) => r.status === 200 && r.headers.get('idempotent-replayed') === null);
    expect(originals).toHaveLength(10);
    expect(await count("SELECT count(*) FROM transactions WHERE mode = 'sync' AND idempotency_key LIKE 'storm-key-%'")).toBe(10);
    expect(await count("SELECT count(*) FROM idempotency_keys WHERE key LIKE 'storm-key-%'")).toBe(10);
  }, 120_000);

  it('50 concurrent registrations of one version across the replicas: exactly one created, the others find it', async () => {
    const doc = parseYaml(CONTRACT('northwind-health', '2.1.0'), { maxAliases: 0 }) as any;
    doc.info.version = '2.9.0';
    doc.info.description = 'Registered by one of three replicas.';
    const responses = await Promise.all(Array.from({ length: 50 }, () => call(any(), 'POST', '/v1/contracts/northwind-health/p2p-exchange/versions', doc)));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s !== 201).every((s) => s === 200)).toBe(true);
    expect(await count("SELECT count(*) FROM contract_versions WHERE version = '2.9.0'")).toBe(1);
    // The remote is the registry of record: the tag is there, once; every replica serves the document.
    const tags = gitIn(remote, 'tag', '--list', '*2.9.0*');
    expect(tags.trim().split('\n')).toHaveLength(1);
    for (const r of replicas) {
      const res = await call(r, 'GET', '/v1/contracts/northwind-health/p2p-exchange/versions/2.9.0/document');
      expect(res.status, r.name).toBe(200);
    }
  }, 120_000);

  it('a token revoked on one replica is refused by every replica within a second', async () => {
    const created = await (await call(replicas[0]!, 'POST', '/v1/tokens', { role: 'ci', name: 'replicated' })).json();
    for (const r of replicas) expect((await call(r, 'GET', '/v1/contracts', undefined, {}, created.token)).status).toBe(200);
    expect((await call(replicas[1]!, 'DELETE', `/v1/tokens/${created.id}`)).status).toBe(204);
    for (const r of replicas) expect(await within(1000, async () => (await call(r, 'GET', '/v1/contracts', undefined, {}, created.token)).status === 401), r.name).toBe(true);
  });

  it('a fault injected on one replica applies on every replica within a second, and its removal too', async () => {
    const body = JSON.stringify(INPUTS['northwind-health']);
    let n = 0;
    const match = (r: Replica) => call(r, 'POST', MATCH, body, { 'Idempotency-Key': `fault-key-${n++}` });
    const created = await call(replicas[0]!, 'POST', '/v1/faults', { partner: 'northwind-health', flow: 'member-match', step: 'match-member', kind: 'error-status', status: 503 });
    expect(created.status).toBe(201);
    const fault = await created.json();
    for (const r of replicas) expect(await within(1000, async () => (await match(r)).status === 503), r.name).toBe(true);
    expect((await call(replicas[2]!, 'DELETE', `/v1/faults/${fault.id}`)).status).toBe(204);
    for (const r of replicas) expect(await within(1000, async () => (await match(r)).status === 200), r.name).toBe(true);
  });

  it('SIGKILL of one replica during 100 sagas: every saga ends once, no partner effect twice, no step run twice; each webhook event delivered once', async () => {
    expect((await call(replicas[0]!, 'POST', '/v1/webhooks', { url: receiverUrl, secret: '0123456789abcdef', events: ['transaction.state-changed'] })).status).toBe(201);
    const started = await Promise.all(
      Array.from({ length: SAGAS }, async (_, i) => {
        const partner = i % 2 === 0 ? 'northwind-health' : 'bluestem-mutual';
        const res = await call(any(), 'POST', '/v1/transactions', { flow: 'payer-data-export', partner, input: { memberMatch: INPUTS[partner] } }, { 'Idempotency-Key': `replica-saga-${i}` });
        expect(res.status).toBe(202);
        return (await res.json()).id as string;
      }),
    );
    // Kill the leader (it publishes the outbox) while the sagas run: the others take its sagas over once their leases pass, and one of them the lead.
    await new Promise((r) => setTimeout(r, 150));
    const leader = (await sql.query("SELECT a.application_name AS name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid = $1 AND l.granted", [0x6c656164])).rows[0]?.name as string;
    const killed = replicas.find((r) => leader === `accord ${r.name}`)!;
    expect(killed, leader).toBeDefined();
    expect(await count("SELECT count(*) FROM transactions WHERE lease_owner = $1 AND state NOT IN ('completed', 'compensated')", [killed.name])).toBeGreaterThan(0);
    killed.child.kill('SIGKILL');
    await new Promise((r) => (killed.child.exitCode !== null || killed.child.signalCode !== null ? r(undefined) : killed.child.once('exit', r)));
    replicas = replicas.filter((r) => r !== killed);
    const done = await within(60_000, async () => (await count("SELECT count(*) FROM transactions WHERE mode = 'saga' AND state NOT IN ('completed', 'compensated')")) === 0);
    expect(done, JSON.stringify((await sql.query("SELECT id, state, lease_owner, lease_until FROM transactions WHERE mode = 'saga' AND state NOT IN ('completed', 'compensated') LIMIT 3")).rows)).toBe(true);
    expect(await count("SELECT count(*) FROM transactions WHERE mode = 'saga'")).toBe(SAGAS);
    expect(new Set(started).size).toBe(SAGAS);
    // No step ran to success twice, and no saga ended twice.
    expect(await count("SELECT count(*) FROM (SELECT transaction_id, step_id FROM transaction_events WHERE type = 'transaction.step-succeeded' GROUP BY transaction_id, step_id HAVING count(*) > 1) t")).toBe(0);
    expect(await count("SELECT count(*) FROM (SELECT transaction_id FROM transaction_events WHERE type = 'transaction.state-changed' AND to_state IN ('completed', 'compensated') GROUP BY transaction_id HAVING count(*) > 1) t")).toBe(0);
    // No partner effect twice: one consent and one export per saga, each undone once when compensated.
    const compensated = await count("SELECT count(*) FROM transactions WHERE mode = 'saga' AND state = 'compensated'");
    expect(await count("SELECT count(*) FROM partner_records WHERE kind = 'consent'")).toBe(SAGAS);
    expect(await count("SELECT count(*) FROM partner_records WHERE kind = 'export'")).toBe(SAGAS);
    expect(await count("SELECT count(*) FROM partner_records WHERE kind = 'finalization'")).toBe(SAGAS - compensated);
    expect(await count("SELECT count(*) FROM partner_records WHERE kind = 'consent' AND status = 'inactive'")).toBe(compensated);
    // Each state change became one delivery, delivered (receivers may see a retry under the same webhook-id, never the event under two ids).
    const events = await count("SELECT count(*) FROM transaction_events WHERE type = 'transaction.state-changed' AND transaction_id = ANY($1)", [started]);
    const delivered = await within(30_000, async () => [...received.values()].filter((b) => started.some((id) => b[0]!.includes(id))).length >= events);
    expect(delivered).toBe(true);
    const keys = [...received.values()].map((bodies) => JSON.parse(bodies[0]!)).filter((e) => started.includes(e.data?.transactionId)).map((e) => `${e.data.transactionId} ${e.data.from} ${e.data.to}`);
    expect(keys).toHaveLength(events);
    expect(new Set(keys).size).toBe(events);
  }, 180_000);

  it('two approvals of a breaking change at two replicas at once: both count, the version is approved and every replica serves it within a second', async () => {
    const doc = parseYaml(CONTRACT('northwind-health', '2.1.0'), { maxAliases: 0 }) as any;
    doc.info.version = '3.0.0';
    delete doc.paths[Object.keys(doc.paths).at(-1)!];
    expect((await call(replicas[0]!, 'POST', '/v1/contracts/northwind-health/p2p-exchange/versions', doc)).status).toBe(201);
    const change = await (await call(replicas[1]!, 'POST', '/v1/changes', { partner: 'northwind-health', api: 'p2p-exchange', version: '3.0.0', summary: 'drop an operation' })).json();
    expect(change.requires.approvals).toBe(2);
    const approvers = await Promise.all(['one', 'two'].map(async (name) => (await (await call(replicas[0]!, 'POST', '/v1/tokens', { role: 'approver', name: `approver ${name}` })).json()).token as string));
    const reviews = await Promise.all(approvers.map((token, i) => call(replicas[i]!, 'POST', `/v1/changes/${change.id}/reviews`, { decision: 'approve' }, {}, token)));
    expect(reviews.map((r) => r.status)).toEqual([201, 201]);
    expect((await sql.query("SELECT state FROM contract_versions WHERE partner = 'northwind-health' AND version = '3.0.0'")).rows[0].state).toBe('approved');
    // Approved versions are served in the sandbox: every replica's route table picks the new line up within a second.
    expect(Object.keys(doc.paths)).toContain('/Patient/$member-match');
    let n = 0;
    for (const r of replicas) {
      const served = await within(1000, async () => (await call(r, 'POST', MATCH.replace('/v2/', '/v3/'), JSON.stringify(INPUTS['northwind-health']), { 'Idempotency-Key': `v3-key-${n++}` })).status === 200);
      expect(served, r.name).toBe(true);
    }
  }, 60_000);
});