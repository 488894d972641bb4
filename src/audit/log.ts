import { createHash, createHmac } from 'node:crypto';
import { desc, gt } from 'drizzle-orm';
import { pageOf } from '../lib/pages.ts';
import { auditLog, LOCKS, type Db } from '../db/index.ts';
import { ANCHOR_REF, anchorProblem, auditKeyId, type AnchorState, type StoredAnchor } from './anchor.ts';

export interface AuditEntry {
  actor: string;
  role: string;
  /** What was attempted, e.g. `POST /v1/changes/:id/reviews` or `gate.decision`. */
  action: string;
  /** What it was attempted on, e.g. the request path or a decision id. */
  target: string;
  outcome: 'ok' | 'refused' | 'error';
  detail?: Record<string, unknown>;
}

/** An entry's content as stored (`detail` is JSON text). */
export interface EntryContent {
  seq: number;
  at: string;
  actor: string;
  role: string;
  action: string;
  target: string;
  outcome: string;
  detail: string;
}

/** A row of `audit_log`. */
export interface StoredEntry extends EntryContent {
  prevHash: string;
  hash: string;
  chain: string;
}

/** How the entries written by this release are chained. */
export const KEYED = 'hmac-sha256';
/** How the entries written before the keyed chain were chained. */
export const LEGACY = 'sha256';
/** The link before the first entry. */
export const GENESIS = '0'.repeat(64);
/** SELECT list for whole rows. */
export const ENTRY_COLUMNS = 'seq, at, actor, role, action, target, outcome, detail, prev_hash AS "prevHash", hash, chain';

/** The unkeyed link of the old release (its content without seq), kept to verify legacy entries. */
function legacyHash(prevHash: string, row: EntryContent): string {
  return createHash('sha256').update(`${prevHash}\n${JSON.stringify([row.at, row.actor, row.role, row.action, row.target, row.outcome, row.detail])}`).digest('hex');
}

/** The keyed link: HMAC-SHA256 with the audit key over the previous link and the entry's content, seq included. */
export function entryHmac(key: Buffer, prevHash: string, row: EntryContent): string {
  return createHmac('sha256', key)
    .update(`accord-audit-entry/1\n${prevHash}\n${JSON.stringify([row.seq, row.at, row.actor, row.role, row.action, row.target, row.outcome, row.detail])}`)
    .digest('hex');
}

/** What `appendAudit` needs from the audit chain. */
export interface AuditAppender {
  /** The stored hash of a new entry linked to `prevHash`. */
  entryHash(prevHash: string, row: EntryContent): string;
  /** Told after each append, so an anchor can be scheduled when one is due. */
  appended(seq: number): void;
}

/** Appends one entry, keyed-chained to the previous entry, in one transaction (one append at a time, across replicas too); may schedule an anchor. */
export async function appendAudit(deps: { db: Db; clock: () => Date; audit: AuditAppender }, entry: AuditEntry): Promise<void> {
  const seq = await deps.db.transaction(async (tx) => {
    // One append at a time across replicas: each links to the head the previous one wrote.
    await tx.$serialize(LOCKS.auditAppend);
    const last = await tx.select({ seq: auditLog.seq, hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.seq)).limit(1).get();
    const row: EntryContent = {
      seq: (last?.seq ?? 0) + 1,
      at: deps.clock().toISOString(),
      actor: entry.actor,
      role: entry.role,
      action: entry.action,
      target: entry.target,
      outcome: entry.outcome,
      detail: JSON.stringify(entry.detail ?? {}),
    };
    const prevHash = last?.hash ?? GENESIS;
    await tx.insert(auditLog).values({ ...row, prevHash, hash: deps.audit.entryHash(prevHash, row), chain: KEYED }).run();
    return row.seq;
  });
  deps.audit.appended(seq);
}

/** One page of entries after `after` (a seq), oldest first, at most `limit`; `next` is the seq of the last when more follow. */
export async function listAudit(deps: { db: Db }, options: { after?: number | undefined; limit?: number } = {}) {
  const limit = Math.min(options.limit ?? 100, 1000);
  const rows = await deps.db
    .select()
    .from(auditLog)
    .where(gt(auditLog.seq, options.after ?? 0))
    .orderBy(auditLog.seq)
    .limit(limit + 1)
    .all();
  const paged = pageOf(rows, limit, [{ column: auditLog.seq, of: (r) => r.seq }]);
  return { ...paged, items: paged.items.map((r) => ({ ...r, detail: JSON.parse(r.detail) as unknown })) };
}

/** The kinds of tampering `verifyAudit` tells apart. */
export type AuditProblemKind = 'missing-anchor' | 'forged-anchor' | 'truncated' | 'all-deleted' | 'deleted' | 'edited' | 'rechained';

/** One finding of `verifyAudit`; `seq` is the first entry concerned, when there is one. */
export interface AuditProblem {
  kind: AuditProblemKind;
  seq?: number;
  message: string;
}

/** What `verifyAudit` found. */
export interface AuditVerification {
  ok: boolean;
  /** Entries read. */
  checked: number;
  /** The newest entry (seq 0 and the genesis hash when the log is empty). */
  head: { seq: number; hash: string };
  /** The unkeyed entries from before the upgrade, at the start of the log. */
  legacy: AnchorState['legacy'];
  /** The anchor compared against, when it was readable and sealed with this key. */
  anchor?: AnchorState & { commit: string; writtenAt: string };
  /** Entries newer than the anchored head (not yet anchored). */
  unanchored: number;
  keyId: string;
  problems: AuditProblem[];
}

const range = (from: number, to: number) => (from === to ? `entry ${from}` : `entries ${from}–${to}`);

/**
 * Checks the whole audit log against the key and the latest anchor: the legacy (unkeyed) segment's
 * links and hashes, every keyed entry's HMAC, link and seq, and that the log still holds what the
 * anchor recorded (count, head entry and hash, legacy segment). Reports every problem found.
 * @param stored the anchor read from `refs/accord/audit`, or undefined when the ref does not exist
 */
export async function verifyAudit(db: Db, key: Buffer, stored: StoredAnchor | undefined): Promise<AuditVerification> {
  const problems: AuditProblem[] = [];
  const anchorIssue = stored ? anchorProblem(key, stored) : undefined;
  const anchor = stored && !anchorIssue ? stored.anchor : undefined;
  const legacy = { count: 0, headSeq: 0, head: GENESIS };
  let prev = { seq: 0, hash: GENESIS };
  let checked = 0;
  let keyedSeen = false;
  let headRow: StoredEntry | undefined;
  let countAtHead = 0;
  // Consecutive entries with the same finding are reported as one range.
  let run: { kind: 'edited' | 'rechained'; from: number; to: number } | undefined;
  const flush = () => {
    if (!run) return;
    problems.push(
      run.kind === 'edited'
        ? { kind: 'edited', seq: run.from, message: `${range(run.from, run.to)} ${run.from === run.to ? 'does' : 'do'} not match ${run.from === run.to ? 'its HMAC' : 'their HMACs'}: edited, or re-chained without the key` }
        : { kind: 'rechained', seq: run.from, message: `${range(run.from, run.to)} ${run.from === run.to ? 'is' : 'are'} unkeyed but follow${run.from === run.to ? 's' : ''} keyed entries: the log was re-chained without the key` },
    );
    run = undefined;
  };
  const note = (kind: 'edited' | 'rechained', seq: number) => {
    if (run && run.kind === kind && run.to === prev.seq) run.to = seq;
    else {
      flush();
      run = { kind, from: seq, to: seq };
    }
  };

  for (const row of (await db.$sql.all(`SELECT ${ENTRY_COLUMNS} FROM audit_log ORDER BY seq`)) as StoredEntry[]) {
    checked++;
    const keyed = row.chain === KEYED;
    const gap = keyed && row.seq !== prev.seq + 1;
    if (gap || row.prevHash !== prev.hash) {
      flush();
      problems.push({
        kind: 'deleted',
        seq: row.seq,
        message: gap && row.seq > prev.seq + 1 ? `${range(prev.seq + 1, row.seq - 1)} ${row.seq - prev.seq > 2 ? 'are' : 'is'} missing` : `entry ${row.seq} does not link to the entry before it (${prev.seq || 'none'}): entries were removed or reordered`,
      });
    }
    if (keyed) {
      keyedSeen = true;
      if (entryHmac(key, row.prevHash, row) !== row.hash) note('edited', row.seq);
      else flush();
    } else if (keyedSeen) {
      note('rechained', row.seq);
    } else {
      Object.assign(legacy, { count: legacy.count + 1, headSeq: row.seq, head: row.hash });
      if (row.chain !== LEGACY || legacyHash(row.prevHash, row) !== row.hash) {
        flush();
        problems.push({ kind: 'edited', seq: row.seq, message: `unkeyed entry ${row.seq} does not match its SHA-256 hash: it was edited` });
      } else flush();
    }
    if (anchor && row.seq === anchor.head.seq) {
      headRow = row;
      countAtHead = checked;
    }
    prev = { seq: row.seq, hash: row.hash };
  }
  flush();

  if (!stored) {
    problems.push({ kind: 'missing-anchor', message: `there is no anchor (${ANCHOR_REF} does not exist in the registry): it was deleted or the registry replaced` });
  } else if (anchorIssue) {
    problems.push({ kind: 'forged-anchor', message: anchorIssue });
  } else if (anchor && checked === 0 && anchor.count > 0) {
    problems.push({ kind: 'all-deleted', message: `the log is empty but the anchor recorded ${anchor.count} entries: every entry was removed` });
  } else if (anchor) {
    if (legacy.count !== anchor.legacy.count || legacy.head !== anchor.legacy.head) {
      problems.push({
        kind: legacy.count < anchor.legacy.count ? 'deleted' : 'rechained',
        message: `the unkeyed segment from before the upgrade has ${legacy.count} entries ending in ${legacy.head.slice(0, 16)}…, the anchor recorded ${anchor.legacy.count} ending in ${anchor.legacy.head.slice(0, 16)}…: unkeyed entries were ${legacy.count < anchor.legacy.count ? 'removed' : 'edited and re-chained, or keyed ones re-chained as unkeyed'}`,
      });
    }
    if (anchor.head.seq > 0 && !headRow) {
      problems.push(
        prev.seq < anchor.head.seq
          ? { kind: 'truncated', seq: prev.seq + 1, message: `the log ends at entry ${prev.seq} but the anchor covers entries up to ${anchor.head.seq} (${anchor.count} entries): the newest anchored entries were removed` }
          : { kind: 'deleted', seq: anchor.head.seq, message: `entry ${anchor.head.seq}, the head of the anchor, is missing` },
      );
    } else if (headRow && headRow.hash !== anchor.head.hash) {
      problems.push({ kind: 'rechained', seq: anchor.head.seq, message: `entry ${anchor.head.seq} is not the entry the anchor recorded as its head: the log was re-chained or replaced` });
    } else if (headRow && countAtHead !== anchor.count) {
      problems.push({ kind: 'deleted', message: `the log has ${countAtHead} entries up to the anchored head (entry ${anchor.head.seq}), the anchor recorded ${anchor.count}: entries were removed` });
    }
  }

  const unanchored = anchor ? ((await db.$sql.value('SELECT count(*) FROM audit_log WHERE seq > ?', [anchor.head.seq])) as number) : checked;
  return {
    ok: problems.length === 0,
    checked,
    head: prev,
    legacy,
    ...(anchor && stored ? { anchor: { count: anchor.count, head: anchor.head, legacy: anchor.legacy, ...(anchor.reanchored ? { reanchored: anchor.reanchored } : {}), commit: stored.commit, writtenAt: anchor.writtenAt } } : {}),
    unanchored,
    keyId: auditKeyId(key),
    problems,
  };
}
