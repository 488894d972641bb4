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

/*
 * Histogram buckets (upper bounds, seconds): few, and on the targets that matter, so that a scrape
 * stays under 60 KB with traffic through every operation of the reference network, failures, flows
 * and SLA metrics included (test/metrics-size.test.ts): every series costs a line per bucket.
 */
/** HTTP requests: 50 ms is the runtime's p99 target, 150 ms the p95 target of registrations and console pages; 10 s a partner timeout. */
export const HTTP_SECONDS = [0.01, 0.05, 0.15, 1, 10];
/** One partner call: 1 s is the first retry's delay, 10 s the matrix's usual step timeout. */
export const STEP_SECONDS = [0.1, 1, 10];
/** Time to acknowledge and to finalise: every SLA target of the control matrix (5 s, 10 s, 30 s, 1 min, 2 h) is a bound. */
export const SLA_SECONDS = [1, 5, 10, 30, 60, 7200];

/**
 * Accord's Prometheus metrics (prom-client), one registry per service: base units, `_total` on
 * counters, labels partner, flow, step, operation, outcome, method, route and status — never ids —
 * and prom-client's default process and Node.js metrics.
 * With telemetry off (ACCORD_TELEMETRY=off) every metric is a no-op and the registry is empty.
 */
export class Metrics {
  readonly registry = new Registry();
  /**
   * Observes a served request: counts it by method, route and status, and its duration by method
   * and route — an exchange request's per API and operation across partners and major lines (route
   * `/exchange/*`; a partner's own latency is accord_step_duration_seconds).
   */
  readonly httpDuration: { observe(labels: { method: string; route: string; status: number; exchange?: { api: string; operation: string } }, seconds: number): void };
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
    const histogram = (name: string, help: string, labelNames: string[], buckets: number[]): HistogramLike => (enabled ? new Histogram({ name, help, labelNames, buckets, registers }) : NOOP);
    // Status on the counter only: on the histogram it would multiply every route's buckets by its statuses.
    const duration = histogram('http_server_request_duration_seconds', 'Duration of HTTP requests served by Accord; exchange requests by API and operation', ['method', 'route', 'operation'], HTTP_SECONDS);
    const requests = counter('http_server_requests_total', 'HTTP requests served by Accord; exchange requests by partner, API line and operation', ['method', 'route', 'status']);
    this.httpDuration = {
      observe({ method, route, status, exchange }, seconds) {
        requests.inc({ method, route, status });
        duration.observe(exchange ? { method, route: '/exchange/*', operation: `${exchange.api} ${exchange.operation}` } : { method, route }, seconds);
      },
    };
    this.requestsInitiated = counter('accord_requests_initiated_total', 'Transactions started (saga starts and direct exchange requests of a flow)', ['partner', 'flow']);
    this.duplicates = counter('accord_duplicate_requests_total', 'Requests repeating an Idempotency-Key (duplicate rate = this / initiated); outcome replayed, in-flight or mismatch', ['partner', 'flow', 'outcome']);
    this.partnerResponses = counter('accord_partner_responses_total', 'Partner answers per step (acceptance rate = accepted / all); outcome accepted, rejected or error', ['partner', 'flow', 'step', 'outcome']);
    this.memberMatches = counter('accord_member_match_total', '$member-match answers; outcome matched or not-matched', ['partner', 'outcome']);
    this.timeToAcknowledge = histogram('accord_time_to_acknowledge_seconds', 'From a transaction start until the partner acknowledged it', ['partner', 'flow'], SLA_SECONDS);
    this.timeToFinalize = histogram('accord_time_to_finalize_seconds', 'From a transaction start until it completed', ['partner', 'flow'], SLA_SECONDS);
    this.transactionsFinished = counter('accord_transactions_finished_total', 'Transactions that reached completed, compensated or needs-attention', ['partner', 'flow', 'state']);
    this.stepDuration = histogram('accord_step_duration_seconds', 'Latency of one step attempt (partner call) of a flow', ['partner', 'flow', 'step', 'outcome'], STEP_SECONDS);
    this.retries = counter('accord_retries_total', 'Step attempts scheduled again after a retryable failure', ['partner', 'flow', 'step']);
    this.compensations = counter('accord_compensations_total', 'Compensations run, per outcome', ['partner', 'flow', 'step', 'outcome']);
    this.manualInterventions = counter('accord_manual_interventions_total', 'Operator retries and compensations', ['partner', 'flow', 'action']);
    this.schemaDrift = counter('accord_schema_drift_total', 'Partner answers that do not match the contract (failure mode schema-drift)', ['partner', 'operation']);
    this.syntheticChecks = counter('accord_synthetic_checks_total', 'Synthetic transactions run, per outcome (pass or fail)', ['partner', 'flow', 'outcome']);
    if (enabled) {
      // What every Node service exposes: process CPU, memory, file descriptors, event-loop lag, GC, heap.
      collectDefaultMetrics({ register: this.registry, gcDurationBuckets: [0.001, 0.01, 0.1, 1] });
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
