import { describe, expect, it } from 'vitest';
import { EQUAL_RANK_MOVES, nextState, SAGA_EVENT_TYPES, STATE_RANK, TERMINAL_STATES, TRANSACTION_STATES, type SagaEvent, type TransactionState } from '../src/runtime/saga/states.ts';
import { prng } from './prng.ts';

function randomEvent(random: () => number): SagaEvent {
  const type = SAGA_EVENT_TYPES[Math.floor(random() * SAGA_EVENT_TYPES.length)]!;
  return type === 'step-failed' ? { type, action: random() < 0.5 ? 'compensate' : 'needs-attention' } : ({ type } as SagaEvent);
}

describe('transaction state machine', () => {
  it('no random event sequence moves a state backwards, and terminal states accept nothing', () => {
    const reached = new Set<TransactionState>();
    for (let seed = 1; seed <= 5000; seed++) {
      const random = prng(seed);
      let state: TransactionState = 'initiated';
      const trail: string[] = [state];
      for (let i = 0; i < 40; i++) {
        const event = randomEvent(random);
        const next = nextState(state, event);
        trail.push(`${event.type}→${next ?? 'refused'}`);
        if (next === undefined) continue;
        expect(STATE_RANK[next], `seed ${seed}: ${trail.join(' ')}`).toBeGreaterThanOrEqual(STATE_RANK[state]);
        const equalRankMove = EQUAL_RANK_MOVES.some(([from, to]) => from === state && to === next);
        if (next !== state && !equalRankMove) expect(STATE_RANK[next], `seed ${seed}: ${trail.join(' ')}`).toBeGreaterThan(STATE_RANK[state]);
        state = next;
        reached.add(state);
      }
    }
    // the walk explores the whole machine
    expect([...reached].sort()).toEqual(TRANSACTION_STATES.filter((s) => s !== 'initiated').sort());
    for (const terminal of TERMINAL_STATES) for (const type of SAGA_EVENT_TYPES) expect(nextState(terminal, { type, action: 'compensate' } as SagaEvent)).toBeUndefined();
  });

  it('follows the documented paths', () => {
    const walk = (events: SagaEvent[]) => events.reduce<TransactionState | undefined>((s, e) => (s ? nextState(s, e) : s), 'initiated');
    expect(walk([{ type: 'accept' }, { type: 'step-started' }, { type: 'steps-completed' }])).toBe('completed');
    expect(walk([{ type: 'accept' }, { type: 'step-started' }, { type: 'step-failed', action: 'compensate' }, { type: 'compensations-completed' }])).toBe('compensated');
    expect(walk([{ type: 'accept' }, { type: 'step-started' }, { type: 'step-failed', action: 'needs-attention' }, { type: 'operator-retry' }, { type: 'steps-completed' }])).toBe('completed');
    expect(walk([{ type: 'accept' }, { type: 'step-started' }, { type: 'step-failed', action: 'compensate' }, { type: 'compensation-failed' }, { type: 'operator-retry' }, { type: 'compensations-completed' }])).toBe('compensated');
    expect(walk([{ type: 'steps-completed' }])).toBeUndefined();
    expect(nextState('compensating', { type: 'step-started' })).toBeUndefined();
  });

  it('a compensation that needs approval: compensating ⇄ awaiting-approval at the same rank, rejection hands it to a human', () => {
    const walk = (from: TransactionState, events: SagaEvent[]) => events.reduce<TransactionState | undefined>((s, e) => (s ? nextState(s, e) : s), from);
    expect(STATE_RANK['awaiting-approval']).toBe(STATE_RANK.compensating);
    expect(walk('in-progress', [{ type: 'step-failed', action: 'compensate' }, { type: 'approval-required' }])).toBe('awaiting-approval');
    expect(walk('in-progress', [{ type: 'step-failed', action: 'compensate' }, { type: 'approval-required' }, { type: 'compensation-approved' }, { type: 'compensations-completed' }])).toBe('compensated');
    expect(walk('compensating', [{ type: 'approval-required' }, { type: 'compensation-rejected' }])).toBe('needs-attention');
    // Nothing runs while it waits: no step, no compensation outcome, no operator request moves it.
    for (const type of SAGA_EVENT_TYPES.filter((t) => t !== 'compensation-approved' && t !== 'compensation-rejected')) {
      expect(nextState('awaiting-approval', { type, action: 'compensate' } as SagaEvent), type).toBeUndefined();
    }
    // In needs-attention (an operator's action led to it) the approval is waited for in that state: its rank never drops.
    for (const type of ['approval-required', 'compensation-approved', 'compensation-rejected'] as const) expect(nextState('needs-attention', { type })).toBe('needs-attention');
    // The only equal-rank moves between distinct states.
    for (const [from, to] of EQUAL_RANK_MOVES) expect(STATE_RANK[from]).toBe(STATE_RANK[to]);
    for (const from of TRANSACTION_STATES) {
      for (const type of SAGA_EVENT_TYPES) {
        const to = nextState(from, { type, action: 'compensate' } as SagaEvent);
        if (to && to !== from && STATE_RANK[to] === STATE_RANK[from]) expect(EQUAL_RANK_MOVES, `${from} → ${to}`).toContainEqual([from, to]);
      }
    }
  });
});
