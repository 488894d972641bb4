import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { fieldErrors, type InputSource } from '../src/lib/validate.ts';
import { FaultExperimentRequest } from '../src/runtime/experiments.ts';
import { FaultRequest, insertFault } from '../src/runtime/faults.ts';
import { MAX_DEPTH } from '../src/lib/yaml.ts';
import { TransactionRequest } from '../src/runtime/saga/start.ts';
import { TransactionQuery } from '../src/runtime/transaction-views.ts';
import { faultInjections } from '../src/db/index.ts';
import { startTestService } from './harness.ts';

/** The findings of `value` against `schema`, as the API reports them (none when it fits). */
function findings(schema: z.ZodType, value: unknown, source: InputSource = 'body') {
  const result = schema.safeParse(value);
  return result.success ? [] : fieldErrors(result.error, source);
}

const MATCH_INPUT = { memberMatch: { resourceType: 'Parameters', parameter: [] } };

describe('the shapes of the runtime inputs (one schema for the API, the fault file and the engine)', () => {
  it('a transaction request names its flow and partner and carries an input object, nested at most MAX_DEPTH levels', () => {
    expect(findings(TransactionRequest, { flow: 'payer-data-export', partner: 'northwind-health', input: MATCH_INPUT })).toEqual([]);
    expect(findings(TransactionRequest, { flow: 'payer-data-export', partner: 'northwind-health', input: MATCH_INPUT, major: 2 })).toEqual([]);
    expect(findings(TransactionRequest, { partner: 'northwind-health' })).toEqual([
      { location: '/flow', message: 'must name a control-matrix flow' },
      { location: '/input', message: 'must be the flow input object (for the reference flow: the $member-match Parameters as memberMatch, optional groupId)' },
    ]);
    expect(findings(TransactionRequest, { flow: 1, partner: null, input: [], major: -1 }).map((e) => e.location)).toEqual(['/flow', '/partner', '/input', '/major']);
    expect(findings(TransactionRequest, { flow: 'f', partner: 'p', input: {}, major: 1.5 })).toEqual([{ location: '/major', message: 'must be a major version number' }]);
    let deep: Record<string, unknown> = {};
    const input = deep;
    for (let i = 0; i <= MAX_DEPTH; i++) deep = (deep.next = {}) as Record<string, unknown>;
    expect(findings(TransactionRequest, { flow: 'f', partner: 'p', input })).toEqual([{ location: '/input', message: `is nested deeper than ${MAX_DEPTH} levels` }]);
  });

  it('keeps the input as sent, own keys such as __proto__ included', () => {
    const input = JSON.parse('{"memberMatch": {}, "__proto__": {"polluted": true}}') as Record<string, unknown>;
    const parsed = TransactionRequest.parse({ flow: 'f', partner: 'p', input });
    expect(parsed.input).toBe(input);
    expect(JSON.stringify(parsed.input)).toBe('{"memberMatch":{},"__proto__":{"polluted":true}}');
  });

  it('a fault names a partner, a step and a kind; a delayed event needs its delay', () => {
    expect(findings(FaultRequest, { partner: 'northwind-health', step: 'memberMatch', kind: 'timeout' })).toEqual([]);
    expect(findings(FaultRequest, { partner: 'northwind-health', step: 'x', kind: 'meteor' })).toEqual([
      { location: '/kind', message: 'must be one of timeout, error-status, validation-error, partial-write, delayed-event, duplicate-delivery' },
    ]);
    expect(findings(FaultRequest, { partner: 'northwind-health', step: 'x', kind: 'delayed-event' })).toEqual([{ location: '/delayMs', message: 'must be the delay in milliseconds (1–600000)' }]);
    expect(findings(FaultRequest, { partner: 'Not An Id', step: 'a b', kind: 'timeout', flow: 'Flow!', transactionId: 7, status: 200, remaining: 0 })).toEqual([
      { location: '/partner', message: 'must match ^[a-z0-9][a-z0-9-]{0,62}$' },
      { location: '/step', message: 'must name a step id or an operationId' },
      { location: '/flow', message: 'must be a flow id' },
      { location: '/transactionId', message: 'must be a transaction id' },
      { location: '/status', message: 'must be an HTTP error status (400–599)' },
      { location: '/remaining', message: 'must be a positive integer (how many calls it affects), or null for all' },
    ]);
    expect(findings(FaultRequest, { partner: 'control-matrix', step: 'x', kind: 'timeout' })).toEqual([{ location: '/partner', message: '"control-matrix" is reserved' }]);
    expect(findings(FaultRequest, { partner: 'northwind-health', step: 'x', kind: 'timeout', remaining: null })).toEqual([]);
  });

  it('checks a transaction’s own faults (fault experiments) before storing them', async () => {
    const s = await startTestService();
    try {
      const stored = async () => await s.deps.db.select().from(faultInjections).all();
      const principal = { tokenId: 't', name: 'ci-bot', role: 'ci' as const, partner: null };
      await expect(insertFault(s.deps.db, principal, { partner: 'northwind-health', transactionId: 'txn_1', step: 'x', kind: 'delayed-event' }, new Date())).rejects.toThrow('The fault is invalid');
      expect(await stored()).toEqual([]);
      const fault = await insertFault(s.deps.db, principal, { partner: 'northwind-health', transactionId: 'txn_1', step: 'x', kind: 'error-status' }, new Date('2026-01-01T00:00:00Z'));
      expect(fault).toMatchObject({ partner: 'northwind-health', transactionId: 'txn_1', status: 503, source: 'api', createdBy: 'ci-bot', createdAt: '2026-01-01T00:00:00.000Z' });
      expect(await stored()).toEqual([fault]);
    } finally {
      await s.cleanup();
    }
  });

  it('a fault experiment names a partner, an API and a semantic version; the flow defaults to payer-data-export', () => {
    expect(FaultExperimentRequest.parse({ partner: 'northwind-health', api: 'p2p-exchange', version: '2.0.0' }).flow).toBe('payer-data-export');
    expect(findings(FaultExperimentRequest, { partner: 'Northwind', version: 'v2', flow: 3 })).toEqual([
      { location: '/partner', message: 'must match ^[a-z0-9][a-z0-9-]{0,62}$' },
      { location: '/api', message: 'must match ^[a-z0-9][a-z0-9-]{0,62}$' },
      { location: '/version', message: 'must be a semantic version' },
      { location: '/flow', message: 'must name a control-matrix flow' },
    ]);
  });

  it('a transaction list takes known states, an age as a duration or a timestamp, and a limit of 1–1000', () => {
    expect(TransactionQuery.parse({})).toEqual({ limit: 100 });
    expect(TransactionQuery.parse({ state: 'completed,compensated', olderThan: 'PT10M', limit: '5' })).toEqual({ state: ['completed', 'compensated'], olderThan: 'PT10M', limit: 5 });
    expect(TransactionQuery.parse({ state: '', olderThan: '' })).toEqual({ state: undefined, olderThan: '', limit: 100 });
    expect(findings(TransactionQuery, { olderThan: '2026-11-27T12:00:00Z' }, 'parameters')).toEqual([]);
    expect(findings(TransactionQuery, { state: 'done,completed,stuck', olderThan: 'yesterday', limit: '0' }, 'parameters')).toEqual([
      { location: 'state', message: 'unknown state done, stuck; states are initiated, accepted, in-progress, compensating, awaiting-approval, needs-attention, completed, compensated' },
      { location: 'olderThan', message: 'must be an ISO 8601 duration (PT10M) or timestamp' },
      { location: 'limit', message: 'must be an integer 1–1000' },
    ]);
    for (const limit of ['', '1001', '2.5', 'ten']) expect(findings(TransactionQuery, { limit }, 'parameters'), limit).toEqual([{ location: 'limit', message: 'must be an integer 1–1000' }]);
  });
});
