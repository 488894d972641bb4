import { createHash } from 'node:crypto';
import { desc, gt } from 'drizzle-orm';
import type { Deps } from '../context.ts';
import { auditLog, type Db } from '../db/index.ts';

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

const GENESIS = '0'.repeat(64);

function linkHash(prevHash: string, row: { at: string; actor: string; role: string; action: string; target: string; outcome: string; detail: string }): string {
  return createHash('sha256').update(`${prevHash}\n${JSON.stringify([row.at, row.actor, row.role, row.action, row.target, row.outcome, row.detail])}`).digest('hex');
}

/** Appends one entry, chained to the previous entry's hash, in one SQLite transaction. */
export function appendAudit(deps: Pick<Deps, 'db' | 'clock'>, entry: AuditEntry): void {
  deps.db.transaction((tx) => {
    const last = tx.select({ hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.seq)).limit(1).get();
    const row = { at: deps.clock().toISOString(), actor: entry.actor, role: entry.role, action: entry.action, target: entry.target, outcome: entry.outcome, detail: JSON.stringify(entry.detail ?? {}) };
    const prevHash = last?.hash ?? GENESIS;
    tx.insert(auditLog).values({ ...row, prevHash, hash: linkHash(prevHash, row) }).run();
  });
}

/** Entries after `after` (a seq), oldest first, at most `limit`. */
export function listAudit(deps: Pick<Deps, 'db'>, options: { after?: number; limit?: number } = {}) {
  return deps.db
    .select()
    .from(auditLog)
    .where(gt(auditLog.seq, options.after ?? 0))
    .orderBy(auditLog.seq)
    .limit(Math.min(options.limit ?? 100, 1000))
    .all()
    .map((r) => ({ ...r, detail: JSON.parse(r.detail) as unknown }));
}

/** Recomputes the chain; reports the first entry whose link or content does not match. */
export function verifyAudit(db: Db): { ok: boolean; checked: number; head: string; firstBroken?: { seq: number; reason: string } } {
  let prev = GENESIS;
  let checked = 0;
  const rows = db.$client.prepare('SELECT seq, at, actor, role, action, target, outcome, detail, prev_hash AS prevHash, hash FROM audit_log ORDER BY seq').iterate() as IterableIterator<typeof auditLog.$inferSelect>;
  for (const row of rows) {
    checked++;
    if (row.prevHash !== prev) return { ok: false, checked, head: prev, firstBroken: { seq: row.seq, reason: 'previous-hash link does not match the entry before it (an entry was removed or reordered)' } };
    if (linkHash(prev, row) !== row.hash) return { ok: false, checked, head: prev, firstBroken: { seq: row.seq, reason: 'content does not match its hash (the entry was altered)' } };
    prev = row.hash;
  }
  return { ok: true, checked, head: prev };
}
