import type { Deps } from '../deps.ts';

/** One minute in ms: rollups are per minute, keyed by the minute's start (epoch ms). */
export const MINUTE_MS = 60_000;

/** Histogram buckets per doubling: bucket i holds the values in (2^(i/32), 2^((i+1)/32)] (OpenTelemetry's exponential histogram at scale 5). */
const PER_DOUBLING = 32;
const GAMMA = 2 ** (1 / PER_DOUBLING);

/**
 * The largest relative error of a value read back from its bucket, (γ − 1)/(γ + 1) ≈ 1.08 %: the
 * bucket answers with the harmonic mean of its bounds, the point equally far (relatively) from both.
 */
export const RELATIVE_ERROR = (GAMMA - 1) / (GAMMA + 1);

/** Values up to 2^-32 s (about 0.23 ns), zero and negatives included, share one bucket read back as 0. */
const ZERO_BUCKET = -32 * PER_DOUBLING - 1;
const SMALLEST = 2 ** -32;
/** Values above 2^32 s (136 years) share the top bucket: so one rollup holds at most 2,049 buckets. */
const TOP_BUCKET = 32 * PER_DOUBLING - 1;

/**
 * Most rollups (one per flow, partner, metric and minute) a replica holds in memory between
 * flushes. Flows and partners come from the registry, so a real network stays far below it
 * (20 flows × 50 partners × 5 metrics × 2 minutes); beyond it samples of new keys are dropped,
 * counted and logged at the next flush, so a flood of names (or a database that refuses flushes)
 * cannot grow memory without limit.
 */
export const MAX_PENDING_ROLLUPS = 10_000;

/** The histogram bucket of a value (seconds). */
export function bucketOf(value: number): number {
  if (!(value > SMALLEST)) return ZERO_BUCKET;
  return Math.min(TOP_BUCKET, Math.ceil(Math.log2(value) * PER_DOUBLING) - 1);
}

/** The value a bucket stands for: within RELATIVE_ERROR of every value in it (0 for the zero bucket). */
export function bucketValue(bucket: number): number {
  if (bucket <= ZERO_BUCKET) return 0;
  const low = 2 ** (bucket / PER_DOUBLING);
  const high = low * GAMMA;
  return (2 * low * high) / (low + high);
}

/**
 * Samples of one metric summed up: count, sum, extremes and, for durations, the histogram (bucket →
 * count). errorRate (samples 0 or 1) is a mean, so it keeps no histogram.
 */
export interface Summary {
  count: number;
  sum: number;
  min: number;
  max: number;
  buckets: Map<number, number> | undefined;
}

/** A summary of no samples; with a histogram unless the metric is a mean. */
export function emptySummary(metric: string): Summary {
  return { count: 0, sum: 0, min: Infinity, max: -Infinity, buckets: metric === 'errorRate' ? undefined : new Map() };
}

/** Adds `from` to `into`. */
export function mergeSummary(into: Summary, from: Summary): void {
  into.count += from.count;
  into.sum += from.sum;
  if (from.min < into.min) into.min = from.min;
  if (from.max > into.max) into.max = from.max;
  if (into.buckets && from.buckets) for (const [bucket, n] of from.buckets) into.buckets.set(bucket, (into.buckets.get(bucket) ?? 0) + n);
}

/**
 * The p-th percentile by nearest rank over the histogram: the bucket holding the sample of rank
 * ⌈p/100 · count⌉, read back within RELATIVE_ERROR of that sample and kept within [min, max]
 * (exact when all samples are equal, and for the first and last rank).
 */
export function summaryPercentile(summary: Summary, p: number): number {
  if (summary.count === 0 || !summary.buckets) return 0;
  const rank = Math.min(summary.count, Math.max(1, Math.ceil((p / 100) * summary.count)));
  if (rank === 1) return summary.min;
  if (rank === summary.count) return summary.max;
  let seen = 0;
  for (const bucket of [...summary.buckets.keys()].sort((a, b) => a - b)) {
    seen += summary.buckets.get(bucket)!;
    if (seen >= rank) return Math.min(summary.max, Math.max(summary.min, bucketValue(bucket)));
  }
  return summary.max;
}

/** The stored form of a histogram: JSON, bucket index → count, in bucket order. */
export function histogramText(buckets: Map<number, number> | undefined): string {
  if (!buckets) return '{}';
  return `{${[...buckets.keys()]
    .sort((a, b) => a - b)
    .map((bucket) => `"${bucket}":${buckets.get(bucket)!}`)
    .join(',')}}`;
}

/** A stored histogram back as a map (none for errorRate). */
export function parseHistogram(metric: string, text: string): Map<number, number> | undefined {
  if (metric === 'errorRate') return undefined;
  return new Map(Object.entries(JSON.parse(text) as Record<string, number>).map(([bucket, n]) => [Number(bucket), n]));
}

/** One row of sla_rollups as read back. */
export interface RollupRow {
  flow: string;
  partner: string;
  metric: string;
  minute: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  histogram: string;
}

/** A row's summary. */
export function rowSummary(row: RollupRow): Summary {
  return { count: row.count, sum: row.sum, min: row.min, max: row.max, buckets: parseHistogram(row.metric, row.histogram) };
}

/** This replica's samples of one flow, partner, metric and minute, as far as they are not yet in its row. */
interface Pending extends Summary {
  flow: string;
  partner: string;
  metric: string;
  minute: number;
  /** Samples arrived since the last flush. */
  dirty: boolean;
  /**
   * This replica's row as it was before this rollup's first flush (null: none), read at that
   * flush: the row is rewritten as stored + this. It is only ever this replica's to write, so it
   * stays true; it holds samples of a previous process (a restart within the minute) or of an
   * earlier rollup of the minute (a sample that came after its minute was flushed and dropped).
   */
  stored: Summary | null | undefined;
}

const COLUMNS = 'flow, partner, metric, minute, replica, "count", "sum", "min", "max", histogram';
/** Rows per INSERT: 10 parameters each, far below either engine's limit (SQLite 32,766, PostgreSQL 65,535). */
const ROWS_PER_STATEMENT = 200;

function upsertText(rows: number): string {
  const values = Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
  // Each replica writes only its own rows, whole: the update replaces, nothing is merged in SQL.
  return `INSERT INTO sla_rollups (${COLUMNS}) VALUES ${values} ON CONFLICT (flow, partner, metric, minute, replica) DO UPDATE SET "count" = excluded."count", "sum" = excluded."sum", "min" = excluded."min", "max" = excluded."max", histogram = excluded.histogram`;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const keyOf = (flow: string, partner: string, metric: string, minute: number) => `${minute}|${flow}|${partner}|${metric}`;

/**
 * This replica's SLA samples of the current (and any not yet flushed) minute, rolled up in memory
 * per flow, partner, metric and minute: adding a sample is O(1) and touches no storage. `flush()`
 * writes the rollups that changed into this replica's rows of sla_rollups and forgets the
 * minutes that have ended.
 */
export class RollupBuffer {
  private readonly pending = new Map<string, Pending>();
  private dropped = 0;
  private flushing: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: Pick<Deps, 'db' | 'clock' | 'logger' | 'config'>) {}

  /** Rollups held in memory. */
  get size(): number {
    return this.pending.size;
  }

  /** Adds one sample taken at `at` (epoch ms). */
  add(flow: string, partner: string, metric: string, value: number, at: number): void {
    const minute = at - (at % MINUTE_MS);
    const key = keyOf(flow, partner, metric, minute);
    let rollup = this.pending.get(key);
    if (!rollup) {
      if (this.pending.size >= MAX_PENDING_ROLLUPS) {
        this.dropped++;
        return;
      }
      rollup = { ...emptySummary(metric), flow, partner, metric, minute, dirty: false, stored: undefined };
      this.pending.set(key, rollup);
    }
    rollup.count++;
    rollup.sum += value;
    if (value < rollup.min) rollup.min = value;
    if (value > rollup.max) rollup.max = value;
    if (rollup.buckets) {
      const bucket = bucketOf(value);
      rollup.buckets.set(bucket, (rollup.buckets.get(bucket) ?? 0) + 1);
    }
    rollup.dirty = true;
  }

  /** Writes the rollups with new samples (one transaction) and forgets minutes that have ended; one flush at a time. */
  flush(): Promise<void> {
    const run = this.flushing.then(() => this.write());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async write(): Promise<void> {
    if (this.dropped > 0) {
      this.deps.logger.warn({ dropped: this.dropped, limit: MAX_PENDING_ROLLUPS }, 'SLA samples dropped: too many flow, partner and metric rollups pending');
      this.dropped = 0;
    }
    const due = [...this.pending.values()].filter((r) => r.dirty);
    if (due.length > 0) {
      try {
        await this.deps.db.transaction(async (tx) => {
          await this.readStored(tx, due.filter((r) => r.stored === undefined));
          // From here to the first write nothing awaits: the rows hold exactly what `dirty` was cleared for.
          const rows = due.map((r) => {
            r.dirty = false;
            const total: Summary = { count: r.count, sum: r.sum, min: r.min, max: r.max, buckets: r.buckets && new Map(r.buckets) };
            if (r.stored) mergeSummary(total, r.stored);
            return [r.flow, r.partner, r.metric, r.minute, this.deps.config.replicaId, total.count, total.sum, total.min, total.max, histogramText(total.buckets)];
          });
          for (const chunk of chunks(rows, ROWS_PER_STATEMENT)) await tx.$sql.run(upsertText(chunk.length), chunk.flat());
        });
      } catch (error) {
        for (const r of due) r.dirty = true;
        throw error;
      }
    }
    const current = this.deps.clock().getTime();
    for (const [key, r] of this.pending) if (!r.dirty && r.minute + MINUTE_MS <= current) this.pending.delete(key);
  }

  /** Reads this replica's rows for the rollups flushed for the first time. */
  private async readStored(tx: Deps['db'], rollups: Pending[]): Promise<void> {
    if (rollups.length === 0) return;
    const found = new Map<string, Summary>();
    for (const minutes of chunks([...new Set(rollups.map((r) => r.minute))], ROWS_PER_STATEMENT)) {
      const rows = await tx.$sql.all<RollupRow>(
        `SELECT flow, partner, metric, minute, "count", "sum", "min", "max", histogram FROM sla_rollups WHERE replica = ? AND minute IN (${minutes.map(() => '?').join(', ')})`,
        [this.deps.config.replicaId, ...minutes],
      );
      for (const row of rows) found.set(keyOf(row.flow, row.partner, row.metric, row.minute), rowSummary(row));
    }
    for (const r of rollups) r.stored = found.get(keyOf(r.flow, r.partner, r.metric, r.minute)) ?? null;
  }
}
