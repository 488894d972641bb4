import { bucketOf, summaryPercentile, type Summary } from './sla-rollups.ts';

/**
 * What one bucket of the operations rollups holds (issue 18, ADR 0025): counters, latency
 * histograms on the SLA monitor's fixed exponential buckets (so buckets merge exactly and
 * percentiles hold across them) and the in-flight level; their stored JSON forms.
 */

/** The tiers and their bucket length. */
export const OPS_TIERS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
export type OpsTier = keyof typeof OPS_TIERS;

/** The counters of a bucket. */
export const OPS_COUNTERS = ['initiated', 'duplicates', 'accepted', 'refused', 'identityAttempts', 'identityMatched', 'compensations', 'manualInterventions'] as const;
export type OpsCounter = (typeof OPS_COUNTERS)[number];
/** The latency histograms of a bucket (seconds since the transaction started). */
export const OPS_LATENCIES = ['timeToAcknowledge', 'timeToFinalise'] as const;
export type OpsLatency = (typeof OPS_LATENCIES)[number];

/** One bucket's content, as kept in memory while folding or reading. */
export interface OpsCell {
  counts: Record<OpsCounter, number>;
  histograms: Record<OpsLatency, Summary>;
  inFlight: number;
}

/** An empty cell. */
export function emptyCell(): OpsCell {
  return {
    counts: Object.fromEntries(OPS_COUNTERS.map((c) => [c, 0])) as Record<OpsCounter, number>,
    histograms: Object.fromEntries(OPS_LATENCIES.map((l) => [l, emptyHistogram()])) as Record<OpsLatency, Summary>,
    inFlight: 0,
  };
}

function emptyHistogram(): Summary {
  return { count: 0, sum: 0, min: Infinity, max: -Infinity, buckets: new Map() };
}

/** Adds one latency sample (seconds). */
export function observe(h: Summary, seconds: number): void {
  h.count++;
  h.sum += seconds;
  if (seconds < h.min) h.min = seconds;
  if (seconds > h.max) h.max = seconds;
  const b = bucketOf(seconds);
  h.buckets!.set(b, (h.buckets!.get(b) ?? 0) + 1);
}

/** Adds `from`'s counts and histograms to `into` (in-flight is a level, not a sum: the caller decides). */
export function addCell(into: OpsCell, from: OpsCell): void {
  for (const c of OPS_COUNTERS) into.counts[c] += from.counts[c];
  for (const l of OPS_LATENCIES) {
    const a = into.histograms[l];
    const b = from.histograms[l];
    a.count += b.count;
    a.sum += b.sum;
    if (b.min < a.min) a.min = b.min;
    if (b.max > a.max) a.max = b.max;
    for (const [k, n] of b.buckets!) a.buckets!.set(k, (a.buckets!.get(k) ?? 0) + n);
  }
}

/** The p-th percentile (nearest rank, within ≈ 1.08 % from the fixed exponential buckets), null without samples. */
export function latencyPercentile(h: Summary, p: number): number | null {
  return h.count === 0 ? null : summaryPercentile(h, p);
}

/** The stored form of a cell's counters: only the non-zero ones. */
export function countsText(cell: OpsCell): string {
  return JSON.stringify(Object.fromEntries(OPS_COUNTERS.filter((c) => cell.counts[c] !== 0).map((c) => [c, cell.counts[c]])));
}

/** The stored form of a cell's histograms: per latency {n, sum, min, max, b: {bucket: count}}, only those with samples. */
export function histogramsText(cell: OpsCell): string {
  const out: Record<string, unknown> = {};
  for (const l of OPS_LATENCIES) {
    const h = cell.histograms[l];
    if (h.count === 0) continue;
    out[l] = { n: h.count, sum: h.sum, min: h.min, max: h.max, b: Object.fromEntries([...h.buckets!.entries()].sort((a, b) => a[0] - b[0])) };
  }
  return JSON.stringify(out);
}

/** A stored row back as a cell. */
export function parseCell(counts: string, histograms: string, inFlight: number): OpsCell {
  const cell = emptyCell();
  const c = JSON.parse(counts) as Partial<Record<OpsCounter, number>>;
  for (const name of OPS_COUNTERS) cell.counts[name] = c[name] ?? 0;
  const h = JSON.parse(histograms) as Partial<Record<OpsLatency, { n: number; sum: number; min: number; max: number; b: Record<string, number> }>>;
  for (const name of OPS_LATENCIES) {
    const stored = h[name];
    if (!stored) continue;
    cell.histograms[name] = { count: stored.n, sum: stored.sum, min: stored.min, max: stored.max, buckets: new Map(Object.entries(stored.b).map(([k, n]) => [Number(k), n])) };
  }
  cell.inFlight = inFlight;
  return cell;
}

/** The start of the bucket of `tier` holding `ms`, ISO 8601. */
export function bucketStart(tier: OpsTier, ms: number): string {
  return new Date(Math.floor(ms / OPS_TIERS[tier]) * OPS_TIERS[tier]).toISOString();
}
