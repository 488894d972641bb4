import type { Deps } from '../deps.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import { addCell, bucketStart, emptyCell, latencyPercentile, OPS_TIERS, parseCell, type OpsCell, type OpsTier } from './ops-cells.ts';
import { awaitingApprovals } from '../runtime/compensation-approvals.ts';

/** The windows the overview offers, their length and the tier drawn (ADR 0025: at most ~170 points per chart). */
export const OVERVIEW_WINDOWS = {
  PT15M: { ms: 15 * 60_000, tier: 'minute', label: 'last 15 minutes' },
  PT1H: { ms: 3_600_000, tier: 'minute', label: 'last hour' },
  P1D: { ms: 86_400_000, tier: 'hour', label: 'last 24 hours' },
  P7D: { ms: 7 * 86_400_000, tier: 'hour', label: 'last 7 days' },
  P30D: { ms: 30 * 86_400_000, tier: 'day', label: 'last 30 days' },
} as const satisfies Record<string, { ms: number; tier: OpsTier; label: string }>;
export type OverviewWindow = keyof typeof OVERVIEW_WINDOWS;
export const OVERVIEW_WINDOW_NAMES = Object.keys(OVERVIEW_WINDOWS) as OverviewWindow[];

/** The charts of the overview: id, title, unit (count, ratio 0..1, seconds). */
export const OVERVIEW_METRICS = [
  { id: 'requestsInitiated', title: 'Requests initiated', unit: 'count' },
  { id: 'duplicateRate', title: 'Duplicate rate (replayed repeats / initiated)', unit: 'ratio' },
  { id: 'acceptanceRate', title: 'Partner acceptance rate (accepted / answered)', unit: 'ratio' },
  { id: 'identityMatchRate', title: 'Identity-match success (matched / member-match answers)', unit: 'ratio' },
  { id: 'timeToAcknowledge', title: 'Time to acknowledge (p50, p95, p99)', unit: 'seconds' },
  { id: 'timeToFinalise', title: 'Time to finalise (p50, p95, p99)', unit: 'seconds' },
  { id: 'compensations', title: 'Compensations started', unit: 'count' },
  { id: 'manualInterventions', title: 'Manual interventions (operator actions)', unit: 'count' },
  { id: 'inFlight', title: 'Unresolved in flight (at bucket end)', unit: 'count' },
] as const;
export type OverviewMetricId = (typeof OVERVIEW_METRICS)[number]['id'];

/** One line of a chart: a name (`value`, or `p50`/`p95`/`p99`) and its points [bucket start, value or null when nothing was measured]. */
export interface OverviewSeries {
  name: string;
  points: Array<[string, number | null]>;
}

/** The overview of a window: per metric its series and total, the tier drawn and the links to the transactions behind it. */
export interface Overview {
  window: OverviewWindow;
  tier: OpsTier;
  from: string;
  to: string;
  flow: string | null;
  partner: string | null;
  charts: Array<{ metric: OverviewMetricId; title: string; unit: string; series: OverviewSeries[]; total: Record<string, number | null> }>;
  /** Compensations waiting for an operator now (compensation_approvals in `awaiting`), of the flow and partner when given. */
  compensationsAwaitingApproval: number;
  links: { transactions: string; console: string };
}

const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

/**
 * The overview's series from the persisted rollups: the buckets of the window's tier from the start
 * of the bucket holding `now − window` to now, for one flow and/or partner or the totals; missing
 * buckets count zero (rates and percentiles: null). Totals sum the counters and merge the
 * histograms (percentiles across buckets); in-flight's total is the latest level.
 */
export async function readOverview(deps: Pick<Deps, 'db' | 'clock' | 'config'>, query: { window: OverviewWindow; flow?: string; partner?: string }): Promise<Overview> {
  const { ms, tier } = OVERVIEW_WINDOWS[query.window];
  const now = deps.clock().getTime();
  const step = OPS_TIERS[tier];
  const first = Date.parse(bucketStart(tier, now - ms + step));
  const from = new Date(first).toISOString();
  const rows = await deps.db.$sql.all<{ bucket: string; counts: string; histograms: string; inFlight: number }>(
    'SELECT bucket, counts, histograms, in_flight AS "inFlight" FROM ops_rollups WHERE tier = ? AND partner = ? AND flow = ? AND bucket >= ? ORDER BY bucket',
    [tier, query.partner ?? '*', query.flow ?? '*', from],
  );
  const byBucket = new Map(rows.map((r) => [r.bucket, parseCell(r.counts, r.histograms, Number(r.inFlight))]));
  const buckets: string[] = [];
  for (let t = first; t <= now; t += step) buckets.push(new Date(t).toISOString());
  const cells = buckets.map((b) => byBucket.get(b));
  const total = emptyCell();
  for (const c of cells) if (c) addCell(total, c);
  const latest = [...cells].reverse().find((c) => c !== undefined);
  total.inFlight = latest?.inFlight ?? 0;

  const line = (name: string, value: (c: OpsCell) => number | null, missing: number | null = 0): OverviewSeries => ({ name, points: buckets.map((b, i) => [b, cells[i] ? value(cells[i]) : missing]) });
  const percentiles = (of: 'timeToAcknowledge' | 'timeToFinalise') => ({
    series: [50, 95, 99].map((p) => line(`p${p}`, (c) => latencyPercentile(c.histograms[of], p), null)),
    total: { p50: latencyPercentile(total.histograms[of], 50), p95: latencyPercentile(total.histograms[of], 95), p99: latencyPercentile(total.histograms[of], 99), samples: total.histograms[of].count },
  });
  const values: Record<OverviewMetricId, { series: OverviewSeries[]; total: Record<string, number | null> }> = {
    requestsInitiated: { series: [line('value', (c) => c.counts.initiated)], total: { value: total.counts.initiated } },
    duplicateRate: { series: [line('value', (c) => ratio(c.counts.duplicates, c.counts.initiated), null)], total: { value: ratio(total.counts.duplicates, total.counts.initiated), duplicates: total.counts.duplicates } },
    acceptanceRate: {
      series: [line('value', (c) => ratio(c.counts.accepted, c.counts.accepted + c.counts.refused), null)],
      total: { value: ratio(total.counts.accepted, total.counts.accepted + total.counts.refused), accepted: total.counts.accepted, refused: total.counts.refused },
    },
    identityMatchRate: {
      series: [line('value', (c) => ratio(c.counts.identityMatched, c.counts.identityAttempts), null)],
      total: { value: ratio(total.counts.identityMatched, total.counts.identityAttempts), matched: total.counts.identityMatched, attempts: total.counts.identityAttempts },
    },
    timeToAcknowledge: percentiles('timeToAcknowledge'),
    timeToFinalise: percentiles('timeToFinalise'),
    compensations: { series: [line('value', (c) => c.counts.compensations)], total: { value: total.counts.compensations } },
    manualInterventions: { series: [line('value', (c) => c.counts.manualInterventions)], total: { value: total.counts.manualInterventions } },
    inFlight: { series: [line('value', (c) => c.inFlight)], total: { value: total.inFlight } },
  };
  const to = new Date(now).toISOString();
  const awaiting = (await awaitingApprovals(deps.db)).filter((r) => (!query.flow || r.flow === query.flow) && (!query.partner || r.partner === query.partner)).reduce((n, r) => n + r.count, 0);
  const params = new URLSearchParams();
  if (query.flow) params.set('flow', query.flow);
  if (query.partner) params.set('partner', query.partner);
  params.set('from', from);
  params.set('to', to);
  return {
    window: query.window,
    tier,
    from,
    to,
    flow: query.flow ?? null,
    partner: query.partner ?? null,
    charts: OVERVIEW_METRICS.map((m) => ({ metric: m.id, title: m.title, unit: m.unit, ...values[m.id] })),
    compensationsAwaitingApproval: awaiting,
    links: { transactions: absoluteUrl(deps.config, `/v1/transactions?${params}`), console: `/console/operations/transactions?${params}` },
  };
}
