import type { FlowEntry, Step } from '../../matrix/checks.ts';
import { durationMs } from '../../matrix/durations.ts';

/**
 * The retry and failure policy of flow steps, as pure functions of the control matrix and a
 * partner's answer: how an answer reads, whether to retry and after how long, and what a
 * failure leads to. The saga engine and the direct-request record both follow it.
 */

/** How one partner call ended, in the engine's terms. */
export interface Outcome {
  kind: 'succeeded' | 'retry' | 'failed';
  status: number | null;
  /** answered | timeout | partial-write | injected-error | pending | not-served | invalid-request | nothing-to-undo */
  result: string;
  failureMode?: string;
  detail?: string;
  /** Whether the partner may have acted although the call failed (compensate the step itself). */
  mayHaveActed?: boolean;
}

/** What counts of an attempt's outcome, and the wait before the next attempt when it is retried. */
export interface Decision {
  final: Outcome;
  delay: number;
}

/** The engine's reading of a partner's answer. */
export function classify(operationId: string, method: string, status: number, result: string): Outcome {
  if (status >= 200 && status < 300) {
    if (method === 'GET' && status === 202) return { kind: 'retry', status, result: 'pending', failureMode: 'delayed-event-propagation', detail: 'still in progress' };
    return { kind: 'succeeded', status, result };
  }
  if (status === 429 || status >= 500) return { kind: 'retry', status, result, failureMode: 'partner-timeout', detail: `partner answered ${status}` };
  if (operationId === 'memberMatch' && status === 422) return { kind: 'failed', status, result, failureMode: 'member-mismatch', detail: 'no single member matched' };
  return { kind: 'failed', status, result, failureMode: 'downstream-validation-error', detail: `partner refused the request with ${status}` };
}

/** Milliseconds before attempt n+1 after n failed: exponential, capped, with ± jitter. */
export function backoffDelayMs(retry: Step['retry'], attempt: number, random = Math.random): number {
  const base = Math.min(durationMs(retry.initial) * retry.multiplier ** (attempt - 1), durationMs(retry.max));
  return Math.max(0, Math.round(base * (1 + retry.jitter * (2 * random() - 1))));
}

/**
 * Retry, or give up once the step's attempts are used (or an SLA intervention paused retries):
 * the outcome that counts and the backoff before the next attempt, scaled by the transaction's
 * time scale (parts per million).
 */
export function decide(outcome: Outcome, attempts: number, step: Step, timeScalePpm: number, retriesPaused = false, random = Math.random): Decision {
  if (outcome.kind !== 'retry') return { final: outcome, delay: 0 };
  if (retriesPaused) return { final: { ...outcome, kind: 'failed', detail: `${outcome.detail ?? outcome.result}; retries paused by an SLA intervention` }, delay: 0 };
  if (attempts >= step.retry.maxAttempts) return { final: { ...outcome, kind: 'failed', detail: `${outcome.detail ?? outcome.result}; gave up after ${attempts} attempts` }, delay: 0 };
  return { final: outcome, delay: backoffDelayMs(step.retry, attempts, random) * (timeScalePpm / 1_000_000) };
}

/** What a step failure leads to, per the flow's failure modes: a human's review (manual-review, reconcile) or compensation. */
export function failureAction(flowEntry: FlowEntry, failureMode: string | undefined): 'compensate' | 'needs-attention' {
  const action = flowEntry.failureModes[failureMode ?? '']?.action;
  return action === 'manual-review' || action === 'reconcile' ? 'needs-attention' : 'compensate';
}

/** Whether a step has something to undo it: a compensating operation or a reversal event (not `strategy: none`). */
export function isCompensable(step: Step): boolean {
  return Boolean(step.compensation.operationId) || step.compensation.strategy === 'reversal-event';
}

/** A compensation's outcome: nothing left to undo (the partner answers 404, it never kept the thing) counts as compensated. */
export function compensationOutcome(outcome: Outcome): Outcome {
  return outcome.kind === 'failed' && outcome.status === 404 ? { ...outcome, kind: 'succeeded', result: 'nothing-to-undo' } : outcome;
}

/** The step whose success means the partner acknowledged the transaction: an acknowledgement step, else the first. */
export function acknowledgingStep(flowEntry: FlowEntry): Step {
  return flowEntry.steps.find((s) => /acknowledg/i.test(s.operationId)) ?? flowEntry.steps[0]!;
}
