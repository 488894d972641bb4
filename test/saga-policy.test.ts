import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseYaml } from '../src/lib/yaml.ts';
import type { FlowEntry, Step } from '../src/matrix/checks.ts';
import { acknowledgingStep, backoffDelayMs, classify, compensationOutcome, decide, failureAction, isCompensable, type Outcome } from '../src/runtime/saga/policy.ts';
import { prng } from './prng.ts';

/** The reference network's flows, as the control matrix registers them. */
const flow = (name: string) => parseYaml(fs.readFileSync(new URL(`../control-matrix/${name}.yaml`, import.meta.url), 'utf8'), { maxAliases: 100 }) as unknown as FlowEntry;
const exportFlow = flow('payer-data-export');
const step = (id: string): Step => exportFlow.steps.find((s) => s.id === id)!;
const middle = () => 0.5;

describe('retry and failure policy', () => {
  it('reads a partner answer: 2xx succeeds (a poll answering 202 is pending), 429 and 5xx are retried, other 4xx fail with their failure mode', () => {
    expect(classify('captureConsent', 'POST', 201, 'answered')).toEqual({ kind: 'succeeded', status: 201, result: 'answered' });
    expect(classify('requestDataExport', 'POST', 202, 'answered')).toEqual({ kind: 'succeeded', status: 202, result: 'answered' });
    expect(classify('getExportStatus', 'GET', 202, 'answered')).toEqual({ kind: 'retry', status: 202, result: 'pending', failureMode: 'delayed-event-propagation', detail: 'still in progress' });
    expect(classify('getExportStatus', 'GET', 200, 'answered').kind).toBe('succeeded');
    for (const status of [429, 500, 503]) expect(classify('captureConsent', 'POST', status, 'injected error-status')).toEqual({ kind: 'retry', status, result: 'injected error-status', failureMode: 'partner-timeout', detail: `partner answered ${status}` });
    expect(classify('memberMatch', 'POST', 422, 'answered')).toEqual({ kind: 'failed', status: 422, result: 'answered', failureMode: 'member-mismatch', detail: 'no single member matched' });
    expect(classify('captureConsent', 'POST', 422, 'answered')).toEqual({ kind: 'failed', status: 422, result: 'answered', failureMode: 'downstream-validation-error', detail: 'partner refused the request with 422' });
    expect(classify('memberMatch', 'POST', 400, 'answered').failureMode).toBe('downstream-validation-error');
    expect(classify('readConsent', 'GET', 404, 'answered').kind).toBe('failed');
  });

  it('backs off exponentially up to the cap, with jitter inside ± the configured share', () => {
    const retry = { maxAttempts: 5, initial: 'PT1S', multiplier: 2, max: 'PT8S', jitter: 0.2 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(retry, n, () => 0.5))).toEqual([1000, 2000, 4000, 8000, 8000]);
    expect(backoffDelayMs(retry, 1, () => 0)).toBe(800);
    expect(backoffDelayMs(retry, 1, () => 0.999999)).toBe(1200);
    const random = prng(7);
    for (let i = 0; i < 1000; i++) {
      const d = backoffDelayMs(retry, 3, random);
      expect(d).toBeGreaterThanOrEqual(3200);
      expect(d).toBeLessThanOrEqual(4800);
    }
  });

  it('retries a retryable outcome with the scaled backoff until the step has used its attempts, then gives up', () => {
    const export_ = step('request-export'); // maxAttempts 4, PT2S × 2, capped at PT30S
    const busy = classify('requestDataExport', 'POST', 503, 'answered');
    expect(decide(busy, 1, export_, 1_000_000, false, middle)).toEqual({ final: busy, delay: 2000 });
    expect(decide(busy, 3, export_, 1_000_000, false, middle)).toEqual({ final: busy, delay: 8000 });
    // ACCORD_SAGA_TIME_SCALE 0.001 is stored as 1000 ppm: 8 s of backoff become 8 ms
    expect(decide(busy, 3, export_, 1000, false, middle).delay).toBeCloseTo(8, 9);
    expect(decide(busy, 1, export_, 1_000_000, false, () => 0).delay).toBe(1600);
    expect(decide(busy, 4, export_, 1_000_000, false, middle)).toEqual({ final: { ...busy, kind: 'failed', detail: 'partner answered 503; gave up after 4 attempts' }, delay: 0 });
    const timeout: Outcome = { kind: 'retry', status: null, result: 'timeout', failureMode: 'partner-timeout', mayHaveActed: true };
    expect(decide(timeout, 9, export_, 1_000_000, false, middle).final).toEqual({ ...timeout, kind: 'failed', detail: 'timeout; gave up after 9 attempts' });
  });

  it('gives up at the first retryable failure while an SLA intervention pauses retries; final outcomes pass through', () => {
    const busy = classify('captureConsent', 'POST', 429, 'answered');
    expect(decide(busy, 1, step('capture-consent'), 1_000_000, true, middle)).toEqual({ final: { ...busy, kind: 'failed', detail: 'partner answered 429; retries paused by an SLA intervention' }, delay: 0 });
    const done = classify('captureConsent', 'POST', 201, 'answered');
    const refused = classify('captureConsent', 'POST', 400, 'answered');
    for (const outcome of [done, refused]) for (const paused of [false, true]) expect(decide(outcome, 99, step('capture-consent'), 1_000_000, paused, middle)).toEqual({ final: outcome, delay: 0 });
  });

  it("maps a failure to the flow's failure-mode action: manual review or reconcile wait for a human, anything else compensates", () => {
    expect(failureAction(exportFlow, 'member-mismatch')).toBe('needs-attention'); // manual-review
    expect(failureAction(exportFlow, 'delayed-event-propagation')).toBe('needs-attention'); // reconcile
    expect(failureAction(exportFlow, 'partner-timeout')).toBe('compensate'); // retry-then-compensate
    expect(failureAction(exportFlow, 'downstream-validation-error')).toBe('compensate'); // reject
    expect(failureAction(exportFlow, 'partial-write')).toBe('compensate');
    expect(failureAction(exportFlow, undefined)).toBe('compensate');
    expect(failureAction(exportFlow, 'not-a-failure-mode')).toBe('compensate');
  });

  it('knows which steps can be undone, and counts a compensation with nothing left to undo as compensated', () => {
    expect(exportFlow.steps.filter(isCompensable).map((s) => s.id)).toEqual(['capture-consent', 'request-export', 'acknowledge']);
    const gone = classify('cancelExport', 'DELETE', 404, 'answered');
    expect(compensationOutcome(gone)).toEqual({ ...gone, kind: 'succeeded', result: 'nothing-to-undo' });
    const refused = classify('cancelExport', 'DELETE', 409, 'answered');
    expect(compensationOutcome(refused)).toBe(refused);
    const busy = classify('revokeConsent', 'POST', 503, 'answered');
    expect(compensationOutcome(busy)).toBe(busy);
  });

  it('takes the acknowledgement step as the moment a partner acknowledged a flow, else its first step', () => {
    expect(acknowledgingStep(exportFlow).id).toBe('acknowledge');
    expect(acknowledgingStep(flow('acknowledgement')).id).toBe('acknowledge');
    expect(acknowledgingStep(flow('member-match')).id).toBe(flow('member-match').steps[0]!.id);
  });
});
