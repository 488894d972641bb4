import fc from 'fast-check';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { openDb } from '../src/db/client.ts';
import type { Deps } from '../src/deps.ts';
import { percentile } from '../src/observability/scorecards.ts';
import { bucketOf, bucketValue, emptySummary, histogramText, MAX_PENDING_ROLLUPS, mergeSummary, parseHistogram, RELATIVE_ERROR, RollupBuffer, type Summary, summaryPercentile } from '../src/observability/sla-rollups.ts';
import { measure, windowStart } from '../src/observability/sla-windows.ts';
import { prng } from './prng.ts';

/** A summary of values, as one replica's rollup holds them. */
function summarise(values: number[], metric = 'timeToAcknowledge'): Summary {
  const s = emptySummary(metric);
  for (const v of values) {
    s.count++;
    s.sum += v;
    s.min = Math.min(s.min, v);
    s.max = Math.max(s.max, v);
    s.buckets?.set(bucketOf(v), (s.buckets.get(bucketOf(v)) ?? 0) + 1);
  }
  return s;
}

/** Durations as the monitor sees them: seconds from 1e-4 to 1e6, log-uniform, with now and then zero. */
const duration = fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 20, arbitrary: fc.double({ min: -4, max: 6, noNaN: true }).map((e) => 10 ** e) });

describe('SLA histogram', () => {
  it('reads every value back from its bucket within the stated relative error (≈ 1.08 %)', () => {
    expect(RELATIVE_ERROR).toBeLessThan(0.011);
    const random = prng(15);
    for (let i = 0; i < 100_000; i++) {
      const v = 10 ** (random() * 10 - 4);
      expect(Math.abs(bucketValue(bucketOf(v)) - v) / v).toBeLessThanOrEqual(RELATIVE_ERROR + 1e-12);
    }
    // Bucket boundaries (powers of two) and their neighbours.
    for (let k = -100; k <= 100; k++) for (const v of [2 ** (k / 32), 2 ** (k / 32) * (1 + 1e-15), 2 ** (k / 32) * (1 - 1e-15)]) expect(Math.abs(bucketValue(bucketOf(v)) - v) / v).toBeLessThanOrEqual(RELATIVE_ERROR + 1e-12);
    expect(bucketValue(bucketOf(0))).toBe(0);
    expect(bucketValue(bucketOf(-1))).toBe(0);
  });

  it('the percentile over merged replicas’ histograms is within the relative error of the exact nearest-rank percentile', () => {
    fc.assert(
      fc.property(fc.array(fc.array(duration, { maxLength: 300 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 100 }), (replicas, p) => {
        const merged = emptySummary('timeToAcknowledge');
        for (const values of replicas) {
          // Through the stored form, as evaluation reads it.
          const stored = summarise(values);
          mergeSummary(merged, { ...stored, buckets: parseHistogram('timeToAcknowledge', histogramText(stored.buckets)) });
        }
        const all = replicas.flat();
        const exact = percentile(all, p);
        const estimate = measure(merged, 'timeToAcknowledge', p);
        expect(estimate.samples).toBe(all.length);
        // Values at most 2^-32 s read back as 0: an absolute error below a nanosecond.
        expect(Math.abs(estimate.value - exact)).toBeLessThanOrEqual(Math.max(exact * (RELATIVE_ERROR + 1e-12), 2 ** -32));
      }),
      { numRuns: 300, seed: 15 },
    );
  });

  it('is exact where the samples allow: all equal, p100, the mean of errorRate', () => {
    expect(summaryPercentile(summarise([0.08, 0.08, 0.08]), 95)).toBe(0.08);
    expect(summaryPercentile(summarise([0.2, 0.01, 0.3]), 100)).toBe(0.3);
    expect(summaryPercentile(summarise([0.2, 0.01, 0.3]), 1)).toBe(0.01);
    expect(measure(summarise([1, 0, 0, 1], 'errorRate'), 'errorRate', 0)).toEqual({ value: 0.5, samples: 4 });
    expect(histogramText(summarise([1, 0], 'errorRate').buckets)).toBe('{}');
    expect(measure(emptySummary('timeToFinalize'), 'timeToFinalize', 95)).toEqual({ value: 0, samples: 0 });
  });

  it('takes the exact nearest-rank percentile of raw values (scorecards)', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 95)).toBe(95);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile([0.2, 0.01, 0.3], 100)).toBe(0.3);
    expect(percentile([], 95)).toBe(0);
  });
});

describe('SLA windows over per-minute rollups', () => {
  const at = (hms: string) => Date.parse(`2026-12-01T${hms}Z`);
  it('cover the minutes that start after now − window, always the current one', () => {
    expect(windowStart(at('12:05:30'), 5 * 60_000)).toBe(at('12:01:00'));
    expect(windowStart(at('12:05:00'), 5 * 60_000)).toBe(at('12:01:00'));
    expect(windowStart(at('12:04:59.999'), 5 * 60_000)).toBe(at('12:00:00'));
    expect(windowStart(at('12:05:30'), 60_000)).toBe(at('12:05:00'));
    expect(windowStart(at('12:05:30'), 30_000)).toBe(at('12:05:00'));
    expect(windowStart(at('12:05:30'), 86_400_000)).toBe(at('12:06:00') - 86_400_000);
  });
});

describe('SLA rollups in memory', () => {
  it('are bounded: samples of new keys beyond MAX_PENDING_ROLLUPS are dropped and logged; ended minutes are forgotten once flushed', async () => {
    let now = Date.parse('2026-12-01T12:00:10Z');
    const warnings: unknown[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line)) });
    const db = openDb(':memory:');
    const buffer = new RollupBuffer({ db, clock: () => new Date(now), logger, config: loadConfig({}) } as unknown as Deps);
    for (let i = 0; i < MAX_PENDING_ROLLUPS + 500; i++) buffer.add('member-match', `partner-${i}`, 'timeToAcknowledge', 0.1, now);
    buffer.add('member-match', 'partner-0', 'timeToAcknowledge', 0.2, now); // a key already held still counts
    expect(buffer.size).toBe(MAX_PENDING_ROLLUPS);
    await buffer.flush();
    expect(warnings).toEqual([expect.objectContaining({ dropped: 500, limit: MAX_PENDING_ROLLUPS })]);
    expect(await db.$sql.value('SELECT count(*) FROM sla_rollups')).toBe(MAX_PENDING_ROLLUPS);
    expect(await db.$sql.get("SELECT \"count\", \"sum\", \"max\" FROM sla_rollups WHERE partner = 'partner-0'")).toEqual({ count: 2, sum: 0.30000000000000004, max: 0.2 });
    expect(buffer.size).toBe(MAX_PENDING_ROLLUPS); // the current minute stays, it is still being added to
    now += 60_000;
    await buffer.flush();
    expect(buffer.size).toBe(0);
    buffer.add('member-match', 'partner-0', 'timeToAcknowledge', 0.3, now);
    expect(buffer.size).toBe(1);
    await db.$close();
  });
});
