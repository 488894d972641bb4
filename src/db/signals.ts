import { randomBytes } from 'node:crypto';

/**
 * What a process keeps in memory about shared data and must drop when another replica changes
 * it: `contracts` (the route table, served versions), `tokens` (the token cache: a revocation
 * takes effect everywhere), `faults` (fault injections), `sla-interventions` (throttles and
 * paused retries), and `saga-kick` (an operator acted on a transaction another replica drives;
 * the payload is its id).
 */
export type Topic = 'contracts' | 'tokens' | 'faults' | 'sla-interventions' | 'saga-kick';

/** The PostgreSQL channel every replica listens on. */
export const SIGNAL_CHANNEL = 'accord_signals';

/** Tells this process's signals from other replicas' (a replica ignores its own: it handled them at commit). */
export const SIGNAL_SENDER = randomBytes(8).toString('hex');

type Handler = (payload: string | undefined) => void;

const handlers = new Map<Topic, Set<Handler>>();

/**
 * Calls `handler` whenever `topic` is signalled: by this process (after the commit that
 * signalled it) or by another replica (PostgreSQL NOTIFY, delivered at that replica's commit),
 * and with no payload after the listening connection was re-established (signals may have been
 * missed: drop everything). Returns a function that removes it.
 */
export function onSignal(topic: Topic, handler: Handler): () => void {
  let set = handlers.get(topic);
  if (!set) handlers.set(topic, (set = new Set()));
  set.add(handler);
  return () => set.delete(handler);
}

/** Runs the handlers of `topic` (every topic when `topic` is undefined: after a reconnect). */
export function dispatchSignal(topic: Topic | undefined, payload: string | undefined): void {
  for (const [t, set] of handlers) {
    if (topic !== undefined && t !== topic) continue;
    for (const handler of set) handler(payload);
  }
}

/** The NOTIFY payload of a signal. */
export function encodeSignal(topic: Topic, payload: string | undefined): string {
  return JSON.stringify({ from: SIGNAL_SENDER, topic, payload });
}

/** A NOTIFY payload from another replica, or undefined (this process's own, or not a signal). */
export function decodeSignal(text: string): { topic: Topic; payload: string | undefined } | undefined {
  try {
    const signal = JSON.parse(text) as { from?: string; topic?: Topic; payload?: string };
    if (signal.from === SIGNAL_SENDER || !signal.topic) return undefined;
    return { topic: signal.topic, payload: signal.payload ?? undefined };
  } catch {
    return undefined;
  }
}
