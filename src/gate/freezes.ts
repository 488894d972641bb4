import { randomBytes } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import { keyAfter, keyOrder, pageOf, type KeyPart, type Page, type Paged } from '../lib/pages.ts';
import { z } from 'zod';
import type { Deps } from '../deps.ts';
import { Id } from '../contracts/ids.ts';
import { releaseFreezes } from '../db/index.ts';
import { AccordError } from '../errors.ts';

/**
 * Release freezes: while one is active for a partner, the gate fails every release of its APIs.
 * Admins freeze by hand; the SLA monitor freezes (and lifts) automatically.
 */

export type FreezeRow = typeof releaseFreezes.$inferSelect;

/** Where a freeze came from. */
export const FREEZE_SOURCES = ['manual', 'sla'] as const;
export type FreezeSource = (typeof FREEZE_SOURCES)[number];

/** A request to freeze a partner's releases. */
export const FreezeRequest = z
  .object({
    partner: Id,
    reason: z
      .string({ error: 'say why releases are frozen' })
      .refine((reason) => reason.trim().length >= 3, 'say why releases are frozen')
      .meta({ description: 'Why releases are frozen (at least 3 characters)' }),
  })
  .meta({ id: 'FreezeRequest' });

export type FreezeRequest = z.output<typeof FreezeRequest>;

/** Freezes releases for a partner. */
export async function freezeReleases(deps: Pick<Deps, 'db' | 'clock'>, by: string, input: FreezeRequest, source: FreezeSource = 'manual'): Promise<FreezeRow> {
  return await deps.db
    .insert(releaseFreezes)
    .values({ id: `frz_${randomBytes(8).toString('hex')}`, partner: input.partner, reason: input.reason.trim(), source, createdAt: deps.clock().toISOString(), createdBy: by, liftedAt: null })
    .returning()
    .get();
}

/** One page of the freezes, active and lifted, newest first. */
export async function listFreezes(deps: Pick<Deps, 'db'>, page: Page = { limit: 500 }): Promise<Paged<FreezeRow>> {
  const order: KeyPart<FreezeRow>[] = [
    { column: releaseFreezes.createdAt, desc: true, of: (r) => r.createdAt },
    { column: releaseFreezes.id, desc: true, of: (r) => r.id },
  ];
  const rows = await deps.db.select().from(releaseFreezes).where(keyAfter(order, page.after)).orderBy(...keyOrder(order)).limit(page.limit + 1).all();
  return pageOf(rows, page.limit, order);
}

/** The freezes in force for a partner (what the gate looks at). */
export async function activeFreezes(deps: Pick<Deps, 'db'>, partner: string): Promise<Array<Pick<FreezeRow, 'id' | 'reason' | 'source'>>> {
  return await deps.db
    .select({ id: releaseFreezes.id, reason: releaseFreezes.reason, source: releaseFreezes.source })
    .from(releaseFreezes)
    .where(and(eq(releaseFreezes.partner, partner), isNull(releaseFreezes.liftedAt)))
    .all();
}

/** Lifts a freeze (lifting it again changes nothing). */
export async function liftFreeze(deps: Pick<Deps, 'db' | 'clock'>, id: string): Promise<FreezeRow> {
  const row = await deps.db.select().from(releaseFreezes).where(eq(releaseFreezes.id, id)).get();
  if (!row) throw new AccordError('not_found', `No freeze ${id}`);
  if (row.liftedAt) return row;
  return (await deps.db.update(releaseFreezes).set({ liftedAt: deps.clock().toISOString() }).where(eq(releaseFreezes.id, id)).returning().get())!;
}
