import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

type Labels = Record<string, string | number>;

/** What the runtime calls on a metric; a disabled service gets no-op stand-ins. */
export interface CounterLike {
  inc(labels: Labels, value?: number): void;
}
export interface HistogramLike {
  observe(labels: Labels, value: number): void;
}

const NOOP = { inc() {}, observe() {}, set() {} };

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200];

/**
 * Accord's Prometheus metrics (prom-client), one registry per service: base units, `_total` on
 * counters, labels partner, flow, step, operation, outcome, method, route and status — never ids —
 * and prom-client's default process and Node.js metrics.
 * With telemetry off (ACCORD_TELEMETRY=off) every metric is a no-op and the registry is empty.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: HistogramLike;
  readonly requestsInitiated: CounterLike;
  readonly duplicates: CounterLike;
  readonly partnerResponses: CounterLike;
  readonly memberMatches: CounterLike;
  readonly timeToAcknowledge: HistogramLike;
  readonly timeToFinalize: HistogramLike;
  readonly transactionsFinished: CounterLike;
  readonly stepDuration: HistogramLike;
  readonly retries: CounterLike;
  readonly compensations: CounterLike;
  readonly manualInterventions: CounterLike;
  readonly schemaDrift: CounterLike;
  readonly syntheticChecks: CounterLike;

  constructor(
    readonly enabled = true,
    /** Collected on scrape: transactions not yet finished, and active SLA interventions. */
    collect: {
      inFlight?: () => Promise<Array<{ partner: string; flow: string; count: number }>>;
      interventions?: () => Promise<Array<{ partner: string; flow: string; action: string }>>;
      awaitingApproval?: () => Promise<Array<{ partner: string; flow: string; count: number }>>;
    } = {},
  ) {
    const registers = [this.registry];
    const counter = (name: string, help: string, labelNames: string[]): CounterLike => (enabled ? new Counter({ name, help, labelNames, registers }) : NOOP);
    const histogram = (name: string, help: string, labelNames: string[], buckets = SECONDS): HistogramLike => (enabled ? new Histogram({ name, help, labelNames, buckets, registers }) : NOOP);
    this.httpDuration = histogram('http_server_request_duration_seconds', 'Duration of HTTP requests served by Accord', ['method', 'route', 'status']);
    this.requestsInitiated = counter('accord_requests_initiated_total', 'Transactions started (saga starts and direct exchange requests of a flow)', ['partner', 'flow']);
    this.duplicates = counter('accord_duplicate_requests_total', 'Requests repeating an Idempotency-Key (duplicate rate = this / initiated); outcome replayed, in-flight or mismatch', ['partner', 'flow', 'outcome']);
    this.partnerResponses = counter('accord_partner_responses_total', 'Partner answers per step (acceptance rate = accepted / all); outcome accepted, rejected or error', ['partner', 'flow', 'step', 'outcome']);
    this.memberMatches = counter('accord_member_match_total', '$member-match answers; outcome matched or not-matched', ['partner', 'outcome']);
    this.timeToAcknowledge = histogram('accord_time_to_acknowledge_seconds', 'From a transaction start until the partner acknowledged it', ['partner', 'flow']);
    this.timeToFinalize = histogram('accord_time_to_finalize_seconds', 'From a transaction start until it completed', ['partner', 'flow']);
    this.transactionsFinished = counter('accord_transactions_finished_total', 'Transactions that reached completed, compensated or needs-attention', ['partner', 'flow', 'state']);
    this.stepDuration = histogram('accord_step_duration_seconds', 'Latency of one step attempt (partner call) of a flow', ['partner', 'flow', 'step', 'outcome']);
    this.retries = counter('accord_retries_total', 'Step attempts scheduled again after a retryable failure', ['partner', 'flow', 'step']);
    this.compensations = counter('accord_compensations_total', 'Compensations run, per outcome', ['partner', 'flow', 'step', 'outcome']);
    this.manualInterventions = counter('accord_manual_interventions_total', 'Operator retries and compensations', ['partner', 'flow', 'action']);
    this.schemaDrift = counter('accord_schema_drift_total', 'Partner answers that do not match the contract (failure mode schema-drift)', ['partner', 'operation']);
    this.syntheticChecks = counter('accord_synthetic_checks_total', 'Synthetic transactions run, per outcome (pass or fail)', ['partner', 'flow', 'outcome']);
    if (enabled) {
      // What every Node service exposes: process CPU, memory, file descriptors, event-loop lag, GC, heap.
      collectDefaultMetrics({ register: this.registry });
      new Gauge({
        name: 'accord_transactions_in_flight',
        help: 'Unresolved transactions (not completed or compensated), including those waiting for an operator',
        labelNames: ['partner', 'flow'],
        registers,
        async collect() {
          const rows = (await collect.inFlight?.()) ?? [];
          this.reset();
          for (const row of rows) this.set({ partner: row.partner, flow: row.flow }, row.count);
        },
      });
      new Gauge({
        name: 'accord_sla_interventions_active',
        help: 'SLA interventions in force',
        labelNames: ['partner', 'flow', 'action'],
        registers,
        async collect() {
          const rows = (await collect.interventions?.()) ?? [];
          this.reset();
          for (const row of rows) this.inc({ partner: row.partner, flow: row.flow, action: row.action });
        },
      });
      new Gauge({
        name: 'accord_compensations_awaiting_approval',
        help: 'Compensations waiting for an operator to approve or reject them (matrix: compensation.approval required)',
        labelNames: ['partner', 'flow'],
        registers,
        async collect() {
          const rows = (await collect.awaitingApproval?.()) ?? [];
          this.reset();
          for (const row of rows) this.set({ partner: row.partner, flow: row.flow }, row.count);
        },
      });
    }
  }
}
