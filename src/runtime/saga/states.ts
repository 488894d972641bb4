/**
 * The transaction state machine of the saga engine, as a pure reducer. States only move
 * forward: every allowed transition goes to a state of higher rank, and the terminal states
 * (completed, compensated) accept nothing. An operator's retry or compensation of a
 * needs-attention transaction keeps it in needs-attention until it reaches a terminal state,
 * so no event sequence can move a transaction backwards.
 *
 * A compensation the matrix says needs a person's approval (`compensation.approval: required`)
 * parks a compensating transaction in `awaiting-approval`, of the same rank as `compensating`:
 * the two are one stage (undoing the steps), so compensating ⇄ awaiting-approval are the only
 * moves between distinct states of equal rank, and nothing leads back to a lower rank. Approval
 * returns it to compensating; rejection hands it to a human (needs-attention). A transaction
 * already in needs-attention (an operator's retry or compensate led to the compensation) waits
 * for the approval in needs-attention: its rank may not drop.
 */

export const TRANSACTION_STATES = ['initiated', 'accepted', 'in-progress', 'compensating', 'awaiting-approval', 'needs-attention', 'completed', 'compensated'] as const;
export type TransactionState = (typeof TRANSACTION_STATES)[number];

/** Forward order: a transition must never lower it. */
export const STATE_RANK: Record<TransactionState, number> = {
  initiated: 0,
  accepted: 1,
  'in-progress': 2,
  compensating: 3,
  'awaiting-approval': 3,
  'needs-attention': 4,
  completed: 5,
  compensated: 5,
};

export const TERMINAL_STATES: readonly TransactionState[] = ['completed', 'compensated'];

/** Distinct states of equal rank a transaction may move between: a compensation waiting for a person's approval and back. */
export const EQUAL_RANK_MOVES: ReadonlyArray<readonly [TransactionState, TransactionState]> = [
  ['compensating', 'awaiting-approval'],
  ['awaiting-approval', 'compensating'],
];

/** How a transaction runs: a saga the engine drives, or one direct exchange request recorded as it was answered. */
export const TRANSACTION_MODES = ['saga', 'sync'] as const;

/** Which way a transaction moves: through its steps, or back through their compensations. */
export const TRANSACTION_PHASES = ['forward', 'compensating'] as const;

/** The states of one step (or compensation) on a transaction's timeline. */
export const STEP_STATES = ['pending', 'running', 'succeeded', 'failed', 'skipped'] as const;

/** What can happen to a transaction. */
export type SagaEvent =
  | { type: 'accept' }
  | { type: 'step-started' }
  | { type: 'steps-completed' }
  /** A step failed for good; the flow's failure mode says compensate or hand to a human. */
  | { type: 'step-failed'; action: 'compensate' | 'needs-attention' }
  | { type: 'compensations-completed' }
  | { type: 'compensation-failed' }
  | { type: 'operator-compensate' }
  | { type: 'operator-retry' }
  /** The next compensation needs a person's approval (matrix: compensation.approval required). */
  | { type: 'approval-required' }
  | { type: 'compensation-approved' }
  | { type: 'compensation-rejected' };

export const SAGA_EVENT_TYPES: readonly SagaEvent['type'][] = ['accept', 'step-started', 'steps-completed', 'step-failed', 'compensations-completed', 'compensation-failed', 'operator-compensate', 'operator-retry', 'approval-required', 'compensation-approved', 'compensation-rejected'];

/**
 * The state after `event`, or undefined when the event is not allowed in `state` (the caller
 * refuses it; the state stays).
 */
export function nextState(state: TransactionState, event: SagaEvent): TransactionState | undefined {
  switch (state) {
    case 'initiated':
      return event.type === 'accept' ? 'accepted' : undefined;
    case 'accepted':
      if (event.type === 'step-started') return 'in-progress';
      if (event.type === 'operator-compensate') return 'compensating';
      return undefined;
    case 'in-progress':
      if (event.type === 'step-started') return 'in-progress';
      if (event.type === 'steps-completed') return 'completed';
      if (event.type === 'step-failed') return event.action === 'compensate' ? 'compensating' : 'needs-attention';
      if (event.type === 'operator-compensate') return 'compensating';
      return undefined;
    case 'compensating':
      if (event.type === 'compensations-completed') return 'compensated';
      if (event.type === 'compensation-failed') return 'needs-attention';
      if (event.type === 'approval-required') return 'awaiting-approval';
      return undefined;
    case 'awaiting-approval':
      // Nothing runs until a person decides.
      if (event.type === 'compensation-approved') return 'compensating';
      if (event.type === 'compensation-rejected') return 'needs-attention';
      return undefined;
    case 'needs-attention':
      // Operator work happens in this state (an approval it needs included); only a terminal outcome leaves it.
      if (event.type === 'steps-completed') return 'completed';
      if (event.type === 'compensations-completed') return 'compensated';
      if (
        event.type === 'step-failed' || event.type === 'compensation-failed' || event.type === 'step-started' || event.type === 'operator-retry' || event.type === 'operator-compensate' ||
        event.type === 'approval-required' || event.type === 'compensation-approved' || event.type === 'compensation-rejected'
      ) return 'needs-attention';
      return undefined;
    case 'completed':
    case 'compensated':
      return undefined;
  }
}
