import { randomBytes } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import { appendAudit } from '../audit/log.ts';
import type { Deps } from '../deps.ts';
import { changesOf, LOCKS, slaInterventions } from '../db/index.ts';
import { onSignal } from '../db/signals.ts';
import { freezeReleases, liftFreeze } from '../gate/freezes.ts';
import type { FlowEntry } from '../matrix/checks.ts';
import { durationMs } from '../matrix/durations.ts';
import { SLA_METRICS } from '../matrix/schema.ts';
import { enqueueEvent } from '../notices/webhooks.ts';
import { auditBreachIncident, incidentForBreach } from '../incidents/incidents.ts';
import { awaitingApprovals } from '../runtime/compensation-approvals.ts';
import { RollupBuffer } from './sla-rollups.ts';
import { RollupWindows } from './sla-windows.ts';

/** What the monitor measures per flow and partner (the control matrix's SLA metrics plus errorRate). */
export const MONITORED_METRICS = [...SLA_METRICS, 'errorRate'] as const;
export type SlaMetric = (typeof MONITORED_METRICS)[number];

type Rule = FlowEntry['sla']['interventions'][number];
type InterventionRow = typeof slaInterventions.$inferSelect;

const DEFAULT_WINDOW_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

function threshold(rule: Rule): number {
  return typeof rule.above === 'number' ? rule.above : durationMs(rule.above) / 1000;
}

/**
 * The SLA monitor. Samples (durations in seconds, errors as 0/1) are rolled up per minute in
 * memory and flushed into sla_rollups, one row per replica (see RollupBuffer); evaluation reads
 * every replica's rows, so any replica sees the same breach. It evaluates each flow's
 * control-matrix intervention rules, and when a rule stays breached for its `for` period (since
 * when is kept in sla_breaches, so a new leader goes on counting) applies its actions — throttle
 * (new requests of that flow and partner get 429 with Retry-After), pause-retries,
 * freeze-releases (a release freeze with the reason, so the gate fails for the partner),
 * page-owner / open-ticket (a webhook event naming the flow's owner). Recovery lifts them. Every
 * application and lift is audited, kept in sla_interventions and signalled, so every replica's
 * throttles follow within a second and survive a restart.
 */
export class SlaMonitor {
  private readonly rollups: RollupBuffer;
  private active = new Map<string, InterventionRow>();
  private purgedAt = Number.NEGATIVE_INFINITY;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;

  private constructor(
    private readonly deps: Deps,
    private readonly flows: () => Promise<FlowEntry[]>,
  ) {
    this.rollups = new RollupBuffer(deps);
  }

  /** A monitor with the interventions in force in the database, reloaded whenever any replica applies or lifts one. */
  static async open(deps: Deps, flows: () => Promise<FlowEntry[]>): Promise<SlaMonitor> {
    const monitor = new SlaMonitor(deps, flows);
    monitor.active = await monitor.loadActive();
    // Signal handlers are process-wide: hold the monitor weakly, so a discarded one (a test's) is not kept alive.
    const ref = new WeakRef(monitor);
    const off = onSignal('sla-interventions', () => {
      const live = ref.deref();
      if (live) live.reloadSoon();
      else off();
    });
    return monitor;
  }

  private async loadActive(): Promise<Map<string, InterventionRow>> {
    const rows = await this.deps.db.select().from(slaInterventions).where(isNull(slaInterventions.liftedAt)).all();
    return new Map(rows.map((row) => [`${row.flow}|${row.partner}|${row.rule}`, row]));
  }

  /** Reloads the interventions in force, once more if asked again meanwhile (the last answer is then read after the last change). */
  private reloadSoon(): void {
    if (this.reloading) {
      this.reloadAgain = true;
      return;
    }
    this.reloading = (async () => {
      do {
        this.reloadAgain = false;
        try {
          this.active = await this.loadActive();
        } catch (error) {
          this.deps.logger.warn({ err: error }, 'could not reload the SLA interventions in force');
        }
      } while (this.reloadAgain);
    })().finally(() => (this.reloading = undefined));
  }

  /** Adds one measurement (seconds for durations, 1/0 for errorRate) to this minute's rollup in memory; nothing with telemetry off. */
  record(flow: string, partner: string, metric: SlaMetric, value: number, at = this.deps.clock().getTime()): void {
    if (!this.deps.metrics.enabled || !Number.isFinite(value)) return;
    this.rollups.add(flow, partner, metric, value, at);
  }

  /** Writes this replica's rollups with new samples to the database and forgets ended minutes (every replica's jobs loop calls it). */
  async flush(): Promise<void> {
    await this.rollups.flush();
  }

  /** Rollups held in memory (bounded by MAX_PENDING_ROLLUPS). */
  pendingRollups(): number {
    return this.rollups.size;
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

  private async breaches(): Promise<Map<string, number>> {
    const rows = await this.deps.db.$sql.all<{ flow: string; partner: string; rule: number; since: number }>('SELECT flow, partner, rule, since FROM sla_breaches');
    return new Map(rows.map((r) => [`${r.flow}|${r.partner}|${r.rule}`, r.since]));
  }

  /** The partners of a flow to look at: with recent samples, a breach or an intervention in force. */
  private partners(flow: string, windows: RollupWindows, breaches: Map<string, number>, active: Iterable<InterventionRow>): string[] {
    const partners = new Set(windows.partners(flow));
    for (const key of breaches.keys()) if (key.startsWith(`${flow}|`)) partners.add(key.split('|')[1]!);
    for (const row of active) if (row.flow === flow) partners.add(row.partner);
    return [...partners].sort();
  }

  /**
   * Evaluates every rule of every flow for every partner with data over every replica's rollups;
   * applies and lifts interventions. One replica at a time (the leader); it flushes its own
   * samples first.
   */
  async evaluate(): Promise<void> {
    await this.flush();
    this.active = await this.loadActive();
    const now = this.deps.clock().getTime();
    const flows = await this.flows();
    const windows = await RollupWindows.read(this.deps.db, now, flows.flatMap((f) => f.sla.interventions.map((rule) => durationMs(rule.window))));
    const breaches = await this.breaches();
    // compensationApprovalWait is read live: the oldest compensation awaiting approval, per flow and partner.
    const waits = new Map((await awaitingApprovals(this.deps.db)).map((r) => [`${r.flow}|${r.partner}`, Math.max(0, (now - Date.parse(r.oldest)) / 1000)]));
    for (const flow of flows) {
      const waiting = [...waits.keys()].filter((k) => k.startsWith(`${flow.flow}|`)).map((k) => k.slice(flow.flow.length + 1));
      for (const partner of [...new Set([...this.partners(flow.flow, windows, breaches, this.active.values()), ...waiting])].sort()) {
        for (const [index, rule] of flow.sla.interventions.entries()) {
          const key = `${flow.flow}|${partner}|${index}`;
          const wait = waits.get(`${flow.flow}|${partner}`);
          const { value, samples } =
            rule.metric === 'compensationApprovalWait' ? { value: wait ?? 0, samples: wait === undefined ? 0 : 1 } : await windows.measure(flow.flow, partner, rule.metric, durationMs(rule.window), rule.percentile ?? 95);
          if (samples > 0 && value > threshold(rule)) {
            let since = breaches.get(key);
            if (since === undefined) {
              since = now;
              await this.deps.db.$sql.run('INSERT INTO sla_breaches (flow, partner, rule, since) VALUES (?, ?, ?, ?) ON CONFLICT (flow, partner, rule) DO NOTHING', [flow.flow, partner, index, now]);
            }
            if (!this.active.has(key) && now - since >= durationMs(rule.for)) await this.apply(flow, partner, index, rule, value);
          } else {
            if (breaches.has(key)) await this.deps.db.$sql.run('DELETE FROM sla_breaches WHERE flow = ? AND partner = ? AND rule = ?', [flow.flow, partner, index]);
            const row = this.active.get(key);
            if (row) await this.lift(flow, row, value);
          }
        }
      }
    }
  }

  /**
   * Deletes rollups older than ACCORD_SLA_ROLLUP_RETENTION and the breaches of rules the matrix no
   * longer has (evaluate() deletes those of rules no longer breached). The leader's jobs call it.
   */
  async purge(): Promise<void> {
    // Minutes age out a minute at a time: once a minute is enough (the leader's jobs tick every second).
    const now = this.deps.clock().getTime();
    if (now - this.purgedAt < 60_000) return;
    this.purgedAt = now;
    await this.deps.db.$sql.run('DELETE FROM sla_rollups WHERE minute < ?', [this.deps.clock().getTime() - this.deps.config.slaRollupRetentionMs]);
    const rules = new Map((await this.flows()).map((f) => [f.flow, f.sla.interventions.length]));
    for (const b of await this.deps.db.$sql.all<{ flow: string; partner: string; rule: number }>('SELECT flow, partner, rule FROM sla_breaches')) {
      if (b.rule >= (rules.get(b.flow) ?? 0)) await this.deps.db.$sql.run('DELETE FROM sla_breaches WHERE flow = ? AND partner = ? AND rule = ?', [b.flow, b.partner, b.rule]);
    }
  }

  private describe(flow: FlowEntry, partner: string, rule: Rule, value: number): string {
    const unit = rule.metric === 'errorRate' ? '' : ' s';
    return `SLA breach: ${flow.flow} at ${partner}: ${rule.metric}${rule.percentile ? ` p${rule.percentile}` : ''} ${value.toFixed(3)}${unit} above ${rule.above} over ${rule.window} for ${rule.for}`;
  }

  private async apply(flow: FlowEntry, partner: string, index: number, rule: Rule, value: number): Promise<void> {
    const now = this.deps.clock();
    const reason = this.describe(flow, partner, rule, value);
    let incident: Awaited<ReturnType<typeof incidentForBreach>> | undefined;
    const row = await this.deps.db.transaction(async (tx) => {
      await tx.$serialize(LOCKS.slaIntervention);
      // Another evaluation (the previous leader's last run) may have applied it meanwhile.
      const open = await tx.$sql.value('SELECT id FROM sla_interventions WHERE flow = ? AND partner = ? AND rule = ? AND lifted_at IS NULL', [flow.flow, partner, index]);
      if (open !== undefined) return undefined;
      const freeze = rule.actions.includes('freeze-releases') ? await freezeReleases({ db: tx as unknown as Deps['db'], clock: this.deps.clock }, 'accord-sla-monitor', { partner, reason }, 'sla') : undefined;
      const inserted = await tx
        .insert(slaInterventions)
        .values({ id: `sla_${randomBytes(8).toString('hex')}`, flow: flow.flow, partner, rule: index, metric: rule.metric, actions: JSON.stringify(rule.actions), value: String(value), threshold: String(rule.above), freezeId: freeze?.id ?? null, startedAt: now.toISOString(), liftedAt: null })
        .returning()
        .get();
      for (const action of rule.actions.filter((a) => a === 'page-owner' || a === 'open-ticket')) {
        await enqueueEvent(tx, now, `sla.${action}`, { flow: flow.flow, partner, owner: flow.owner, escalation: flow.escalation, metric: rule.metric, value, threshold: rule.above, reason, interventionId: inserted.id }, 'all');
      }
      // An incident covers the breach, opened or joined in this transaction (src/incidents).
      incident = await incidentForBreach(tx, this.deps, { flow: flow.flow, partner, api: flow.contract.api, rule: index, interventionId: inserted.id, reason });
      await tx.$signal('sla-interventions');
      return inserted;
    });
    if (!row) return;
    if (incident) await auditBreachIncident(this.deps, incident, row.id);
    this.active.set(`${flow.flow}|${partner}|${index}`, row);
    await appendAudit(this.deps, { actor: 'accord-sla-monitor', role: 'system', action: 'sla.intervention-applied', target: `${flow.flow}/${partner}`, outcome: 'ok', detail: { id: row.id, actions: rule.actions, metric: rule.metric, value, threshold: rule.above } });
    this.deps.logger.warn({ flow: flow.flow, partner, metric: rule.metric, value, actions: rule.actions, interventionId: row.id }, reason);
  }

  private async lift(flow: FlowEntry, row: InterventionRow, value: number): Promise<void> {
    const now = this.deps.clock();
    const lifted = await this.deps.db.transaction(async (tx) => {
      await tx.$serialize(LOCKS.slaIntervention);
      const result = await tx.update(slaInterventions).set({ liftedAt: now.toISOString() }).where(and(eq(slaInterventions.id, row.id), isNull(slaInterventions.liftedAt))).run();
      if (changesOf(result) === 0) return false; // lifted by another evaluation meanwhile
      if (row.freezeId) await liftFreeze({ db: tx as unknown as Deps['db'], clock: this.deps.clock }, row.freezeId);
      const actions = JSON.parse(row.actions) as string[];
      if (actions.includes('page-owner') || actions.includes('open-ticket')) await enqueueEvent(tx, now, 'sla.recovered', { flow: flow.flow, partner: row.partner, owner: flow.owner, metric: row.metric, value, interventionId: row.id }, 'all');
      await tx.$signal('sla-interventions');
      return true;
    });
    this.active.delete(`${row.flow}|${row.partner}|${row.rule}`);
    if (!lifted) return;
    await appendAudit(this.deps, { actor: 'accord-sla-monitor', role: 'system', action: 'sla.intervention-lifted', target: `${row.flow}/${row.partner}`, outcome: 'ok', detail: { id: row.id, metric: row.metric, value } });
    this.deps.logger.info({ flow: row.flow, partner: row.partner, metric: row.metric, value, interventionId: row.id }, 'SLA recovered; intervention lifted');
  }

  /** Interventions in force as this replica knows them (for /metrics and views). */
  activeInterventions(): InterventionRow[] {
    return [...this.active.values()];
  }

  /**
   * GET /v1/sla: per flow and partner, the targets, current values, breaches and active
   * interventions, from the database (this replica's samples flushed first), so every replica
   * answers the same.
   */
  async status() {
    await this.flush();
    const now = this.deps.clock().getTime();
    const windows = await RollupWindows.read(this.deps.db, now, [DEFAULT_WINDOW_MS]);
    const breaches = await this.breaches();
    const active = [...(await this.loadActive()).values()];
    const flows = [];
    for (const flow of await this.flows()) {
      const { interventions, ...targets } = flow.sla;
      const partners = [];
      for (const partner of this.partners(flow.flow, windows, breaches, active)) {
        const current = {} as Record<SlaMetric, { value: number; samples: number; window: string; percentile?: number }>;
        for (const metric of MONITORED_METRICS) {
          const p = metric === 'errorRate' ? 0 : (flow.sla[metric]?.percentile ?? 95);
          // Remediation is slow by nature: measured over a day, the rest over five minutes.
          const long = metric === 'remediationResponse';
          const { value, samples } = await windows.measure(flow.flow, partner, metric, long ? DAY_MS : DEFAULT_WINDOW_MS, p);
          current[metric] = { value, samples, window: long ? 'P1D' : 'PT5M', ...(p ? { percentile: p } : {}) };
        }
        partners.push({
          partner,
          current,
          breaches: interventions
            .map((rule, index) => ({ rule: index, metric: rule.metric, since: breaches.get(`${flow.flow}|${partner}|${index}`) }))
            .filter((b) => b.since !== undefined)
            .map((b) => ({ ...b, since: new Date(b.since!).toISOString() })),
          interventions: active
            .filter((r) => r.flow === flow.flow && r.partner === partner)
            .map((r) => ({ id: r.id, rule: r.rule, metric: r.metric, actions: JSON.parse(r.actions) as string[], value: Number(r.value), threshold: r.threshold, startedAt: r.startedAt, freezeId: r.freezeId })),
        });
      }
      flows.push({ flow: flow.flow, owner: flow.owner, targets, rules: interventions, partners });
    }
    return { evaluatedAt: new Date(now).toISOString(), flows };
  }
}
