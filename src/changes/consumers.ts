import { and, eq, ne } from 'drizzle-orm';
import { requireRole, type Principal } from '../auth/principal.ts';
import type { Deps } from '../context.ts';
import { checkIds } from '../contracts/ids.ts';
import { apiConsumers, contractVersions } from '../db/index.ts';
import { AccordError } from '../errors.ts';

/**
 * Partners that consume an API: the explicit list when one is set, otherwise every other
 * partner that implements an API with the same id (in a payer-to-payer network, peers that
 * exchange through the same API call each other).
 */
export function consumersOf(deps: Pick<Deps, 'db'>, provider: string, api: string): string[] {
  const explicit = deps.db.select({ consumer: apiConsumers.consumer }).from(apiConsumers).where(and(eq(apiConsumers.provider, provider), eq(apiConsumers.api, api))).all();
  if (explicit.length > 0) return explicit.map((r) => r.consumer).sort();
  return deps.db
    .selectDistinct({ partner: contractVersions.partner })
    .from(contractVersions)
    .where(and(eq(contractVersions.api, api), ne(contractVersions.partner, provider)))
    .all()
    .map((r) => r.partner)
    .sort();
}

/** Replaces the explicit consumer list of an API (an empty list restores the default rule). */
export function setConsumers(deps: Pick<Deps, 'db'>, principal: Principal, provider: string, api: string, consumers: unknown): string[] {
  // Admin only: who must acknowledge a breaking change is not for the change's author to decide.
  requireRole(principal, ['admin'], 'set the consumers of an API');
  if (!Array.isArray(consumers)) throw new AccordError('invalid_document', 'Send {"consumers": ["partner-id", …]}', { errors: [{ location: '/consumers', message: 'must be an array of partner ids' }] });
  const errors = consumers.flatMap((c, i) => checkIds({ [`/consumers/${i}`]: typeof c === 'string' ? c : undefined }));
  if (consumers.includes(provider)) errors.push({ location: '/consumers', message: 'a partner does not consume its own API' });
  if (errors.length > 0) throw new AccordError('invalid_document', 'Invalid consumer list', { errors });
  deps.db.transaction((tx) => {
    tx.delete(apiConsumers).where(and(eq(apiConsumers.provider, provider), eq(apiConsumers.api, api))).run();
    for (const consumer of new Set(consumers as string[])) tx.insert(apiConsumers).values({ provider, api, consumer }).run();
  });
  return consumersOf(deps, provider, api);
}
