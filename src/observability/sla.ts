import { randomBytes } from 'node:crypto';
import { eq, isNull } from 'drizzle-orm';
import { appendAudit } from '../audit/log.ts';
import type { Deps } from '../deps.ts';
import { slaInterventions } from '../db/index.ts';
import { freezeReleases, liftFreeze } from '../gate/freezes.ts';
import type { FlowEntry } from '../matrix/checks.ts';
import { durationMs } from '../matrix/durations.ts';
import { SLA_METRICS } from '../matrix/schema.ts';
import { enqueueEvent } from '../notices/webhooks.ts';

/** What the monitor measures per flow and partner (the control matrix's SLA metrics plus errorRate). */
export const MONITORED_METRICS = [...SLA_METRICS, 'errorRate'] as const;
export type SlaMetric = (typeof MONITORED_METRICS)[number];

type Rule = FlowEntry['sla']['interventions'][number];
type InterventionRow = typeof slaInterventions.$inferSelect;

export const MAX_SAMPLES = 20_000;
const DEFAULT_WINDOW_MS = 5 * 60_000;

/** The p-th percentile (nearest rank) of values. */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * The newest MAX_SAMPLES timestamped samples of one flow, partner and metric, in a ring that
 * grows by doubling: recording is O(1) on the request path (an array trimmed from the front
 * moved every element once full).
 */
export class SampleRing {
  private at = new Float64Array(64);
  private values = new Float64Array(64);
  private next = 0;
  private size = 0;

  push(at: number, value: number): void {
    if (this.size === this.at.length && this.size < MAX_SAMPLES) this.grow();
    this.at[this.next] = at;
    this.values[this.next] = value;
    this.next = (this.next + 1) % this.at.length;
    if (this.size < this.at.length) this.size++;
  }

  /** The values recorded after `from` (ms). */
  since(from: number): Float64Array {
    const out = new Float64Array(this.size);
    let n = 0;
    const capacity = this.at.length;
    for (let i = 0, j = (this.next - this.size + capacity) % capacity; i < this.size; i++, j = (j + 1) % capacity) {
      if (this.at[j]! > from) out[n++] = this.values[j]!;
    }
    return out.subarray(0, n);
  }

  private grow(): void {
    const capacity = Math.min(this.at.length * 2, MAX_SAMPLES);
    const at = new Float64Array(capacity);
    const values = new Float64Array(capacity);
    // Full ring: oldest at `next`; unroll it to the start of the new arrays.
    for (let i = 0; i < this.size; i++) {
      const j = (this.next + i) % this.size;
      at[i] = this.at[j]!;
      values[i] = this.values[j]!;
    }
    this.at = at;
    this.values = values;
    this.next = this.size;
  }
}

function threshold(rule: Rule): number {
  return typeof rule.above === 'number' ? rule.above : durationMs(rule.above) / 1000;
}

/**
 * The SLA monitor: keeps sliding-window samples per flow, partner and metric (durations in
 * seconds, errors as 0/1), evaluates each flow's control-matrix intervention rules, and when a
 * rule stays breached for its `for` period applies its actions — throttle (new requests of that
 * flow and partner get 429 with Retry-After), pause-retries, freeze-releases (a release freeze
 * with the reason, so the gate fails for the partner), page-owner / open-ticket (a webhook event
 * naming the flow's owner). Recovery lifts them. Every application and lift is audited and kept
 * in sla_interventions, so interventions survive a restart (samples do not).
 */
export class SlaMonitor {
  private readonly samples = new Map<string, SampleRing>();
  private readonly breachSince = new Map<string, number>();
  private active = new Map<string, InterventionRow>();

  private constructor(
    private readonly deps: Deps,
    private readonly flows: () => Promise<FlowEntry[]>,
  ) {}

  /** A monitor with the interventions in force in the database. */
  static async open(deps: Deps, flows: () => Promise<FlowEntry[]>): Promise<SlaMonitor> {
    const monitor = new SlaMonitor(deps, flows);
    for (const row of await deps.db.select().from(slaInterventions).where(isNull(slaInterventions.liftedAt)).all()) monitor.active.set(`${row.flow}|${row.partner}|${row.rule}`, row);
    return monitor;
  }

  /** Adds one measurement (seconds for durations, 1/0 for errorRate). */
  record(flow: string, partner: string, metric: SlaMetric, value: number, at = this.deps.clock().getTime()): void {
    if (!this.deps.metrics.enabled) return;
    const key = `${flow}|${partner}|${metric}`;
    let ring = this.samples.get(key);
    if (!ring) this.samples.set(key, (ring = new SampleRing()));
    ring.push(at, value);
  }

  private actionsFor(flow: string, partner: string): Set<string> {
    const actions = new Set<string>();
    for (const row of this.active.values()) if (row.flow === flow && row.partner === partner) for (const a of JSON.parse(row.actions) as string[]) actions.add(a);
    return actions;
  }

  /** When new requests of this flow and partner are throttled: seconds to wait, else undefined. */
  throttled(flow: string, partner: string): number | undefined {
    if (this.active.size === 0) return undefined;
    return this.actionsFor(flow, partner).has('throttle') ? 30 : undefined;
  }

  /** Whether the saga engine must not retry steps of this flow and partner. */
  retriesPaused(flow: string, partner: string): boolean {
    return this.active.size > 0 && this.actionsFor(flow, partner).has('pause-retries');
  }

  /** The current value of a metric over a window: the percentile for durations, the mean for errorRate. */
  private value(flow: string, partner: string, metric: string, windowMs: number, p: number, now: number): { value: number; samples: number } {
    const values = this.samples.get(`${flow}|${partner}|${metric}`)?.since(now - windowMs);
    if (!values || values.length === 0) return { value: 0, samples: 0 };
    return { value: metric === 'errorRate' ? values.reduce((a, b) => a + b, 0) / values.length : percentile(values, p), samples: values.length };
  }

  private partners(flow: string): string[] {
    const partners = new Set<string>();
    for (const key of this.samples.keys()) if (key.startsWith(`${flow}|`)) partners.add(key.split('|')[1]!);
    for (const row of this.active.values()) if (row.flow === flow) partners.add(row.partner);
    return [...partners].sort();
  }

  /** Evaluates every rule of every flow for every partner with data; applies and lifts interventions. */
  async evaluate(): Promise<void> {
    const now = this.deps.clock().getTime();
    for (const flow of await this.flows()) {
      for (const partner of this.partners(flow.flow)) {
        for (const [index, rule] of flow.sla.interventions.entries()) {
          const key = `${flow.flow}|${partner}|${index}`;
          const { value, samples } = this.value(flow.flow, partner, rule.metric, durationMs(rule.window), rule.percentile ?? 95, now);
          const breached = samples > 0 && value > threshold(rule);
          if (breached) {
            if (!this.breachSince.has(key)) this.breachSince.set(key, now);
            if (!this.active.has(key) && now - this.breachSince.get(key)! >= durationMs(rule.for)) await this.apply(flow, partner, index, rule, value);
          } else {
            this.breachSince.delete(key);
            const row = this.active.get(key);
            if (row) await this.lift(flow, row, value);
          }
        }
      }
    }
  }

  private describe(flow: FlowEntry, partner: string, rule: Rule, value: number): string {
    const unit = rule.metric === 'errorRate' ? '' : ' s';
    return `SLA breach: ${flow.flow} at ${partner}: ${rule.metric}${rule.percentile ? ` p${rule.percentile}` : ''} ${value.toFixed(3)}${unit} above ${rule.above} over ${rule.window} for ${rule.for}`;
  }

  private async apply(flow: FlowEntry, partner: string, index: number, rule: Rule, value: number): Promise<void> {
    const now = this.deps.clock();
    const reason = this.describe(flow, partner, rule, value);
    const row = await this.deps.db.transaction(async (tx) => {
      const freeze = rule.actions.includes('freeze-releases') ? await freezeReleases({ db: tx as unknown as Deps['db'], clock: this.deps.clock }, 'accord-sla-monitor', { partner, reason }, 'sla') : undefined;
      const inserted = await tx
        .insert(slaInterventions)
        .values({ id: `sla_${randomBytes(8).toString('hex')}`, flow: flow.flow, partner, rule: index, metric: rule.metric, actions: JSON.stringify(rule.actions), value: String(value), threshold: String(rule.above), freezeId: freeze?.id ?? null, startedAt: now.toISOString(), liftedAt: null })
        .returning()
        .get();
      for (const action of rule.actions.filter((a) => a === 'page-owner' || a === 'open-ticket')) {
        await enqueueEvent(tx, now, `sla.${action}`, { flow: flow.flow, partner, owner: flow.owner, escalation: flow.escalation, metric: rule.metric, value, threshold: rule.above, reason, interventionId: inserted.id }, 'all');
      }
      return inserted;
    });
    this.active.set(`${flow.flow}|${partner}|${index}`, row);
    await appendAudit(this.deps, { actor: 'accord-sla-monitor', role: 'system', action: 'sla.intervention-applied', target: `${flow.flow}/${partner}`, outcome: 'ok', detail: { id: row.id, actions: rule.actions, metric: rule.metric, value, threshold: rule.above } });
    this.deps.logger.warn({ flow: flow.flow, partner, metric: rule.metric, value, actions: rule.actions, interventionId: row.id }, reason);
  }

  private async lift(flow: FlowEntry, row: InterventionRow, value: number): Promise<void> {
    const now = this.deps.clock();
    await this.deps.db.transaction(async (tx) => {
      await tx.update(slaInterventions).set({ liftedAt: now.toISOString() }).where(eq(slaInterventions.id, row.id)).run();
      if (row.freezeId) await liftFreeze({ db: tx as unknown as Deps['db'], clock: this.deps.clock }, row.freezeId);
      const actions = JSON.parse(row.actions) as string[];
      if (actions.includes('page-owner') || actions.includes('open-ticket')) await enqueueEvent(tx, now, 'sla.recovered', { flow: flow.flow, partner: row.partner, owner: flow.owner, metric: row.metric, value, interventionId: row.id }, 'all');
    });
    this.active.delete(`${row.flow}|${row.partner}|${row.rule}`);
    await appendAudit(this.deps, { actor: 'accord-sla-monitor', role: 'system', action: 'sla.intervention-lifted', target: `${row.flow}/${row.partner}`, outcome: 'ok', detail: { id: row.id, metric: row.metric, value } });
    this.deps.logger.info({ flow: row.flow, partner: row.partner, metric: row.metric, value, interventionId: row.id }, 'SLA recovered; intervention lifted');
  }

  /** Interventions in force (for /metrics and views). */
  activeInterventions(): InterventionRow[] {
    return [...this.active.values()];
  }

  /** GET /v1/sla: per flow and partner, the targets, current values, breaches and active interventions. */
  async status() {
    const now = this.deps.clock().getTime();
    const flows = await this.flows();
    return {
      evaluatedAt: new Date(now).toISOString(),
      flows: flows.map((flow) => {
        const { interventions, ...targets } = flow.sla;
        return {
          flow: flow.flow,
          owner: flow.owner,
          targets,
          rules: interventions,
          partners: this.partners(flow.flow).map((partner) => ({
            partner,
            current: Object.fromEntries(
              MONITORED_METRICS.map((metric) => {
                const p = metric === 'errorRate' ? 0 : (flow.sla[metric]?.percentile ?? 95);
                // Remediation is slow by nature: measured over a day, the rest over five minutes.
                const window = metric === 'remediationResponse' ? 86_400_000 : DEFAULT_WINDOW_MS;
                const { value, samples } = this.value(flow.flow, partner, metric, window, p, now);
                return [metric, { value, samples, window: metric === 'remediationResponse' ? 'P1D' : 'PT5M', ...(p ? { percentile: p } : {}) }];
              }),
            ),
            breaches: interventions
              .map((rule, index) => ({ rule: index, metric: rule.metric, since: this.breachSince.get(`${flow.flow}|${partner}|${index}`) }))
              .filter((b) => b.since !== undefined)
              .map((b) => ({ ...b, since: new Date(b.since!).toISOString() })),
            interventions: this.activeInterventions()
              .filter((r) => r.flow === flow.flow && r.partner === partner)
              .map((r) => ({ id: r.id, rule: r.rule, metric: r.metric, actions: JSON.parse(r.actions) as string[], value: Number(r.value), threshold: r.threshold, startedAt: r.startedAt, freezeId: r.freezeId })),
          })),
        };
      }),
    };
  }
}
