import { performance } from 'node:perf_hooks';

/**
 * The waits of the sagas one replica drives, in memory: when each one's next attempt is due
 * (a retry's backoff), and the sleeps an operator's action or a stop may cut short.
 */
export class Waits {
  /** How to end a sleeping transaction's wait; `byKick` false for a partner's (injected) slowness, which only a stop cuts short. */
  private readonly wakers = new Map<string, { wake: () => void; byKick: boolean }>();
  private readonly due = new Map<string, number>();

  /** The next attempt of `id` is due in `ms` (a retry's backoff). */
  retryIn(id: string, ms: number): void {
    this.due.set(id, performance.now() + ms);
  }

  /** How long until the next attempt: the backoff set here, or (after a restart or a take-over) the stored next-run time. */
  remaining(id: string, nextRunAt: string | null, now: Date): number {
    const due = this.due.get(id);
    if (due !== undefined) return due - performance.now();
    if (!nextRunAt) return 0;
    return Math.min(Date.parse(nextRunAt) - now.getTime(), 3_600_000);
  }

  /** Waits for the next attempt (`ms`), unless an operator acts or the engine stops first. */
  async untilDue(id: string, ms: number): Promise<void> {
    await this.sleep(id, ms);
    this.due.delete(id);
  }

  /**
   * Sleeps `ms`, or until kick() wakes the transaction (an operator acted) or wakeAll() (a stop).
   * A partner's slowness (`byKick` false) is not cut short by an operator: the call is still out.
   */
  sleep(id: string, ms: number, byKick = true): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakers.set(id, {
        byKick,
        wake: () => {
          this.due.delete(id);
          done();
        },
      });
    }).finally(() => this.wakers.delete(id));
  }

  /** Ends the transaction's wait for its next attempt (an operator acted). */
  kick(id: string): void {
    const waker = this.wakers.get(id);
    if (waker?.byKick) waker.wake();
  }

  /** Ends every sleep (the engine stops). */
  wakeAll(): void {
    for (const waker of this.wakers.values()) waker.wake();
  }
}
