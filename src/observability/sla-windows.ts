import type { Db } from '../db/index.ts';
import { emptySummary, mergeSummary, MINUTE_MS, type RollupRow, rowSummary, type Summary, summaryPercentile } from './sla-rollups.ts';

/**
 * The first minute (its start, epoch ms) a window ending now covers: the minutes that start after
 * now − window, and always the current one. So PT5M at 12:05:30 covers 12:01 … 12:05 (the last
 * partial): never a sample older than the window, at most a minute's fewer. A window shorter than
 * a minute covers the current minute.
 */
export function windowStart(now: number, windowMs: number): number {
  const current = now - (now % MINUTE_MS);
  const after = now - windowMs;
  return Math.min(current, after - (after % MINUTE_MS) + MINUTE_MS);
}

/**
 * Windows up to this long are served from one read of every rollup in the longest of them (the
 * minute index); longer ones (a P1D remediation window, a PT1H rule) read one flow, partner and
 * metric at a time along the primary key, so a long window never scans every partner's rows.
 */
const SCAN_LIMIT_MS = 15 * MINUTE_MS;
const SHORTEST_SCAN_MS = 5 * MINUTE_MS;

const ROW = 'flow, partner, metric, minute, "count", "sum", "min", "max", histogram';

/** A metric's value over a window: the percentile for durations, the mean for errorRate; and how many samples it has. */
export interface Measurement {
  value: number;
  samples: number;
}

/** What a summary measures: errorRate is a mean, the rest a percentile. */
export function measure(summary: Summary, metric: string, p: number): Measurement {
  if (summary.count === 0) return { value: 0, samples: 0 };
  return { value: metric === 'errorRate' ? summary.sum / summary.count : summaryPercentile(summary, p), samples: summary.count };
}

/**
 * Every replica's rollups over the windows one evaluation (or one GET /v1/sla) asks for, as of
 * `now`: the same rows answer the same on every replica.
 */
export class RollupWindows {
  private readonly recent = new Map<string, RollupRow[]>();
  private readonly partnersByFlow = new Map<string, Set<string>>();

  private constructor(
    private readonly db: Db,
    private readonly now: number,
    private readonly scanMs: number,
  ) {}

  /** Reads the rollups of the windows up to SCAN_LIMIT_MS among `windowsMs` (at least five minutes: the partners with recent samples). */
  static async read(db: Db, now: number, windowsMs: number[]): Promise<RollupWindows> {
    const scanMs = Math.max(SHORTEST_SCAN_MS, ...windowsMs.filter((w) => w <= SCAN_LIMIT_MS));
    const windows = new RollupWindows(db, now, scanMs);
    for (const row of await db.$sql.all<RollupRow>(`SELECT ${ROW} FROM sla_rollups WHERE minute >= ?`, [windowStart(now, scanMs)])) {
      const key = `${row.flow}|${row.partner}|${row.metric}`;
      let rows = windows.recent.get(key);
      if (!rows) windows.recent.set(key, (rows = []));
      rows.push(row);
      let partners = windows.partnersByFlow.get(row.flow);
      if (!partners) windows.partnersByFlow.set(row.flow, (partners = new Set()));
      partners.add(row.partner);
    }
    return windows;
  }

  /** The partners with samples of a flow in the last five minutes (or the longest scanned window). */
  partners(flow: string): Iterable<string> {
    return this.partnersByFlow.get(flow) ?? [];
  }

  /** Every replica's samples of a flow, partner and metric over a window, merged. */
  async summary(flow: string, partner: string, metric: string, windowMs: number): Promise<Summary> {
    const from = windowStart(this.now, windowMs);
    const rows =
      windowMs <= this.scanMs
        ? (this.recent.get(`${flow}|${partner}|${metric}`) ?? []).filter((r) => r.minute >= from)
        : await this.db.$sql.all<RollupRow>(`SELECT ${ROW} FROM sla_rollups WHERE flow = ? AND partner = ? AND metric = ? AND minute >= ?`, [flow, partner, metric, from]);
    const total = emptySummary(metric);
    for (const row of rows) mergeSummary(total, rowSummary(row));
    return total;
  }

  /** A metric's value over a window (see measure). */
  async measure(flow: string, partner: string, metric: string, windowMs: number, p: number): Promise<Measurement> {
    return measure(await this.summary(flow, partner, metric, windowMs), metric, p);
  }
}
