import type { Deps } from '../deps.ts';
import type { SlaMonitor } from '../observability/sla.ts';

/**
 * What one moment of a flow's transaction (a saga's, or a direct request's one-step one) tells
 * the metrics and the SLA monitor. Durations are seconds since the transaction started.
 */
export interface FlowObservation {
  flow: string;
  partner: string;
  /** A partner's answer to one step; status null when none came (a timeout). */
  answer?: { step: string; operationId: string | undefined; status: number | null; accepted: boolean };
  /** The partner acknowledged the transaction (a direct request: its answer; a saga: its acknowledgement step). */
  acknowledgedAfter?: number;
  /** The transaction completed. */
  finalizedAfter?: number;
  /**
   * A direct request: its times to acknowledge and to finalise are the caller's wait, which the
   * request-duration histogram (per operation) and the step's duration already hold, so only the
   * SLA monitor samples them (a third copy of each would triple the scrape per served operation).
   */
  direct?: boolean;
  /** The transaction ended (or was handed to a human): its one error-rate sample, 1 when it failed. */
  failed?: boolean;
  /** A human resolved the transaction it had been handed: seconds since it was handed over. */
  remediatedAfter?: number;
}

/**
 * The one place direct requests and sagas report partner answers and transaction milestones:
 * acceptance (accepted / rejected / error) and, for $member-match, matched or not; time to
 * acknowledge and to finalise (SLA samples; histograms for sagas); the error rate and the
 * remediation time the SLA monitor watches.
 */
export function observeFlow(deps: Pick<Deps, 'metrics' | 'clock'>, sla: Pick<SlaMonitor, 'record'>, o: FlowObservation): void {
  const { metrics } = deps;
  const labels = { partner: o.partner, flow: o.flow };
  const at = deps.clock().getTime();
  const answer = o.answer;
  if (answer && answer.status !== null) {
    const status = answer.status;
    metrics.partnerResponses.inc({ ...labels, step: answer.step, outcome: answer.accepted ? 'accepted' : status >= 500 || status === 429 ? 'error' : 'rejected' });
    if (answer.operationId === 'memberMatch' && (status === 200 || status === 422)) metrics.memberMatches.inc({ partner: o.partner, outcome: status === 200 ? 'matched' : 'not-matched' });
  }
  if (o.acknowledgedAfter !== undefined) {
    if (!o.direct) metrics.timeToAcknowledge.observe(labels, o.acknowledgedAfter);
    sla.record(o.flow, o.partner, 'timeToAcknowledge', o.acknowledgedAfter, at);
  }
  if (o.finalizedAfter !== undefined) {
    if (!o.direct) metrics.timeToFinalize.observe(labels, o.finalizedAfter);
    sla.record(o.flow, o.partner, 'timeToFinalize', o.finalizedAfter, at);
  }
  if (o.failed !== undefined) sla.record(o.flow, o.partner, 'errorRate', o.failed ? 1 : 0, at);
  if (o.remediatedAfter !== undefined) sla.record(o.flow, o.partner, 'remediationResponse', o.remediatedAfter, at);
}
