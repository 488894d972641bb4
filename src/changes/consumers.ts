import { and, eq, ne } from 'drizzle-orm';
import { z } from 'zod';
import type { Deps } from '../deps.ts';
import { checkIds, ID_PATTERN } from '../contracts/ids.ts';
import { apiConsumers, contractVersions } from '../db/index.ts';
import { AccordError } from '../errors.ts';

/**
 * Partners that consume an API: the explicit list when one is set, otherwise every other
 * partner that implements an API with the same id (in a payer-to-payer network, peers that
 * exchange through the same API call each other).
 */
export async function consumersOf(deps: Pick<Deps, 'db'>, provider: string, api: string): Promise<string[]> {
  const explicit = await deps.db.select({ consumer: apiConsumers.consumer }).from(apiConsumers).where(and(eq(apiConsumers.provider, provider), eq(apiConsumers.api, api))).all();
  if (explicit.length > 0) return explicit.map((r) => r.consumer).sort();
  return (await deps.db
    .selectDistinct({ partner: contractVersions.partner })
    .from(contractVersions)
    .where(and(eq(contractVersions.api, api), ne(contractVersions.partner, provider)))
    .all())
    .map((r) => r.partner)
    .sort();
}

const PARTNER_ID_RULE = `must match ${ID_PATTERN.source}`;

/** An explicit consumer list: partner ids (an empty list restores the default rule). */
export const ConsumerList = z
  .object({
    consumers: z
      .array(
        z.string({ error: PARTNER_ID_RULE }).superRefine((id, ctx) => {
          for (const e of checkIds({ id })) ctx.addIssue({ code: 'custom', message: e.message });
        }),
        { error: 'must be an array of partner ids' },
      )
      .meta({ description: 'Partner ids' }),
  })
  .meta({ id: 'ConsumerList' });

/** What a problem with a consumer list says. */
export const CONSUMER_LIST_PROBLEM = 'Invalid consumer list';

/** Replaces the explicit consumer list of an API (an empty list restores the default rule). */
export async function setConsumers(deps: Pick<Deps, 'db'>, provider: string, api: string, consumers: string[]): Promise<string[]> {
  if (consumers.includes(provider)) throw new AccordError('invalid_document', CONSUMER_LIST_PROBLEM, { errors: [{ location: '/consumers', message: 'a partner does not consume its own API' }] });
  await deps.db.transaction(async (tx) => {
    await tx.delete(apiConsumers).where(and(eq(apiConsumers.provider, provider), eq(apiConsumers.api, api))).run();
    for (const consumer of new Set(consumers)) await tx.insert(apiConsumers).values({ provider, api, consumer }).run();
  });
  return await consumersOf(deps, provider, api);
}
