import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../src/auth/principal.ts';
import { loadConfig } from '../src/config.ts';
import { percentile } from '../src/observability/scorecards.ts';
import { OpsRollups } from '../src/observability/ops-rollups.ts';
import { RELATIVE_ERROR } from '../src/observability/sla-rollups.ts';
import { recordDirectRequest } from '../src/runtime/direct-requests/record.ts';
import { parseYaml } from '../src/lib/yaml.ts';
import { REPO_ROOT, startTestService, type TestService } from './harness.ts';
import { signIn } from './console-helpers.ts';
import { prng } from './prng.ts';

const doc = (partner: string, version: string) => parseYaml(fs.readFileSync(path.join(REPO_ROOT, 'contracts', partner, 'p2p-exchange', version, 'openapi.yaml'), 'utf8'), { maxAliases: 0 }) as any;
const example = () => structuredClone(doc('northwind-health', '2.0.0').paths['/Patient/$member-match'].post.requestBody.content['application/fhir+json'].example);
const nobody = () => {
  const e = example();
  e.parameter[0].resource.name[0].family = 'Nobody';
  return e;
};
const MATCH = '/exchange/northwind-health/p2p-exchange/v2/Patient/$member-match';

type Chart = { metric: string; series: Array<{ name: string; points: Array<[string, number | null]> }>; total: Record<string, number | null> };
const chart = (overview: { charts: Chart[] }, metric: string) => overview.charts.find((c) => c.metric === metric)!;
const rows = async (s: TestService, tier?: string) => await s.deps.db.$sql.all(`SELECT tier, bucket, flow, partner, counts, histograms, in_flight FROM ops_rollups ${tier ? 'WHERE tier = ?' : ''} ORDER BY tier, bucket, flow, partner`, tier ? [tier] : []);

describe('operations rollups through the real runtime', () => {
  let s: TestService;
  let now = Date.parse('2026-11-27T12:00:30Z');
  beforeAll(async () => {
    s = await startTestService({ seed: true, clock: () => new Date(now), env: { ACCORD_SAGA_TIME_SCALE: '0.0001' } });
  });
  afterAll(async () => await s.cleanup());

  it('counts starts, duplicates, acceptance, identity matches, compensations and operator actions per flow and partner; a re-run counts nothing twice', async () => {
    const ops = new OpsRollups(s.deps);
    // On PostgreSQL events are folded one run late (a smaller seq may commit after a larger one): two runs fold everything.
    const settle = async () => {
      await ops.collectDuplicates();
      await ops.fold();
      await ops.fold();
    };
    const post = (url: string, body: unknown, key: string, type = 'application/fhir+json') => s.call('POST', url, { body: JSON.stringify(body), type, headers: { 'Idempotency-Key': key } });
    expect((await post(MATCH, example(), 'ops-match-1')).status).toBe(200);
    expect((await post(MATCH, example(), 'ops-match-1')).headers.get('idempotent-replayed')).toBe('true'); // a duplicate
    expect((await post(MATCH, example(), 'ops-match-2')).status).toBe(200);
    expect((await post(MATCH, nobody(), 'ops-match-3')).status).toBe(422); // not matched
    const start = (input: unknown, key: string) => post('/v1/transactions', { flow: 'payer-data-export', partner: 'northwind-health', input: { memberMatch: input } }, key, 'application/json');
    expect((await start(example(), 'ops-flow-1')).status).toBe(202);
    await s.runtime.engine.idle();
    expect((await start(example(), 'ops-flow-1')).status).toBe(202); // a replayed start
    const stuck = await (await start(nobody(), 'ops-flow-2')).json();
    await s.runtime.engine.idle();
    expect((await s.call('GET', `/v1/transactions/${stuck.id}`).then((r) => r.json())).state).toBe('needs-attention');

    await settle();
    const before = await (await s.call('GET', '/v1/operator/overview?window=PT15M&flow=payer-data-export&partner=northwind-health')).json();
    expect(before.tier).toBe('minute');
    expect(chart(before, 'inFlight').total.value).toBe(1);

    // The console: charts, and the live tables with the SLA target, the current value and the intervention in force.
    now += 6 * 60_000;
    await s.deps.db.$sql.run(
      "INSERT INTO sla_interventions (id, flow, partner, rule, metric, actions, value, threshold, freeze_id, started_at, lifted_at) VALUES ('int-ops-1', 'payer-data-export', 'northwind-health', 1, 'errorRate', '[\"pause-retries\",\"open-ticket\"]', '0.5', '0.2', NULL, ?, NULL)",
      [new Date(now).toISOString()],
    );
    const operator = await signIn(s, await s.token('operator'));
    const html = await (await operator.get('/console/operations?window=PT15M&flow=payer-data-export')).text();
    expect(html.match(/<svg [^>]*role="img"/g)).toHaveLength(9);
    expect(html).toContain('aria-label="Requests initiated, last 15 minutes per minute: total 2."');
    expect(html).toContain(`href="/console/operations/transactions?flow=payer-data-export&amp;from=`);
    expect(html).toContain('0 compensations await approval');
    const degraded = /<h2 id="degraded">[\s\S]*?<\/section>/.exec(html)![0];
    expect(degraded).toMatch(/northwind-health \/ payer-data-export[\s\S]*?member-mismatch[\s\S]*?≤ 0\.2[\s\S]*?pause-retries, open-ticket \(errorRate, since/);
    const stuckTable = /<h2 id="stuck">[\s\S]*?<\/section>/.exec(html)![0];
    expect(stuckTable).toMatch(/payer-data-export \/ needs-attention[\s\S]*?p95 ≤ PT2H[\s\S]*?1 stuck/);
    await s.deps.db.$sql.run("UPDATE sla_interventions SET lifted_at = ? WHERE id = 'int-ops-1'", [new Date(now).toISOString()]);
    // A partner's console shows its own partner's charts and no live tables; another partner's is not found.
    const partnerUser = await signIn(s, await s.token('partner', 'northwind-health'));
    const own = await (await partnerUser.get('/console/operations?window=PT15M')).text();
    expect(own).toContain('aria-label="Requests initiated, last 15 minutes per minute: total 5."');
    expect(own).not.toContain('id="degraded"');
    expect((await partnerUser.get('/console/operations?partner=bluestem-mutual')).status).toBe(404);
    expect((await operator.get('/console/operations?window=PT5M')).status).toBe(400);

    expect((await s.call('POST', `/v1/transactions/${stuck.id}/compensate`)).status).toBe(202);
    await s.runtime.engine.idle();
    await settle();
    const snapshot = await rows(s);
    // Nothing new: folding and collecting again change no row.
    await settle();
    expect(await rows(s)).toEqual(snapshot);

    const direct = await (await s.call('GET', '/v1/operator/overview?window=PT15M&flow=member-match&partner=northwind-health')).json();
    expect(chart(direct, 'requestsInitiated').total.value).toBe(3);
    expect(chart(direct, 'duplicateRate').total).toEqual({ value: 1 / 3, duplicates: 1 });
    expect(chart(direct, 'acceptanceRate').total).toEqual({ value: 2 / 3, accepted: 2, refused: 1 });
    expect(chart(direct, 'identityMatchRate').total).toEqual({ value: 2 / 3, matched: 2, attempts: 3 });
    expect(chart(direct, 'timeToAcknowledge').total.samples).toBe(3);
    expect(chart(direct, 'timeToFinalise').total.samples).toBe(2);

    const flow = await (await s.call('GET', '/v1/operator/overview?window=PT15M&flow=payer-data-export&partner=northwind-health')).json();
    const steps = (await s.deps.db.$sql.value("SELECT count(*) FROM transaction_steps s JOIN transactions t ON t.id = s.transaction_id WHERE t.flow = 'payer-data-export' AND s.kind = 'forward' AND s.state = 'succeeded'")) as number;
    expect(chart(flow, 'requestsInitiated').total.value).toBe(2);
    expect(chart(flow, 'duplicateRate').total.duplicates).toBe(1);
    expect(chart(flow, 'identityMatchRate').total).toEqual({ value: 1 / 2, matched: 1, attempts: 2 });
    expect(chart(flow, 'acceptanceRate').total).toMatchObject({ accepted: Number(steps), refused: 1 });
    expect(chart(flow, 'compensations').total.value).toBe(1);
    expect(chart(flow, 'manualInterventions').total.value).toBe(1);
    expect(chart(flow, 'inFlight').total.value).toBe(0);
    // Compensations awaiting approval (part A's table), of the flow and partner asked.
    await s.deps.db.$sql.run("INSERT INTO compensation_approvals (id, transaction_id, step_id, flow, partner, status, cause, requested_at) VALUES ('ca-1', 'tx-1', 'finalise', 'payer-data-export', 'northwind-health', 'awaiting', 'engine', ?), ('ca-2', 'tx-2', 'finalise', 'payer-data-export', 'bluestem-mutual', 'awaiting', 'engine', ?), ('ca-3', 'tx-3', 'finalise', 'payer-data-export', 'northwind-health', 'approved', 'engine', ?)", [new Date(now).toISOString(), new Date(now).toISOString(), new Date(now).toISOString()]);
    expect((await (await s.call('GET', '/v1/operator/overview?window=PT15M&flow=payer-data-export&partner=northwind-health')).json()).compensationsAwaitingApproval).toBe(1);
    expect((await (await s.call('GET', '/v1/operator/overview?window=PT15M')).json()).compensationsAwaitingApproval).toBe(2);
    expect(await (await operator.get('/console/operations')).text()).toContain('2 compensations await approval');
    // The saga's clock stood still: acknowledged and finalised at once.
    expect(chart(flow, 'timeToFinalise').total).toEqual({ p50: 0, p95: 0, p99: 0, samples: 1 });

    // Totals rows: all flows of the partner, and everything.
    const partner = await (await s.call('GET', '/v1/operator/overview?window=PT15M&partner=northwind-health')).json();
    expect(chart(partner, 'requestsInitiated').total.value).toBe(5);
    const all = await (await s.call('GET', '/v1/operator/overview?window=PT15M')).json();
    expect(chart(all, 'requestsInitiated').total.value).toBe(5);
    expect(chart(all, 'requestsInitiated').series[0]!.points.find((p) => p[0] === '2026-11-27T12:00:00.000Z')![1]).toBe(5);
    expect(all.links.transactions).toContain('/v1/transactions?from=');
    expect(partner.links.console).toBe(`/console/operations/transactions?partner=northwind-health&from=${encodeURIComponent(partner.from)}&to=${encodeURIComponent(partner.to)}`);
  });
});

describe('operations rollups: percentiles, downsampling, retention, restart', () => {
  let s: TestService;
  let now = Date.parse('2026-11-27T10:00:00Z');
  const env = { ACCORD_OPS_ROLLUP_MINUTES: 'PT3H' };
  beforeAll(async () => {
    s = await startTestService({ seed: true, clock: () => new Date(now), env });
  });
  afterAll(async () => await s.cleanup());

  /** Records a direct member-match request as the exchange does, started at `at` and answered after `latencyMs`. */
  async function record(at: number, latencyMs: number, status: number, partner = 'northwind-health') {
    const flowEntry = (await s.runtime.routes.flow('member-match'))!;
    await recordDirectRequest(s.deps, { flowEntry, step: flowEntry.steps[0]!, partner, api: 'p2p-exchange', version: '2.0.0', operationId: 'memberMatch', status, correlationId: `c-${at}-${latencyMs}`, idempotencyKey: undefined, traceId: '0'.repeat(32), spanId: '0'.repeat(16), tracestate: undefined, principal: SYSTEM, startedAt: new Date(at), latencyMs, fault: undefined });
  }

  it('p50/p95/p99 across minute buckets are the nearest-rank percentiles within the histogram error; hours and days are the sums of their minutes', async () => {
    const ops = new OpsRollups(s.deps);
    const random = prng(18);
    const latencies: number[] = [];
    // 90 minutes of traffic, 10:00–11:30, a few requests a minute.
    for (let m = 0; m < 90; m++) {
      for (let i = 0; i < 4; i++) {
        const ms = Math.round(10 + random() * 2000);
        latencies.push(ms / 1000);
        await record(Date.parse('2026-11-27T10:00:00Z') + m * 60_000 + i * 1000, ms, 200);
      }
    }
    await record(Date.parse('2026-11-27T10:30:00Z'), 50, 422, 'bluestem-mutual');
    now = Date.parse('2026-11-27T11:30:30Z');
    expect(await ops.fold()).toBe(361);
    const overview = await (await s.call('GET', '/v1/operator/overview?window=PT1H&flow=member-match&partner=northwind-health')).json();
    expect(overview.tier).toBe('minute');
    expect(chart(overview, 'requestsInitiated').series[0]!.points).toHaveLength(60);
    const inWindow = latencies.slice(31 * 4); // 10:31 … 11:29
    const total = chart(overview, 'timeToAcknowledge').total;
    expect(total.samples).toBe(inWindow.length);
    for (const p of [50, 95, 99]) {
      const exact = percentile(inWindow, p);
      expect(Math.abs(total[`p${p}`]! - exact)).toBeLessThanOrEqual(exact * (RELATIVE_ERROR + 1e-9));
    }

    // P1D is drawn per hour: the 10:00 hour holds its 60 minutes.
    const day = await (await s.call('GET', '/v1/operator/overview?window=P1D&flow=member-match&partner=northwind-health')).json();
    expect(day.tier).toBe('hour');
    expect(day.charts[0].series[0].points).toHaveLength(24);
    const hourPoints = new Map(chart(day, 'requestsInitiated').series[0]!.points);
    expect(hourPoints.get('2026-11-27T10:00:00.000Z')).toBe(240);
    expect(hourPoints.get('2026-11-27T11:00:00.000Z')).toBe(120);
    const all10 = percentile(latencies.slice(0, 240), 95);
    expect(Math.abs(new Map(chart(day, 'timeToAcknowledge').series.find((x) => x.name === 'p95')!.points).get('2026-11-27T10:00:00.000Z')! - all10)).toBeLessThanOrEqual(all10 * (RELATIVE_ERROR + 1e-9));
    const month = await (await s.call('GET', '/v1/operator/overview?window=P30D&flow=member-match')).json();
    expect(month.tier).toBe('day');
    expect(month.charts[0].series[0].points).toHaveLength(30);
    expect(chart(month, 'requestsInitiated').total.value).toBe(361);
    expect(chart(month, 'identityMatchRate').total).toEqual({ value: 360 / 361, matched: 360, attempts: 361 });
    // Every hour row is the sum of its minute rows (totals rows included).
    const sums = (await s.deps.db.$sql.all(
      "SELECT substr(bucket, 1, 13) AS hour, flow, partner, sum(CAST(json_extract(counts, '$.initiated') AS INTEGER)) AS n FROM ops_rollups WHERE tier = 'minute' GROUP BY substr(bucket, 1, 13), flow, partner ORDER BY hour, flow, partner",
    )) as Array<{ hour: string; flow: string; partner: string; n: number | null }>;
    const hours = (await s.deps.db.$sql.all("SELECT substr(bucket, 1, 13) AS hour, flow, partner, CAST(json_extract(counts, '$.initiated') AS INTEGER) AS n FROM ops_rollups WHERE tier = 'hour' ORDER BY hour, flow, partner")) as typeof sums;
    expect(hours.map((h) => ({ ...h, n: Number(h.n ?? 0) }))).toEqual(sums.map((h) => ({ ...h, n: Number(h.n ?? 0) })));
  });

  it('keeps each tier for its retention: minutes past ACCORD_OPS_ROLLUP_MINUTES go, their hours stay', async () => {
    now = Date.parse('2026-11-27T14:10:00Z');
    await new OpsRollups(s.deps).fold();
    const minutes = (await rows(s, 'minute')) as Array<{ bucket: string }>;
    expect(minutes.every((r) => r.bucket >= '2026-11-27T11:10:00.000Z')).toBe(true);
    expect(minutes.some((r) => r.bucket < '2026-11-27T11:30:00.000Z')).toBe(true);
    const day = await (await s.call('GET', '/v1/operator/overview?window=P1D&flow=member-match&partner=northwind-health')).json();
    expect(new Map(chart(day, 'requestsInitiated').series[0]!.points).get('2026-11-27T10:00:00.000Z')).toBe(240);
  });

  it('survives a restart: the reopened database draws the same series', async () => {
    const before = await (await s.call('GET', '/v1/operator/overview?window=P1D')).json();
    await s.close();
    const reopened = await startTestService({ dir: s.dir, clock: () => new Date(now), env });
    const cleanup = s.cleanup;
    s = { ...reopened, cleanup: async () => await reopened.cleanup().catch(cleanup) };
    expect(await (await s.call('GET', '/v1/operator/overview?window=P1D')).json()).toEqual(before);
    expect(chart(before, 'requestsInitiated').total.value).toBe(361);
  });

  it('a partner sees only its own partner; staff choose; bad windows are refused', async () => {
    const northwind = await s.token('partner', 'northwind-health');
    const own = await (await s.call('GET', '/v1/operator/overview?window=P1D', { token: northwind })).json();
    expect(own.partner).toBe('northwind-health');
    expect(chart(own, 'requestsInitiated').total.value).toBe(360);
    expect((await s.call('GET', '/v1/operator/overview?window=P1D&partner=bluestem-mutual', { token: northwind })).status).toBe(404);
    const operator = await s.token('operator');
    const other = await (await s.call('GET', '/v1/operator/overview?window=P1D&partner=bluestem-mutual', { token: operator })).json();
    expect(chart(other, 'requestsInitiated').total.value).toBe(1);
    const bad = await s.call('GET', '/v1/operator/overview?window=PT5M');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe('application/problem+json');
  });
});

describe('operations rollup settings', () => {
  it('default to P2D / P90D / P730D and refuse what is not a duration or too short for its tier', () => {
    expect(loadConfig({}).opsRollupRetention).toEqual({ minuteMs: 2 * 86_400_000, hourMs: 90 * 86_400_000, dayMs: 730 * 86_400_000 });
    expect(loadConfig({ ACCORD_OPS_ROLLUP_MINUTES: 'PT6H', ACCORD_OPS_ROLLUP_HOURS: 'P30D', ACCORD_OPS_ROLLUP_DAYS: 'P365D' }).opsRollupRetention).toEqual({ minuteMs: 6 * 3_600_000, hourMs: 30 * 86_400_000, dayMs: 365 * 86_400_000 });
    expect(() => loadConfig({ ACCORD_OPS_ROLLUP_MINUTES: 'two days' })).toThrow(/ACCORD_OPS_ROLLUP_MINUTES must be an ISO 8601 duration/);
    expect(() => loadConfig({ ACCORD_OPS_ROLLUP_MINUTES: 'PT1H' })).toThrow(/ACCORD_OPS_ROLLUP_MINUTES must be at least PT2H/);
    expect(() => loadConfig({ ACCORD_OPS_ROLLUP_HOURS: 'P1D' })).toThrow(/ACCORD_OPS_ROLLUP_HOURS must be at least P7D/);
    expect(() => loadConfig({ ACCORD_OPS_ROLLUP_DAYS: 'P7D' })).toThrow(/ACCORD_OPS_ROLLUP_DAYS must be at least P30D/);
  });
});
