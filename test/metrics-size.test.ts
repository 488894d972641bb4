import fs from 'node:fs';
import parsePrometheus from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findContractFiles } from '../src/contracts/files.ts';
import { parseYaml } from '../src/lib/yaml.ts';
import { REPO_ROOT, startTestService, type TestService } from './harness.ts';

/** What a scrape may weigh with the whole reference network's traffic behind it (issue 19 item 6). */
const LIMIT = 60_000; // bytes
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

type Operation = { prefix: string; method: string; path: string; id: string; body?: unknown; media?: string };

/**
 * Every operation of every served line of the reference network: the newest version of each
 * major line of each partner's API, served at /exchange/{partner}/{api}/v{major}.
 */
async function servedOperations(): Promise<Operation[]> {
  const newest = new Map<string, { file: string; version: string }>();
  for (const f of await findContractFiles(REPO_ROOT)) {
    const line = `${f.partner}/${f.api}/v${f.version.split('.')[0]}`;
    const seen = newest.get(line);
    const key = (v: string) => v.split('.').map((n) => n.padStart(6, '0')).join('.');
    if (!seen || key(f.version) > key(seen.version)) newest.set(line, { file: f.file, version: f.version });
  }
  const out: Operation[] = [];
  for (const [line, { file }] of newest) {
    const doc = parseYaml(fs.readFileSync(file, 'utf8'), { maxAliases: 0 }) as { paths: Record<string, Record<string, any>> };
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        const [media, content] = Object.entries((op.requestBody?.content ?? {}) as Record<string, { example?: unknown }>)[0] ?? [];
        out.push({ prefix: `/exchange/${line}`, method: method.toUpperCase(), path, id: op.operationId, body: content?.example, media });
      }
    }
  }
  return out;
}

type Family = { name: string; type: string; metrics: Array<{ labels?: Record<string, string> }> };

describe('/metrics with the reference network', () => {
  let s: TestService;
  let operations: Operation[];
  beforeAll(async () => {
    s = await startTestService({ seed: true, clock: () => new Date(), env: { ACCORD_SAGA_TIME_SCALE: '0.0001' } });
    operations = await servedOperations();
  });
  afterAll(async () => await s.cleanup());

  const scrape = async () => {
    const res = await s.call('GET', '/metrics', { token: null });
    expect(res.status).toBe(200);
    return await res.text();
  };

  it(`stays under 60 KB after traffic through every operation, failures, flows and SLA evaluation included`, async () => {
    const idle = await scrape();
    expect(operations.length).toBeGreaterThanOrEqual(25); // 3 served lines × 9 operations
    let n = 0;
    const statuses = new Map<string, Set<number>>();
    const send = async (op: Operation, path: string, body: string | undefined) => {
      const res = await s.call(op.method, `${op.prefix}${path}`, { body, type: body === undefined ? undefined : op.media, headers: { 'Idempotency-Key': `metrics-size-${++n}-key` } });
      await res.arrayBuffer();
      const seen = statuses.get(`${op.prefix} ${op.id}`) ?? new Set();
      statuses.set(`${op.prefix} ${op.id}`, seen.add(res.status));
      return res;
    };
    // Each operation with its contract's example, then with a body the contract refuses; one with
    // path parameters once, with ids the partner does not know (a 404).
    for (const op of operations.filter((o) => !o.path.includes('{'))) {
      await send(op, op.path, op.body === undefined ? undefined : JSON.stringify(op.body));
      await send(op, op.path, '{"resourceType":"Nonsense"}');
    }
    for (const op of operations.filter((o) => o.path.includes('{'))) {
      await send(op, op.path.replace(/\{[^}]+\}/g, 'unknown-0001'), op.body === undefined ? undefined : JSON.stringify(op.body));
    }
    // The saga flow of every partner (step durations, time to acknowledge and to finalise, outcomes).
    for (const partner of ['northwind-health', 'bluestem-mutual']) {
      const match = operations.find((o) => o.prefix.startsWith(`/exchange/${partner}/`) && o.id === 'memberMatch')!;
      const res = await s.call('POST', '/v1/transactions', { body: JSON.stringify({ flow: 'payer-data-export', partner, input: { memberMatch: match.body } }), type: 'application/json', headers: { 'Idempotency-Key': `metrics-size-flow-${partner}` } });
      expect(res.status).toBe(202);
      await s.runtime.engine.idle();
    }
    const all = [...statuses.values()].flatMap((set) => [...set]);
    expect(all.filter((status) => status < 300).length).toBeGreaterThanOrEqual(9); // member-match, consent capture and data export on every line
    // (A 422 was once among them: $finalize's undocumented answer to a body naming another exchange, now the documented 400.)
    expect(new Set(all.filter((status) => status >= 400))).toEqual(new Set([400, 404]));
    await s.runtime.sla.evaluate();
    for (const url of ['/v1/contracts', '/v1/sla', '/v1/transactions', '/v1/nowhere']) await (await s.call('GET', url)).arrayBuffer();

    const text = await scrape();
    console.info(`/metrics: ${idle.length} bytes idle, ${text.length} bytes after traffic through ${operations.length} operations`);
    expect(Buffer.byteLength(idle)).toBeLessThan(LIMIT);
    expect(Buffer.byteLength(text)).toBeLessThan(LIMIT);

    // Valid Prometheus text, with the families an operator expects.
    const families = parsePrometheus(text) as Family[];
    const byName = new Map(families.map((f) => [f.name, f]));
    for (const name of ['http_server_request_duration_seconds', 'http_server_requests_total', 'accord_step_duration_seconds', 'accord_time_to_acknowledge_seconds', 'accord_time_to_finalize_seconds', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(byName.get(name)?.metrics.length, name).toBeGreaterThan(0);
    }
    // Every operation of every served line is counted by its own route label, error statuses included…
    const counted = byName.get('http_server_requests_total')!.metrics;
    for (const op of operations) {
      const route = `${op.prefix.slice('/exchange/'.length)} ${op.id}`;
      const seen = counted.filter((m) => m.labels?.route === route).map((m) => Number(m.labels?.status)).sort();
      expect(seen, route).toEqual([...statuses.get(`${op.prefix} ${op.id}`)!].sort());
    }
    expect(counted.some((m) => m.labels?.route?.includes(' ') && Number(m.labels.status) >= 400)).toBe(true);
    // …and timed per operation: the histogram's exchange series carry the operation label, one per operation of the API.
    // (parse-prometheus-text-format keeps no labels on histogram series: read their _count lines.)
    const timed = [...text.matchAll(/^http_server_request_duration_seconds_count\{(.*)\} \d+$/gm)].map((m) => Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]])));
    const operationsTimed = timed.filter((labels) => labels.route === '/exchange/*').map((labels) => labels.operation);
    expect(new Set(operationsTimed)).toEqual(new Set(operations.map((op) => `p2p-exchange ${op.id}`)));
    expect(operationsTimed.length).toBe(new Set(operationsTimed).size);
  });
});
