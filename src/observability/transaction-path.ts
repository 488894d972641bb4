import type { TransactionView } from '../runtime/transaction-views.ts';

/** What a timeline entry is: a step attempt (with the partner's answer), a retry, a compensation, an operator action or another event. */
export type TimelineKind = 'attempt' | 'retry' | 'compensation' | 'operator' | 'state' | 'event';

/** One entry of a transaction's timeline, in time order. */
export interface TimelineEntry {
  at: string;
  kind: TimelineKind;
  /** What happened, in words. */
  label: string;
  step: string | null;
  /** The partner's answer: HTTP status (null when none came) and result. */
  status?: number | null;
  result?: string;
  /** How long it took (an attempt), in milliseconds. */
  durationMs?: number;
  /** Milliseconds since the transaction was created. */
  sinceStartMs: number;
  /** Milliseconds since the entry before. */
  sincePreviousMs: number | null;
  detail?: string;
}

interface Attempt {
  n?: number;
  startedAt?: string;
  endedAt?: string;
  latencyMs?: number;
  status?: number | null;
  result?: string;
  fault?: string;
  replayed?: boolean;
}

const ms = (a: string, b: string) => Date.parse(a) - Date.parse(b);

function describeEvent(type: string, data: Record<string, unknown>, step: string | null, from: string | null, to: string | null): { kind: TimelineKind; label: string; detail?: string } {
  const name = type.replace(/^transaction\./, '');
  if (name.startsWith('operator-')) return { kind: 'operator', label: `operator ${name.slice('operator-'.length)}${typeof data.by === 'string' ? ` by ${data.by}` : ''}` };
  if (name.startsWith('compensation-') || name === 'reversal-event') return { kind: 'compensation', label: `${name.replace('-', ' ')}${step ? ` (${step})` : ''}`, detail: detailOf(data) };
  if (name === 'step-retry-scheduled') return { kind: 'retry', label: `retry of ${step ?? 'the step'} scheduled${typeof data.delayMs === 'number' ? ` in ${data.delayMs} ms` : ''}`, detail: detailOf(data) };
  if (name === 'state-changed') return { kind: 'state', label: `${from ?? '—'} → ${to ?? '—'}`, detail: typeof data.reason === 'string' ? data.reason : undefined };
  return { kind: 'event', label: `${name}${step ? ` (${step})` : ''}`, detail: detailOf(data) };
}

function detailOf(data: Record<string, unknown>): string | undefined {
  const parts = Object.entries(data)
    .filter(([, v]) => v !== undefined && v !== null && typeof v !== 'object')
    .map(([k, v]) => `${k}: ${String(v)}`);
  return parts.length > 0 ? parts.join(', ').slice(0, 300) : undefined;
}

/**
 * A transaction's whole path in time order: every attempt of every step and compensation (with
 * the partner's status, result and latency) and every event (retries scheduled, compensations,
 * operator actions, state changes), each with the time since the start and since the entry before.
 */
export function transactionTimeline(view: Pick<TransactionView, 'createdAt' | 'steps' | 'compensations' | 'events'>): TimelineEntry[] {
  const entries: Array<Omit<TimelineEntry, 'sinceStartMs' | 'sincePreviousMs'>> = [];
  const attempts = (step: { id: string; operation: string; attemptLog: unknown[] }, compensation: boolean) => {
    for (const raw of step.attemptLog as Attempt[]) {
      const at = raw.startedAt ?? raw.endedAt;
      if (!at) continue;
      entries.push({
        at,
        kind: compensation ? 'compensation' : 'attempt',
        label: `${compensation ? 'compensation' : 'step'} ${step.id} attempt ${raw.n ?? '?'} (${step.operation})${raw.replayed ? ' replayed' : ''}`,
        step: step.id,
        status: raw.status ?? null,
        result: raw.result,
        durationMs: raw.latencyMs,
        ...(raw.fault ? { detail: `injected fault: ${raw.fault}` } : {}),
      });
    }
  };
  for (const s of view.steps) attempts(s, false);
  for (const s of view.compensations) attempts(s, true);
  for (const e of view.events) {
    // Attempts carry the partner's answer; a step's success event would only repeat it.
    if (e.type === 'transaction.step-succeeded') continue;
    const data = (e.data && typeof e.data === 'object' ? e.data : {}) as Record<string, unknown>;
    entries.push({ at: e.at, step: e.step, ...describeEvent(e.type, data, e.step, e.from, e.to) });
  }
  // Stable: attempts before the events recorded at the same moment.
  entries.sort((a, b) => ms(a.at, b.at));
  let previous: string | null = null;
  return entries.map((e) => {
    const out: TimelineEntry = { ...e, sinceStartMs: Math.max(0, ms(e.at, view.createdAt)), sincePreviousMs: previous === null ? null : ms(e.at, previous) };
    previous = e.at;
    return out;
  });
}

/** A duration for people: 850 ms, 2.4 s, 3 min 5 s, 2 h 10 min. */
export function humanDuration(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '';
  const v = Math.max(0, Math.round(value));
  if (v < 1000) return `${v} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(1)} s`;
  if (v < 3_600_000) return `${Math.floor(v / 60_000)} min ${Math.floor((v % 60_000) / 1000)} s`;
  return `${Math.floor(v / 3_600_000)} h ${Math.floor((v % 3_600_000) / 60_000)} min`;
}
