import { and, asc, desc, eq, gt, lt, or, type SQL, type SQLWrapper } from 'drizzle-orm';
import { AccordError } from '../errors.ts';

/**
 * Keyset pagination for domain lists, free of HTTP: a list takes a `Page` (how many, and the
 * sort key of the last item already seen) and answers a `Paged` (the items, whether more
 * follow, and the key to continue after). The HTTP layer turns keys into opaque cursors
 * (src/http/pages.ts).
 */

/** One value of a sort key. */
export type KeyValue = string | number;

/** What page of a list to answer: at most `limit` items, those after the sort key `after`. */
export interface Page {
  limit: number;
  after?: KeyValue[] | undefined;
}

/** One page of a list: its items, whether more follow, and the sort key of the last item when they do. */
export interface Paged<T> {
  items: T[];
  more: boolean;
  next?: KeyValue[];
}

/** One column of a list's order: the SQL it sorts by, its direction, and its value in a row. */
export interface KeyPart<R> {
  column: SQLWrapper;
  desc?: boolean;
  of: (row: R) => KeyValue;
}

/** ORDER BY terms of a keyset order. */
export function keyOrder<R>(parts: readonly KeyPart<R>[]): SQL[] {
  return parts.map((p) => (p.desc ? desc(p.column) : asc(p.column)));
}

/**
 * The condition "after `after` in this order", written as (a > x) OR (a = x AND b > y) … with
 * each column's direction, so it means the same on SQLite and PostgreSQL whatever the directions.
 */
export function keyAfter<R>(parts: readonly KeyPart<R>[], after: KeyValue[] | undefined): SQL | undefined {
  if (!after) return undefined;
  return or(...parts.map((p, i) => and(...parts.slice(0, i).map((q, j) => eq(q.column, after[j])), (p.desc ? lt : gt)(p.column, after[i]))));
}

/** The page of `rows` fetched with limit + 1: the first `limit`, and the key of the last when more follow. */
export function pageOf<R>(rows: R[], limit: number, parts: readonly KeyPart<R>[]): Paged<R> {
  if (rows.length <= limit) return { items: rows, more: false };
  const items = rows.slice(0, limit);
  const last = items[items.length - 1]!;
  return { items, more: true, next: parts.map((p) => p.of(last)) };
}

/**
 * The page of a list built in memory whose order has no sortable key (Git history): the items
 * after the one whose key equals `after`; 400 (`cursor`) when that item is no longer listed.
 */
export function slicePageAfterItem<T>(all: T[], page: Page, keyOf: (item: T) => KeyValue[]): Paged<T> {
  let rest = all;
  if (page.after) {
    const after = JSON.stringify(page.after);
    const at = all.findIndex((item) => JSON.stringify(keyOf(item)) === after);
    if (at < 0) throw new AccordError('bad_request', 'Invalid cursor: the item it continues after is no longer listed', { errors: [{ location: 'cursor', message: 'does not fit this list' }] });
    rest = all.slice(at + 1);
  }
  if (rest.length <= page.limit) return { items: rest, more: false };
  const items = rest.slice(0, page.limit);
  return { items, more: true, next: keyOf(items[items.length - 1]!) };
}
