import { describe, expect, it } from 'vitest';
import { nextState, SAGA_EVENT_TYPES, STATE_RANK, TERMINAL_STATES, TRANSACTION_STATES, type SagaEvent, type TransactionState } from '../src/runtime/saga/states.ts';
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
        if (next !== state) expect(STATE_RANK[next], `seed ${seed}: ${trail.join(' ')}`).toBeGreaterThan(STATE_RANK[state]);
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
});
