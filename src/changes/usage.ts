import { and, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { operationsById } from '../contracts/operations.ts';
import { canSee, loadContractDocument } from '../contracts/versions.ts';
import { consumerUsage, contractVersions } from '../db/index.ts';
import { AccordError, type FieldError } from '../errors.ts';
import { consumersOf } from './consumers.ts';

/**
 * What each consumer of an API uses of it: the operationIds it *declares* it calls
 * (`consumer_usage`, set by an admin or the consumer itself) and those it was *observed*
 * calling through the exchange runtime within `ACCORD_USAGE_WINDOW`. A consumer with neither
 * has unknown usage: every change counts as touching it (src/changes/impact.ts).
 */

/** One consumer's known usage of an API. */
export interface ConsumerUsage {
  consumer: string;
  /** The declared operationIds, or null when it declared nothing. */
  declared: string[] | null;
  declaredAt: string | null;
  declaredBy: string | null;
  /** OperationIds it called through the exchange since `observedSince`. */
  observed: string[];
  /** declared ∪ observed, or null when both are unknown (no declaration, nothing observed). */
  operations: string[] | null;
}

// Compensation strategies the saga timeline records in place of an operation (src/matrix/schema.ts).
const STRATEGIES = "'mark-inactive', 'reversal-event', 'none'";

/**
 * The operations each caller partner invoked on provider/api through the exchange since
 * :since — saga steps that were attempted (forward steps and compensating operations) and
 * direct requests (one sync record each, its operation in `sync_step`). Portable SQL
 * (json_extract exists on PostgreSQL as src/db/postgres-compat defines it).
 */
export const OBSERVED_USAGE_SQL = `SELECT t.caller_partner AS consumer, s.operation AS operation
  FROM transactions t JOIN transaction_steps s ON s.transaction_id = t.id
  WHERE t.partner = :provider AND t.api = :api AND t.created_at >= :since AND t.mode = 'saga' AND t.caller_partner IS NOT NULL
    AND s.attempts > 0 AND (s.kind = 'forward' OR s.operation NOT IN (${STRATEGIES}))
  UNION
  SELECT t.caller_partner AS consumer, json_extract(t.sync_step, '$.operation') AS operation
  FROM transactions t
  WHERE t.partner = :provider AND t.api = :api AND t.created_at >= :since AND t.mode = 'sync' AND t.caller_partner IS NOT NULL
  ORDER BY consumer, operation`;

/** What each partner was observed calling on provider/api since `since` (ISO date-time), by partner. */
export async function observedUsage(deps: Pick<Deps, 'db'>, provider: string, api: string, since: string): Promise<Map<string, string[]>> {
  const rows = await deps.db.$sql.all<{ consumer: string; operation: string | null }>(OBSERVED_USAGE_SQL, { provider, api, since });
  const byConsumer = new Map<string, string[]>();
  for (const { consumer, operation } of rows) {
    if (operation === null) continue;
    const list = byConsumer.get(consumer) ?? [];
    list.push(operation);
    byConsumer.set(consumer, list);
  }
  return byConsumer;
}

/** Where the observation window starts now. */
export function observedSince(deps: Pick<Deps, 'clock' | 'config'>): string {
  return new Date(deps.clock().getTime() - deps.config.usageWindowMs).toISOString();
}

/** The usage of each of the given consumers of provider/api (declared and observed since `since`). */
export async function usageOf(deps: Pick<Deps, 'db'>, provider: string, api: string, consumers: string[], since: string): Promise<ConsumerUsage[]> {
  if (consumers.length === 0) return [];
  const declared = new Map(
    (await deps.db
      .select()
      .from(consumerUsage)
      .where(and(eq(consumerUsage.provider, provider), eq(consumerUsage.api, api), inArray(consumerUsage.consumer, consumers)))
      .all())
      .map((r) => [r.consumer, r]),
  );
  const observed = await observedUsage(deps, provider, api, since);
  return consumers.map((consumer) => {
    const d = declared.get(consumer);
    const ops = d ? (JSON.parse(d.operations) as string[]) : null;
    const seen = observed.get(consumer) ?? [];
    const known = ops !== null || seen.length > 0;
    return {
      consumer,
      declared: ops,
      declaredAt: d?.declaredAt ?? null,
      declaredBy: d?.declaredBy ?? null,
      observed: seen,
      operations: known ? [...new Set([...(ops ?? []), ...seen])].sort() : null,
    };
  });
}

/**
 * `GET /v1/contracts/{partner}/{api}/consumers`: the consumers and, per consumer, what it uses.
 * Staff and the API's provider see every consumer's usage; a consumer sees its own entry; any
 * other partner sees the list of consumers only (what a partner calls is its business).
 */
export async function consumersWithUsage(deps: Pick<Deps, 'db' | 'clock' | 'config'>, principal: Principal, provider: string, api: string) {
  const consumers = await consumersOf(deps, provider, api);
  const since = observedSince(deps);
  const shown = principal.role !== 'partner' || principal.partner === provider ? consumers : consumers.filter((c) => c === principal.partner);
  return { consumers, observedSince: since, usage: await usageOf(deps, provider, api, shown, since) };
}

const OPERATIONS_RULE = 'must be an array of operationIds (at most 1000)';

/** A consumer's declaration of the operationIds it calls (replaces any earlier one). */
export const UsageDeclaration = z
  .object({
    operations: z
      .array(z.string({ error: 'must be an operationId' }).min(1, 'must be an operationId').max(200, 'must be at most 200 characters'), { error: OPERATIONS_RULE })
      .max(1000, OPERATIONS_RULE)
      .meta({ description: 'The operationIds the consumer calls; each must exist in some registered version of the API. An empty list declares that it calls none.' }),
  })
  .meta({ id: 'UsageDeclaration' });

export type UsageDeclaration = z.output<typeof UsageDeclaration>;

/** What a problem with a usage declaration says. */
export const USAGE_PROBLEM = 'Invalid usage declaration';

/** Every operationId of the versions of provider/api the principal may see (404 when it sees none). */
async function knownOperations(deps: Pick<Deps, 'db' | 'registry' | 'config'>, principal: Principal, provider: string, api: string): Promise<Set<string>> {
  const rows = (await deps.db.select().from(contractVersions).where(and(eq(contractVersions.partner, provider), eq(contractVersions.api, api))).all()).filter((r) => canSee(principal, r));
  if (rows.length === 0) throw new AccordError('not_found', `No contract ${provider}/${api}`);
  const known = new Set<string>();
  for (const row of rows) for (const id of operationsById(await loadContractDocument(deps, row)).keys()) known.add(id);
  return known;
}

/**
 * Declares the operations `consumer` calls on provider/api: an admin, or the consumer's own
 * partner token (403 for anyone else). The consumer must be one of the API's consumers and
 * every operationId must exist in a registered version the caller may see (422 otherwise,
 * nothing written).
 */
export async function declareUsage(deps: Pick<Deps, 'db' | 'registry' | 'config' | 'clock'>, principal: Principal, provider: string, api: string, consumer: string, input: UsageDeclaration): Promise<ConsumerUsage> {
  if (principal.role !== 'admin' && !(principal.role === 'partner' && principal.partner === consumer)) {
    throw new AccordError('forbidden', `Only an admin or ${consumer} itself may declare what ${consumer} uses`);
  }
  const known = await knownOperations(deps, principal, provider, api);
  const errors: FieldError[] = [];
  if (!(await consumersOf(deps, provider, api)).includes(consumer)) errors.push({ location: 'consumer', message: `${consumer} is not a consumer of ${provider}/${api} (GET /v1/contracts/${provider}/${api}/consumers)` });
  input.operations.forEach((op, i) => {
    if (!known.has(op)) errors.push({ location: `/operations/${i}`, message: `no operation "${op}" in any registered version of ${provider}/${api}` });
  });
  if (errors.length > 0) throw new AccordError('invalid_document', USAGE_PROBLEM, { errors });
  const row = { provider, api, consumer, operations: JSON.stringify([...new Set(input.operations)].sort()), declaredAt: deps.clock().toISOString(), declaredBy: principal.name };
  await deps.db
    .insert(consumerUsage)
    .values(row)
    .onConflictDoUpdate({ target: [consumerUsage.provider, consumerUsage.api, consumerUsage.consumer], set: { operations: row.operations, declaredAt: row.declaredAt, declaredBy: row.declaredBy } })
    .run();
  return (await usageOf(deps, provider, api, [consumer], observedSince(deps)))[0]!;
}
