import { Counter, Histogram, Registry } from 'prom-client';

/**
 * Accord's Prometheus metrics (prom-client), one registry per service. Labels are partner,
 * flow, step, operation and outcome; never ids.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly requestsInitiated = new Counter({ name: 'accord_requests_initiated_total', help: 'Transactions started, per partner and flow', labelNames: ['partner', 'flow'], registers: [this.registry] });
  readonly transactionsFinished = new Counter({ name: 'accord_transactions_finished_total', help: 'Transactions that reached completed, compensated or needs-attention', labelNames: ['partner', 'flow', 'state'], registers: [this.registry] });
  readonly stepDuration = new Histogram({
    name: 'accord_step_duration_seconds',
    help: 'Latency of one step attempt (partner call) of a flow',
    labelNames: ['partner', 'flow', 'step', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly retries = new Counter({ name: 'accord_retries_total', help: 'Step attempts scheduled again after a retryable failure', labelNames: ['partner', 'flow', 'step'], registers: [this.registry] });
  readonly compensations = new Counter({ name: 'accord_compensations_total', help: 'Compensations run, per outcome', labelNames: ['partner', 'flow', 'step', 'outcome'], registers: [this.registry] });
  readonly manualInterventions = new Counter({ name: 'accord_manual_interventions_total', help: 'Operator retries and compensations', labelNames: ['partner', 'flow', 'action'], registers: [this.registry] });
  readonly schemaDrift = new Counter({
    name: 'accord_schema_drift_total',
    help: 'Partner answers that do not match the contract (failure mode schema-drift)',
    labelNames: ['partner', 'operation'],
    registers: [this.registry],
  });
}
