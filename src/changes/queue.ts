import { inArray } from 'drizzle-orm';
import { hasScope, type Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import type { Sql } from '../db/index.ts';
import { changeRequests } from '../db/index.ts';
import { AccordError } from '../errors.ts';
import type { ChangeRow } from './changes.ts';
import { changeAuthors, countedApprovers, sameActor } from './separation.ts';

/**
 * The change-request queue: which change requests await whom.
 *
 * Only a version's newest change request is *current* (the gate looks at no other); older ones
 * are superseded and appear in no list. A current change request is
 * - **open** when its version is `draft` or `approved` (never released anywhere, not retired)
 *   and no reviewer rejected its diff;
 * - **review** (awaiting review) when open with fewer counted approvals than it requires — the
 *   gate's count: approvals of its diff, one per person, none by its authors. For a viewer who
 *   may review (an approver or admin whose token may use `changes:review`) only those it may
 *   review: not opened or registered by it (same token or a look-alike name, as the separation
 *   of duties rules) and not yet reviewed by it;
 * - **acks** (awaiting acknowledgements) when open, approvals met, and a partner it requires
 *   has not acknowledged its diff;
 * - **ready** when open, approvals met and every required acknowledgement given (what remains
 *   is evidence, the gate and the release);
 * - **released** when its version was released (to any environment), deprecated or retired.
 *
 * A partner's **inbox** holds the open change requests that list it among the required
 * acknowledgements and that it has not acknowledged (for their diff).
 *
 * Lists are newest first (the most recently opened change request first), in pages. Each is one
 * SQL query over indexes with a LIMIT: the JSON list of required acknowledgements is read with
 * SQLite's json functions, no change's diff is parsed, and the separation-of-duties rules run
 * inside the query (src/changes/separation.ts, as SQL functions).
 */

/** The staff queue's tabs, in the order the console shows them. */
export const QUEUE_TABS = ['review', 'acks', 'ready', 'released'] as const;
export type QueueTab = (typeof QUEUE_TABS)[number];

/** What a queue row shows of a change request. */
export interface QueueRow {
  id: string;
  partner: string;
  api: string;
  version: string;
  breaking: boolean;
  summary: string;
  createdAt: string;
  createdBy: string;
  /** The version's state (draft, approved, released, deprecated, retired). */
  state: string;
  approvals: number;
  requiredApprovals: number;
  acknowledgements: number;
  requiredAcknowledgements: number;
  rejected: boolean;
}

/** One page of a list, newest change first. */
export interface QueuePage {
  rows: QueueRow[];
  page: number;
  hasMore: boolean;
}

/** Change requests per page of a list. */
export const QUEUE_PAGE_SIZE = 50;

/** Whether the principal reviews change requests (role and, for a limited token, scope). */
export function mayReview(principal: Principal): boolean {
  return (principal.role === 'admin' || principal.role === 'approver') && hasScope(principal, 'changes:review');
}

/** Where a current change request stands, in the queue's terms (see the module's definitions). */
export function queueStatus(row: Pick<QueueRow, 'state' | 'rejected' | 'approvals' | 'requiredApprovals' | 'acknowledgements' | 'requiredAcknowledgements'>): 'rejected' | 'released' | 'review' | 'acks' | 'ready' {
  if (!OPEN_STATES.includes(row.state)) return 'released';
  if (row.rejected) return 'rejected';
  if (row.approvals < row.requiredApprovals) return 'review';
  return row.acknowledgements < row.requiredAcknowledgements ? 'acks' : 'ready';
}

const OPEN_STATES = ['draft', 'approved'];

// The gate's own rules run inside the queries as SQL functions, registered once per connection.
// On PostgreSQL its migrations create them (migrations-pg).
const prepared = new WeakSet<object>();
function sqlOf(deps: Pick<Deps, 'db'>): Sql {
  const sqlite = deps.db.$sqlite;
  if (sqlite && !prepared.has(sqlite)) {
    sqlite.function('accord_same_actor', { deterministic: true }, (name, token, otherName, otherToken) =>
      sameActor({ name: String(name), token: token === null ? undefined : String(token) }, { name: String(otherName), token: otherToken === null ? undefined : String(otherToken) }) ? 1 : 0,
    );
    type Review = { reviewer: string; reviewerToken: string; decision: string; diffHash: string };
    type State = { reviews: Review[]; change?: { createdBy: string; createdByToken: string; diffHash: string; registeredBy: string } };
    sqlite.aggregate('accord_counted_approvals', {
      varargs: true,
      start: (): State => ({ reviews: [] }),
      step: (state: State, ...values: unknown[]) => {
        const [reviewer, reviewerToken, decision, diffHash, changeDiffHash, createdBy, createdByToken, registeredBy] = values.map(String) as [string, string, string, string, string, string, string, string];
        state.change ??= { createdBy, createdByToken, diffHash: changeDiffHash, registeredBy };
        state.reviews.push({ reviewer, reviewerToken, decision, diffHash });
        return state;
      },
      result: (state: State) => (state.change ? countedApprovers(changeAuthors(state.change, state.change.registeredBy), state.change.diffHash, state.reviews).length : 0),
    });
    prepared.add(sqlite);
  }
  return deps.db.$sql;
}

/**
 * Current change requests (`c`, the newest of its version `v`) found from their versions' states
 * (indexed): open change requests are few next to the released history, so lists and counts of
 * open ones read only those. Ends in a WHERE clause: callers add `AND …`. The join condition
 * sits in WHERE because PostgreSQL takes no ON after CROSS JOIN, and CROSS JOIN it stays because
 * it tells SQLite to read the versions first. Change requests opened in the same millisecond
 * are told apart by rowid, as latestChangeFor does.
 */
const NEWEST_OF_VERSION = 'ORDER BY n.created_at DESC, n.rowid DESC LIMIT 1';
const CURRENT = `FROM contract_versions v CROSS JOIN change_requests c
  WHERE c.rowid = (SELECT n.rowid FROM change_requests n WHERE n.partner = v.partner AND n.api = v.api AND n.version = v.version ${NEWEST_OF_VERSION})`;

/** Change requests with their version, newest first, so that a list of a common kind stops reading once its page is full (ends in WHERE, as CURRENT)... */
const NEWEST_FIRST_FROM = 'FROM change_requests c CROSS JOIN contract_versions v WHERE v.partner = c.partner AND v.api = c.api AND v.version = c.version';
/** ...of which only the current ones count. */
const IS_CURRENT = `c.rowid = (SELECT n.rowid FROM change_requests n WHERE n.partner = c.partner AND n.api = c.api AND n.version = c.version ${NEWEST_OF_VERSION})`;

const OPEN = `v.state IN ('draft', 'approved')`;
const CLOSED = `v.state IN ('released', 'deprecated', 'retired')`;
/** The gate's count of approvals: its diff's, one per person, none by its authors (separation.ts). */
const APPROVALS = `(SELECT accord_counted_approvals(r.reviewer, r.reviewer_token, r.decision, r.diff_hash, c.diff_hash, c.created_by, c.created_by_token, v.created_by)
  FROM change_reviews r WHERE r.change_id = c.id AND r.decision = 'approve')`;
// Only partners asked to acknowledge can acknowledge, so distinct acknowledging partners are the required ones given.
const ACKNOWLEDGED = `(SELECT count(DISTINCT a.partner) FROM change_acks a WHERE a.change_id = c.id AND a.diff_hash = c.diff_hash)`;
const REQUIRED_ACKS = 'json_array_length(c.required_acks)';
const REJECTED = `EXISTS (SELECT 1 FROM change_reviews r WHERE r.change_id = c.id AND r.diff_hash = c.diff_hash AND r.decision = 'reject')`;
/** That the viewer (:name, :token) may review `c`: not one of its authors, and has not reviewed its diff. */
const VIEWER_MAY_REVIEW = `NOT accord_same_actor(:name, :token, c.created_by, c.created_by_token) AND NOT accord_same_actor(:name, :token, v.created_by, NULL)
  AND NOT EXISTS (SELECT 1 FROM change_reviews m WHERE m.change_id = c.id AND m.diff_hash = c.diff_hash AND accord_same_actor(:name, :token, m.reviewer, m.reviewer_token))`;
const IN_INBOX = `EXISTS (SELECT 1 FROM json_each(c.required_acks) j WHERE j.value = :partner)
  AND NOT EXISTS (SELECT 1 FROM change_acks a WHERE a.change_id = c.id AND a.partner = :partner AND a.diff_hash = c.diff_hash)
  AND NOT ${REJECTED}`;

/** How many rows meet a condition: CASE takes SQLite's 0/1 and PostgreSQL's booleans alike (PostgreSQL has no sum(boolean)). */
const countWhere = (condition: string) => `coalesce(sum(CASE WHEN ${condition} THEN 1 ELSE 0 END), 0)`;

/** What a staff tab lists (`FROM … WHERE …` over current change requests `c` and versions `v`); the viewer's own conditions when it reviews. */
function tabSelection(tab: QueueTab, viewerReviews: boolean): string {
  const open = (condition: string) => `${CURRENT} AND ${OPEN} AND NOT ${REJECTED} AND ${condition}`;
  switch (tab) {
    case 'review':
      return open(`${viewerReviews ? `${VIEWER_MAY_REVIEW} AND ` : ''}${APPROVALS} < c.required_approvals`);
    case 'acks':
      return open(`${REQUIRED_ACKS} > 0 AND ${ACKNOWLEDGED} < ${REQUIRED_ACKS} AND ${APPROVALS} >= c.required_approvals`);
    case 'ready':
      return open(`(${REQUIRED_ACKS} = 0 OR ${ACKNOWLEDGED} >= ${REQUIRED_ACKS}) AND ${APPROVALS} >= c.required_approvals`);
    case 'released':
      return `${NEWEST_FIRST_FROM} AND ${CLOSED} AND ${IS_CURRENT}`;
  }
}

function checkPage(page: number): void {
  if (!Number.isInteger(page) || page < 1 || page > 100_000) throw new AccordError('bad_request', 'page must be a whole number from 1', { errors: [{ location: 'page', message: 'must be a whole number from 1 to 100000' }] });
}

/**
 * One page of the change requests a selection (`FROM … WHERE …` over `c`, `v`) lists, newest
 * first; display columns and counts are read for the page's rows only.
 */
async function listPage(deps: Pick<Deps, 'db'>, selection: string, params: Record<string, unknown>, page: number, pageSize: number): Promise<QueuePage> {
  checkPage(page);
  const rows = (await sqlOf(deps).all(
      `WITH sel AS (SELECT c.rowid AS rid ${selection} ORDER BY c.rowid DESC LIMIT :limit OFFSET :offset)
       SELECT c.id, c.partner, c.api, c.version, c.breaking, c.summary, c.created_at AS "createdAt", c.created_by AS "createdBy", v.state,
         ${APPROVALS} AS approvals, c.required_approvals AS "requiredApprovals", ${ACKNOWLEDGED} AS acknowledgements, ${REQUIRED_ACKS} AS "requiredAcknowledgements", CASE WHEN ${REJECTED} THEN 1 ELSE 0 END AS rejected
       FROM sel CROSS JOIN change_requests c
       JOIN contract_versions v ON v.partner = c.partner AND v.api = c.api AND v.version = c.version
       WHERE c.rowid = sel.rid
       ORDER BY c.rowid DESC`,
    { ...params, limit: pageSize + 1, offset: (page - 1) * pageSize },
  )) as Array<Omit<QueueRow, 'breaking' | 'rejected'> & { breaking: number; rejected: number }>;
  return {
    rows: rows.slice(0, pageSize).map((r) => ({ ...r, breaking: r.breaking === 1, rejected: r.rejected === 1 })),
    page,
    hasMore: rows.length > pageSize,
  };
}

const viewerParams = (viewer: Principal) => (mayReview(viewer) ? { name: viewer.name, token: viewer.tokenId } : {});

/**
 * One page of a staff queue tab (see the module's definitions), newest change request first.
 * @param viewer whose review the `review` tab is about (when it may review)
 */
export async function changeQueue(deps: Pick<Deps, 'db'>, viewer: Principal, tab: QueueTab, page = 1, pageSize = QUEUE_PAGE_SIZE): Promise<QueuePage> {
  return await listPage(deps, tabSelection(tab, mayReview(viewer)), viewerParams(viewer), page, pageSize);
}

/**
 * Counts stay valid while the queue's inputs are unchanged. Those only grow (change requests,
 * reviews and acknowledgements are never deleted) or move forward (a version never returns to
 * draft or approved once released), so this fingerprint changes whenever a count may.
 */
const FINGERPRINT = `SELECT (SELECT max(rowid) FROM change_requests) || ' ' || (SELECT max(rowid) FROM change_reviews) || ' '
  || (SELECT max(rowid) FROM change_acks) || ' ' || (SELECT count(*) FROM contract_versions v WHERE ${CLOSED})`;
const MAX_CACHED_COUNTS = 1000;
const cachedCounts = new WeakMap<object, Map<string, { fingerprint: string; counts: unknown }>>();

/** A count computed at most once per viewer and state of the queue's tables. */
async function cached<T>(deps: Pick<Deps, 'db'>, key: string, compute: () => Promise<T>): Promise<T> {
  const sqlite = sqlOf(deps);
  let cache = cachedCounts.get(deps.db);
  if (!cache) cachedCounts.set(deps.db, (cache = new Map()));
  const fingerprint = String((await sqlite.value(FINGERPRINT)));
  const hit = cache.get(key);
  if (hit?.fingerprint === fingerprint) return hit.counts as T;
  const counts = await compute();
  if (cache.size >= MAX_CACHED_COUNTS) cache.clear();
  cache.set(key, { fingerprint, counts });
  return counts;
}

/** How many current change requests each staff tab holds for this viewer (one pass over the open versions). */
export async function queueCounts(deps: Pick<Deps, 'db'>, viewer: Principal): Promise<Record<QueueTab, number>> {
  const viewerReviews = mayReview(viewer);
  return await cached(deps, viewerReviews ? `review ${viewer.tokenId} ${viewer.name}` : 'all', async () => {
    const sqlite = sqlOf(deps);
    const open = (await sqlite.get(`WITH s AS MATERIALIZED (SELECT ${APPROVALS} >= c.required_approvals AS approved, (${REQUIRED_ACKS} = 0 OR ${ACKNOWLEDGED} >= ${REQUIRED_ACKS}) AS acknowledged${viewerReviews ? `, ${VIEWER_MAY_REVIEW} AS mine` : ''}
           ${CURRENT} AND ${OPEN} AND NOT ${REJECTED})
         SELECT ${countWhere(`NOT approved${viewerReviews ? ' AND mine' : ''}`)} AS review, ${countWhere('approved AND NOT acknowledged')} AS acks, ${countWhere('approved AND acknowledged')} AS ready FROM s`, viewerParams(viewer))) as Omit<Record<QueueTab, number>, 'released'>;
    const released = (await sqlite.value(`SELECT count(*) FROM contract_versions v WHERE ${CLOSED} AND EXISTS (SELECT 1 FROM change_requests n WHERE n.partner = v.partner AND n.api = v.api AND n.version = v.version)`)) as number;
    return { ...open, released };
  });
}

/** One page of a partner's inbox: open change requests awaiting its acknowledgement, newest first. */
export async function acknowledgementInbox(deps: Pick<Deps, 'db'>, partner: string, page = 1, pageSize = QUEUE_PAGE_SIZE): Promise<QueuePage> {
  return await listPage(deps, `${CURRENT} AND ${OPEN} AND ${IN_INBOX}`, { partner }, page, pageSize);
}

/** How many change requests await the partner's acknowledgement. */
export async function inboxCount(deps: Pick<Deps, 'db'>, partner: string): Promise<number> {
  return await cached(deps, `inbox ${partner}`, async () => (await sqlOf(deps).value<number>(`SELECT count(*) ${CURRENT} AND ${OPEN} AND ${IN_INBOX}`, { partner }))!);
}

/** One page of the current change requests of a partner's own APIs (any state), newest first. */
export async function partnerChanges(deps: Pick<Deps, 'db'>, partner: string, page = 1, pageSize = QUEUE_PAGE_SIZE): Promise<QueuePage> {
  return await listPage(deps, `FROM change_requests c WHERE c.partner = :partner AND ${IS_CURRENT}`, { partner }, page, pageSize);
}

/**
 * The change requests awaiting the principal (`GET /v1/changes?awaiting=me`), newest first, at
 * most `limit`: for a partner its inbox; for an approver or admin the open ones it may still
 * review (the `review` tab); nothing for other roles, who neither review nor acknowledge.
 */
export async function awaitingPrincipal(deps: Pick<Deps, 'db'>, principal: Principal, limit = 100): Promise<ChangeRow[]> {
  let page: QueuePage;
  if (principal.role === 'partner') page = await acknowledgementInbox(deps, principal.partner!, 1, limit);
  else if (mayReview(principal)) page = await changeQueue(deps, principal, 'review', 1, limit);
  else return [];
  if (page.rows.length === 0) return [];
  const byId = new Map((await deps.db.select().from(changeRequests).where(inArray(changeRequests.id, page.rows.map((r) => r.id))).all()).map((r) => [r.id, r]));
  return page.rows.map((r) => byId.get(r.id)!);
}
