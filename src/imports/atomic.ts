import type { Deps } from '../deps.ts';
import type { RegistryBatch } from '../registry/git-registry.ts';

/**
 * Runs `work` as ONE registry update and ONE database transaction (ADR 0019): what the write
 * functions it calls publish and index becomes visible together when it returns, and not at all
 * when it throws. Each publication's index rows get a savepoint of their own, so a lost race on
 * PostgreSQL (a unique violation) leaves the transaction usable for the write function's answer
 * to it. With a registry remote `work` may run again (another replica pushed first): it must be
 * repeatable.
 */
export function applyAtomically<T>(deps: Pick<Deps, 'db' | 'registry'>, work: (batch: RegistryBatch) => Promise<T>): Promise<T> {
  return deps.registry.batch(
    (batch) =>
      deps.db.transaction(async () => {
        const result = await work(batch);
        await batch.apply();
        return result;
      }),
    { index: (publish) => deps.db.transaction(publish) },
  );
}
