import { randomBytes } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { keyAfter, keyOrder, pageOf, type KeyPart, type Page, type Paged } from '../lib/pages.ts';
import { z } from 'zod';
import type { Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { reviewItems, type Db } from '../db/index.ts';
import { AccordError } from '../errors.ts';

/**
 * Post-release review items: each break-glass pass of the gate opens one, and it stays open
 * until an approver or admin closes it with what the review concluded.
 */

export type ReviewItemRow = typeof reviewItems.$inferSelect;

/** A review item's states. */
export const REVIEW_ITEM_STATUSES = ['open', 'closed'] as const;

/** What closing a review item says. */
export const ReviewConclusion = z
  .object({
    conclusion: z
      .string({ error: 'required' })
      .refine((conclusion) => conclusion.trim().length >= 3, 'required')
      .meta({ description: 'What the review concluded (at least 3 characters)' }),
  })
  .meta({ id: 'ReviewConclusion' });

export type ReviewConclusion = z.output<typeof ReviewConclusion>;

/** A new review item's id (the gate names it in the decision before storing both). */
export function newReviewItemId(): string {
  return `rvw_${randomBytes(8).toString('hex')}`;
}

/** Opens the review item of a break-glass decision, inside the transaction storing the decision. */
export async function openReviewItem(tx: Pick<Db, 'insert'>, item: Omit<ReviewItemRow, 'status'>): Promise<void> {
  await tx.insert(reviewItems).values({ ...item, status: 'open' }).run();
}

/** One page of the review items, newest first, optionally only those of one status. */
export async function listReviewItems(deps: Pick<Deps, 'db'>, status?: string, page: Page = { limit: 500 }): Promise<Paged<ReviewItemRow>> {
  const order: KeyPart<ReviewItemRow>[] = [
    { column: reviewItems.createdAt, desc: true, of: (r) => r.createdAt },
    { column: reviewItems.id, desc: true, of: (r) => r.id },
  ];
  const rows = await deps.db
    .select()
    .from(reviewItems)
    .where(and(status ? eq(reviewItems.status, status) : undefined, keyAfter(order, page.after)))
    .orderBy(...keyOrder(order))
    .limit(page.limit + 1)
    .all();
  return pageOf(rows, page.limit, order);
}

/** Closes a review item with what the review concluded (appended to its reason, signed by the reviewer). */
export async function closeReviewItem(deps: Pick<Deps, 'db'>, principal: Principal, id: string, input: ReviewConclusion): Promise<ReviewItemRow> {
  const row = await deps.db.select().from(reviewItems).where(eq(reviewItems.id, id)).get();
  if (!row) throw new AccordError('not_found', `No review item ${id}`);
  if (row.status === 'closed') throw new AccordError('conflict', `Review item ${id} is already closed`);
  return (await deps.db.update(reviewItems).set({ status: 'closed', reason: `${row.reason}\n\nReview (${principal.name}): ${input.conclusion.trim()}` }).where(eq(reviewItems.id, id)).returning().get())!;
}
