import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Deps } from '../src/deps.ts';
import { Metrics } from '../src/observability/metrics.ts';
import { SlaMonitor } from '../src/observability/sla.ts';
import { startTestService, type TestService } from './harness.ts';

/**
 * The SLA monitor across replicas: two monitors with different replica ids on one database (as
 * two Accord processes on one PostgreSQL are) each see only their own samples in memory, and
 * every decision comes from the rollups they flush.
 */
describe('SLA monitor over shared per-minute rollups', () => {
  let s: TestService;
  let now = Date.parse('2026-11-27T12:00:10Z');
  const flows = () => s.runtime.routes.allFlows();
  const replica = (id: string, deps: Partial<Deps> = {}) => SlaMonitor.open({ ...s.deps, config: { ...s.deps.config, replicaId: id }, ...deps }, flows);
  const partnerStatus = async (monitor: SlaMonitor, partner = 'northwind-health') => (await monitor.status()).flows.find((f) => f.flow === 'member-match')!.partners.find((p) => p.partner === partner);

  beforeAll(async () => {
    s = await startTestService({ seed: true, clock: () => new Date(now) });
  });
  afterAll(async () => await s.cleanup());

  it('each replica records half the samples; evaluation on one sees the breach of both; a new leader keeps its since and applies it', async () => {
    const a = await replica('replica-a');
    const b = await replica('replica-b');
    // member-match rule 0: p95 time to acknowledge above PT30S over PT5M for PT2M → throttle, page-owner.
    // Rule 1: errorRate above 0.2 over PT5M for PT5M. A's samples alone breach neither.
    for (let i = 0; i < 50; i++) {
      a.record('member-match', 'northwind-health', 'timeToAcknowledge', 0.1);
      a.record('member-match', 'northwind-health', 'errorRate', 0);
      b.record('member-match', 'northwind-health', 'timeToAcknowledge', 40 + i / 10);
      b.record('member-match', 'northwind-health', 'errorRate', i % 2);
    }
    await b.flush(); // every replica's jobs loop flushes; A flushes itself when it evaluates
    await a.evaluate();
    const seen = await partnerStatus(a);
    expect(seen!.current.timeToAcknowledge.samples).toBe(100);
    // Exact p95 (nearest rank 95 of 100) is 44.4 s; the histogram answers within 1.08 %.
    expect(seen!.current.timeToAcknowledge.value).toBeGreaterThan(44.4 * (1 - 0.0108));
    expect(seen!.current.timeToAcknowledge.value).toBeLessThan(44.4 * (1 + 0.0108));
    expect(seen!.current.errorRate).toMatchObject({ value: 0.25, samples: 100 });
    expect(seen!.breaches.map((x) => [x.rule, x.since])).toEqual([
      [0, new Date(now).toISOString()],
      [1, new Date(now).toISOString()],
    ]);
    expect(seen!.interventions).toEqual([]);
    // Every replica answers the same.
    expect(await partnerStatus(b)).toEqual(seen);
    const since = now;

    // The leader changes: B evaluates from now on. Two minutes later rule 0 has been breached for its PT2M.
    now += 2 * 60_000;
    await b.evaluate();
    const after = await partnerStatus(b);
    expect(after!.breaches.map((x) => [x.rule, x.since])).toEqual([
      [0, new Date(since).toISOString()],
      [1, new Date(since).toISOString()],
    ]);
    expect(after!.interventions).toEqual([expect.objectContaining({ rule: 0, actions: ['throttle', 'page-owner'] })]);
    expect(b.throttled('member-match', 'northwind-health')).toBe(30);
    // A hears of it (the signal) and throttles too, without evaluating.
    await vi.waitFor(() => expect(a.throttled('member-match', 'northwind-health')).toBe(30));
    expect(a.retriesPaused('member-match', 'northwind-health')).toBe(false);
    // A has not run ahead on its own: one application, one page.
    expect(await s.deps.db.$sql.value("SELECT count(*) FROM sla_interventions WHERE flow = 'member-match'")).toBe(1);
    await a.evaluate();
    expect(await s.deps.db.$sql.value("SELECT count(*) FROM sla_interventions WHERE flow = 'member-match'")).toBe(1);

    // The samples leave the window: whichever replica evaluates lifts it, the other follows, the breaches are gone.
    now += 5 * 60_000;
    await a.evaluate();
    expect(a.throttled('member-match', 'northwind-health')).toBeUndefined();
    await vi.waitFor(() => expect(b.throttled('member-match', 'northwind-health')).toBeUndefined());
    expect(await s.deps.db.$sql.value('SELECT count(*) FROM sla_breaches')).toBe(0);
    expect(await s.deps.db.$sql.column("SELECT action FROM audit_log WHERE action LIKE 'sla.%' ORDER BY seq")).toEqual(['sla.intervention-applied', 'sla.intervention-lifted']);
  });

  it('rollups survive a restart: a new monitor on the same database sees them, and adds to its replica’s row of the same minute', async () => {
    now = Date.parse('2026-11-28T08:00:05Z');
    const before = await replica('replica-a');
    for (let i = 1; i <= 10; i++) before.record('payer-data-export', 'bluestem-mutual', 'timeToFinalize', i);
    await before.flush();
    // "Restart": a new monitor under the same replica id, in the same minute.
    const after = await replica('replica-a');
    const current = async () => (await after.status()).flows.find((f) => f.flow === 'payer-data-export')!.partners.find((p) => p.partner === 'bluestem-mutual')!.current;
    expect((await current()).timeToFinalize).toMatchObject({ samples: 10, value: 10 });
    after.record('payer-data-export', 'bluestem-mutual', 'timeToFinalize', 20);
    await after.flush();
    expect((await current()).timeToFinalize).toMatchObject({ samples: 11, value: 20 });
    expect(await s.deps.db.$sql.all("SELECT replica, \"count\", \"sum\", \"min\", \"max\" FROM sla_rollups WHERE partner = 'bluestem-mutual' AND metric = 'timeToFinalize'")).toEqual([{ replica: 'replica-a', count: 11, sum: 75, min: 1, max: 20 }]);
    // A late sample of a minute already flushed and forgotten is added to that minute's row too.
    now += 60_000;
    await after.flush();
    expect(after.pendingRollups()).toBe(0);
    after.record('payer-data-export', 'bluestem-mutual', 'timeToFinalize', 0.5, now - 60_000);
    await after.flush();
    expect(await s.deps.db.$sql.value("SELECT \"count\" FROM sla_rollups WHERE partner = 'bluestem-mutual' AND metric = 'timeToFinalize'")).toBe(12);
  });

  it('records nothing with telemetry off', async () => {
    const off = await replica('replica-off', { metrics: new Metrics(false) });
    off.record('member-match', 'northwind-health', 'timeToAcknowledge', 1);
    expect(off.pendingRollups()).toBe(0);
    await off.flush();
    expect(await s.deps.db.$sql.value("SELECT count(*) FROM sla_rollups WHERE replica = 'replica-off'")).toBe(0);
  });

  it('purges rollups past the retention (P30D) and breaches of rules the matrix no longer has', async () => {
    const monitor = await replica('replica-a');
    now = Date.parse('2026-12-01T00:00:00Z');
    monitor.record('member-match', 'northwind-health', 'errorRate', 0);
    await monitor.flush();
    await s.deps.db.$sql.run("INSERT INTO sla_breaches (flow, partner, rule, since) VALUES ('member-match', 'northwind-health', 7, 0), ('retired-flow', 'northwind-health', 0, 0), ('member-match', 'northwind-health', 1, 0)");
    await monitor.purge();
    // 2026-11-27 … 28 is within 30 days of 2026-12-01.
    expect(await s.deps.db.$sql.value('SELECT count(*) FROM sla_rollups')).toBeGreaterThan(1);
    expect(await s.deps.db.$sql.all('SELECT flow, rule FROM sla_breaches')).toEqual([{ flow: 'member-match', rule: 1 }]);
    now = Date.parse('2026-12-29T00:00:00Z');
    await monitor.purge();
    expect(await s.deps.db.$sql.all('SELECT minute FROM sla_rollups')).toEqual([{ minute: Date.parse('2026-12-01T00:00:00Z') }]);
  });
});
