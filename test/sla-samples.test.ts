import { describe, expect, it } from 'vitest';
import { MAX_SAMPLES, percentile, SampleRing } from '../src/observability/sla.ts';

describe('SLA sample window', () => {
  it('keeps the newest samples in order through growth and wrap-around', () => {
    const ring = new SampleRing();
    for (let i = 0; i < 100; i++) ring.push(i, i * 10);
    expect([...ring.since(94)]).toEqual([950, 960, 970, 980, 990]);
    for (let i = 100; i < MAX_SAMPLES + 12_345; i++) ring.push(i, i * 10);
    const all = ring.since(-1);
    expect(all.length).toBe(MAX_SAMPLES);
    expect(all[0]).toBe(12_345 * 10);
    expect(all[all.length - 1]).toBe((MAX_SAMPLES + 12_344) * 10);
    expect([...ring.since(MAX_SAMPLES + 12_341)]).toEqual([(MAX_SAMPLES + 12_342) * 10, (MAX_SAMPLES + 12_343) * 10, (MAX_SAMPLES + 12_344) * 10]);
    expect(ring.since(MAX_SAMPLES + 20_000).length).toBe(0);
  });

  it('takes the nearest-rank percentile', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 95)).toBe(95);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile([0.2, 0.01, 0.3], 100)).toBe(0.3);
    expect(percentile([], 95)).toBe(0);
  });
});
