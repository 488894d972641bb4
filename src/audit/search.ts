import type { Deps } from '../deps.ts';
import { parseStoredAnchor } from './anchor.ts';
import { loadAuditKey } from './key.ts';
import { verifyAudit, type AuditVerification } from './log.ts';

/** What the audit log can be searched by; text filters are case-insensitive substrings. */
export interface AuditFilter {
  actor?: string;
  action?: string;
  target?: string;
  outcome?: 'ok' | 'refused' | 'error';
  /** First day (YYYY-MM-DD, UTC) to include. */
  from?: string;
  /** Last day (YYYY-MM-DD, UTC) to include. */
  to?: string;
  /** Only entries older than this seq (keyset pagination, newest first). */
  before?: number;
}

/** One page of matching entries, newest first. */
export interface AuditPage {
  entries: Array<{ seq: number; at: string; actor: string; role: string; action: string; target: string; outcome: string; detail: string }>;
  /** `before` for the next (older) page; undefined when nothing older can match. */
  next?: number;
  /** The seqs this page searched (newest first from `to`); undefined when nothing could match. */
  searched?: { from: number; to: number };
  /** True when the page is short because the scan window ended, not because the matches did. */
  windowEnded: boolean;
}

/** Entries per page. */
export const AUDIT_PAGE_SIZE = 50;
/**
 * Most entries one page reads. The log is indexed by seq only, so substring filters cannot use an
 * index: each page scans at most this many consecutive seqs, which keeps a page fast however large
 * the log is; the page then offers to go on searching older entries.
 */
export const AUDIT_SCAN_WINDOW = 50_000;

const DAY_MS = 86_400_000;

type Client = Deps['db']['$sql'];

/**
 * The first seq (at or after `lo`) whose time is at or after `iso`, by binary search over seq
 * (entries are appended in time order); `hi + 1` when there is none.
 */
async function firstSeqAtOrAfter(db: Client, iso: string, lo: number, hi: number): Promise<number> {
  let low = lo;
  let high = hi + 1;
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    const row = await db.get<{ seq: number; at: string }>('SELECT seq, at FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT 1', [mid]);
    if (!row || row.seq > hi || row.at >= iso) high = mid;
    else low = row.seq + 1;
  }
  return low;
}

/**
 * The LIKE pattern for a case-insensitive substring, matched against `lower(column)`: SQLite's
 * LIKE ignores ASCII case only and PostgreSQL's ignores none, so both compare ASCII-lowercased
 * text. lower() of a COLLATE "C" column changes ASCII letters only, as SQLite's lower() does;
 * the pattern is lowered here (ASCII only), so no database collation decides how it lowers.
 */
const like = (text: string) => `%${text.replace(/[A-Z]/g, (c) => c.toLowerCase()).replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * One page of the audit log, newest first, matching every filter given. Dates become a seq range
 * by binary search (O(log n) primary-key reads); the other filters are checked on at most
 * `AUDIT_SCAN_WINDOW` consecutive entries, so a page costs the same on a log of any size.
 */
export async function searchAudit(deps: Pick<Deps, 'db'>, filter: AuditFilter, { pageSize = AUDIT_PAGE_SIZE, window = AUDIT_SCAN_WINDOW } = {}): Promise<AuditPage> {
  const db = deps.db.$sql;
  // Two statements: SQLite answers a lone min() or max() of the primary key from the index, both together by a full scan.
  const first = (await db.value('SELECT min(seq) FROM audit_log')) as number | null;
  const last = (await db.value('SELECT max(seq) FROM audit_log')) as number | null;
  if (first === null || last === null) return { entries: [], windowEnded: false };
  let hi = Math.min(last, (filter.before ?? Number.MAX_SAFE_INTEGER) - 1);
  let lo = first;
  const fromIso = filter.from && new Date(`${filter.from}T00:00:00.000Z`).toISOString();
  const untilIso = filter.to && new Date(Date.parse(`${filter.to}T00:00:00.000Z`) + DAY_MS).toISOString();
  if (fromIso) lo = await firstSeqAtOrAfter(db, fromIso, lo, hi);
  if (untilIso) hi = (await firstSeqAtOrAfter(db, untilIso, lo, hi)) - 1;
  if (hi < lo) return { entries: [], windowEnded: false };
  const windowLo = Math.max(lo, hi - window + 1);

  const where = ['seq BETWEEN ? AND ?'];
  const params: Array<string | number> = [windowLo, hi];
  for (const field of ['actor', 'action', 'target'] as const) {
    if (filter[field]) {
      where.push(`lower(${field}) LIKE ? ESCAPE '\\'`);
      params.push(like(filter[field]));
    }
  }
  if (filter.outcome) {
    where.push('outcome = ?');
    params.push(filter.outcome);
  }
  // Exact times as well: the binary search assumes times never go backwards.
  if (fromIso) {
    where.push('at >= ?');
    params.push(fromIso);
  }
  if (untilIso) {
    where.push('at < ?');
    params.push(untilIso);
  }
  const rows = (await db.all(`SELECT seq, at, actor, role, action, target, outcome, detail FROM audit_log WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ?`, [...params, pageSize + 1])) as AuditPage['entries'];
  const entries = rows.slice(0, pageSize);
  if (rows.length > pageSize) return { entries, next: entries.at(-1)!.seq, searched: { from: entries.at(-1)!.seq, to: hi }, windowEnded: false };
  const windowEnded = windowLo > lo;
  return { entries, ...(windowEnded ? { next: windowLo } : {}), searched: { from: windowLo, to: hi }, windowEnded };
}

/**
 * Verifies the whole audit log as `accord audit verify` does: every link and HMAC with the audit
 * key (ACCORD_AUDIT_KEY or the data dir's key file), against the latest anchor on
 * `refs/accord/audit`. Reads every entry: call it on demand, not on every page view.
 */
export async function verifyAuditLog(deps: Pick<Deps, 'db' | 'registry' | 'config'>): Promise<AuditVerification> {
  const { key } = loadAuditKey(deps.config, { create: false });
  const stored = parseStoredAnchor(await deps.registry.readAuditAnchor());
  return await verifyAudit(deps.db, key, stored);
}
