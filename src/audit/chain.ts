import fs from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Db } from '../db/index.ts';
import { AccordError } from '../errors.ts';
import type { GitRegistry } from '../registry/git-registry.ts';
import { ANCHOR_REF, anchorProblem, anchorText, parseStoredAnchor, sealAnchor, type AnchorState, type AuditAnchor } from './anchor.ts';
import { auditKeyFile, loadAuditKey } from './key.ts';
import { appendAudit, ENTRY_COLUMNS, entryHmac, KEYED, verifyAudit, type AuditAppender, type EntryContent, type StoredEntry } from './log.ts';

/** How long an entry may wait for an anchor before the jobs loop writes one. */
const MAX_UNANCHORED_MS = 60_000;

/** What one anchoring attempt did. */
export interface AnchorOutcome {
  written: boolean;
  /** Why nothing was written although entries wait (the log no longer extends the last anchor, or the ref changed). */
  problem?: string;
}

interface ChainDeps {
  db: Db;
  registry: GitRegistry;
  logger: Logger;
  config: Pick<Config, 'auditKey' | 'auditAnchorEvery' | 'dataDir'>;
}

/**
 * Where the log goes from an anchored state: the new count and head when every entry after the
 * anchored head is keyed, contiguous, linked and matches its HMAC, and the anchored head itself
 * is still there unchanged; otherwise what breaks that. Never anchors over tampering.
 */
async function extendAnchor(db: Db, key: Buffer, from: AnchorState): Promise<Pick<AnchorState, 'count' | 'head'> | { problem: string }> {
  let head = from.head;
  let sawHead = from.head.seq === 0;
  for (const row of (await db.$sql.all(`SELECT ${ENTRY_COLUMNS} FROM audit_log WHERE seq >= ? ORDER BY seq`, [from.head.seq])) as StoredEntry[]) {
    if (!sawHead) {
      if (row.seq !== from.head.seq || row.hash !== from.head.hash) return { problem: `entry ${from.head.seq}, the head of the last anchor, is ${row.seq !== from.head.seq ? 'missing' : 'no longer the entry anchored'}` };
      sawHead = true;
      continue;
    }
    if (row.seq !== head.seq + 1) return { problem: `entries ${head.seq + 1}–${row.seq - 1} after the last anchor are missing` };
    if (row.chain !== KEYED || row.prevHash !== head.hash || entryHmac(key, row.prevHash, row) !== row.hash) return { problem: `entry ${row.seq} does not match its keyed link` };
    head = { seq: row.seq, hash: row.hash };
  }
  if (!sawHead) return { problem: `entry ${from.head.seq}, the head of the last anchor, is missing (the log was truncated)` };
  return { count: from.count + (head.seq - from.head.seq), head };
}

/**
 * The audit log's keyed chain: the key (loaded once, kept outside the database) and the anchors
 * on `refs/accord/audit` in the Git registry. Appends are synchronous; anchors are written in the
 * background every `auditAnchorEvery` entries, by the jobs loop when an entry waited a minute,
 * and at close. An anchor is only ever written over a log that extends the previous one.
 */
export class AuditChain implements AuditAppender {
  private readonly key: Buffer;
  private readonly deps: ChainDeps;
  /** The newest anchor known to be good; `commit` undefined until the first one is written. */
  private anchored: { commit: string | undefined; state: AnchorState };
  /** True until the first anchor (at the upgrade, or on a new data dir) is written. */
  private firstPending: boolean;
  private newestSeq: number;
  /** Wall time when the oldest unanchored entry was appended. */
  private unanchoredSince: number | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** An anchoring that is queued but has not started: later requests join it. */
  private queued: Promise<AnchorOutcome> | undefined;
  private closed = false;
  private lastProblem: string | undefined;

  private constructor(deps: ChainDeps, key: Buffer, anchored: { commit: string | undefined; state: AnchorState }, newestSeq: number) {
    this.deps = deps;
    this.key = key;
    this.anchored = anchored;
    this.firstPending = anchored.commit === undefined;
    this.newestSeq = newestSeq;
    this.unanchoredSince = newestSeq > anchored.state.head.seq ? Date.now() : undefined;
  }

  /**
   * Loads the key (creating `<dataDir>/audit.key` on a data dir without keyed entries), checks the
   * latest anchor against it and anchors what is not anchored yet — on the first start of this
   * release, the legacy (unkeyed) entries. Refuses (AccordError `unavailable`) when the key does not
   * match the anchor, when keyed entries exist but the anchor is gone, or when the log no longer
   * extends its anchor: those need an operator (`accord audit verify`, then a restored backup or
   * `accord audit reanchor`), never a silent new anchor.
   */
  static async open(deps: ChainDeps): Promise<AuditChain> {
    const { db, registry, logger } = deps;
    const hasKeyed = (await db.$sql.get('SELECT 1 FROM audit_log WHERE chain = ? LIMIT 1', [KEYED])) !== undefined;
    if (hasKeyed && !deps.config.auditKey && !fs.existsSync(auditKeyFile(deps.config.dataDir))) {
      throw new AccordError('unavailable', `The audit log has keyed entries but there is no audit key (ACCORD_AUDIT_KEY or ${auditKeyFile(deps.config.dataDir)}): restore the key; a new one would make the log unverifiable`);
    }
    const { key, source, created } = loadAuditKey(deps.config, { create: true });
    if (created) logger.warn({ file: source }, 'created the audit key; keep a copy outside the data dir: without it the audit log cannot be verified');
    const newestSeq = ((await db.$sql.value('SELECT max(seq) FROM audit_log')) as number | null) ?? 0;
    const stored = parseStoredAnchor(await registry.readAuditAnchor());
    let chain: AuditChain;
    if (stored) {
      const problem = anchorProblem(key, stored);
      if (problem) throw new AccordError('unavailable', `Refusing to start: ${problem}. Run \`accord audit verify\`.`);
      chain = new AuditChain(deps, key, { commit: stored.commit, state: stored.anchor! }, newestSeq);
    } else {
      if (hasKeyed) {
        throw new AccordError(
          'unavailable',
          `Refusing to start: the audit log has keyed entries but ${ANCHOR_REF} is missing from the registry (deleted, or the registry was replaced). Restore the registry from a backup, or after investigating accept the current log with \`accord audit reanchor --reason …\`.`,
        );
      }
      // No anchor and no keyed entry: the first start of this release, or a new data dir — but only
      // if this start made the key or the registry. Otherwise the anchor was deleted and the
      // entries may have been relabelled as legacy and re-chained: anchoring them would bless that.
      if (!created && !registry.created) {
        throw new AccordError(
          'unavailable',
          `Refusing to start: ${ANCHOR_REF} is missing from the registry although the audit key (${source}) was not made by this start — the anchor was deleted or the registry replaced, and the entries may have been rewritten as unkeyed ones. Run \`accord audit verify\`; restore the registry from a backup, or after investigating accept the current log with \`accord audit reanchor --reason …\` (also what the first start of this release needs when ACCORD_AUDIT_KEY is set in advance).`,
        );
      }
      const found = await verifyAudit(db, key, undefined);
      const broken = found.problems.filter((p) => p.kind !== 'missing-anchor');
      if (broken.length > 0) logger.warn({ problems: broken.map((p) => p.message) }, 'the unkeyed audit log was already broken before the upgrade; anchoring it as it is');
      chain = new AuditChain(deps, key, { commit: undefined, state: { count: found.checked, head: found.head, legacy: found.legacy } }, newestSeq);
    }
    const outcome = await chain.anchor();
    if (outcome.problem) throw new AccordError('unavailable', `Refusing to start: ${outcome.problem}. Run \`accord audit verify\`; after investigating, \`accord audit reanchor --reason …\` accepts the current log.`);
    if (stored === undefined) logger.info({ entries: chain.anchored.state.count, legacy: chain.anchored.state.legacy.count }, 'audit log anchored for the first time');
    return chain;
  }

  /** The keyed link of a new entry. */
  entryHash(prevHash: string, row: EntryContent): string {
    return entryHmac(this.key, prevHash, row);
  }

  /** Notes an appended entry; schedules an anchor once `auditAnchorEvery` entries wait. */
  appended(seq: number): void {
    if (this.closed) return;
    this.newestSeq = seq;
    this.unanchoredSince ??= Date.now();
    if (seq - this.anchored.state.head.seq >= this.deps.config.auditAnchorEvery) void this.inBackground(this.anchor());
  }

  /** Anchors when an entry has waited `MAX_UNANCHORED_MS` (the jobs loop calls this). */
  async anchorIfDue(now = Date.now()): Promise<void> {
    if (this.closed || this.unanchoredSince === undefined || now - this.unanchoredSince < MAX_UNANCHORED_MS) return;
    await this.inBackground(this.anchor());
  }

  /** Resolves once every anchoring requested so far has finished. */
  async settled(): Promise<void> {
    await this.queue;
  }

  /** Writes the last anchor (at shutdown); a failure is logged, not thrown. */
  async close(): Promise<void> {
    this.closed = true;
    await this.inBackground(this.anchor());
  }

  /**
   * Writes an anchor over the log's current head if it moved since the last one (or no anchor was
   * written yet). Calls queue one after another; a call made while another waits joins it.
   */
  anchor(): Promise<AnchorOutcome> {
    if (!this.queued) {
      const next = this.queue.then(async () => {
        this.queued = undefined;
        return await this.write();
      });
      this.queued = next;
      this.queue = next.catch(() => undefined);
    }
    return this.queued;
  }

  private async inBackground(work: Promise<unknown>): Promise<void> {
    await work.catch((error) => this.deps.logger.error({ err: error }, 'writing the audit anchor failed; retrying later'));
  }

  private refuse(problem: string): AnchorOutcome {
    // Retry in a minute (the jobs loop), but say it once.
    this.unanchoredSince = Date.now();
    if (problem !== this.lastProblem) this.deps.logger.error({ problem }, 'not anchoring the audit log: it no longer extends its last anchor; run `accord audit verify`');
    this.lastProblem = problem;
    return { written: false, problem };
  }

  private async write(): Promise<AnchorOutcome> {
    // With a registry remote another replica may anchor between this one's read and its write
    // (the remote refuses that write: conflict): read the new anchor, follow it, and go again.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.writeOnce();
      } catch (error) {
        if (attempt >= 5 || !(error instanceof AccordError && error.code === 'conflict')) throw error;
      }
    }
  }

  private async writeOnce(): Promise<AnchorOutcome> {
    const { db, registry } = this.deps;
    const stored = parseStoredAnchor(await registry.readAuditAnchor());
    if (stored?.commit !== this.anchored.commit) {
      if (!stored) return this.refuse(`${ANCHOR_REF} was deleted from the registry`);
      const problem = anchorProblem(this.key, stored);
      if (problem) return this.refuse(`${ANCHOR_REF} was moved: ${problem}`);
      // Only `accord audit reanchor` over the anchor this service knows may move it, or another replica
      // extending it (on a registry remote); an older genuine anchor is a rollback.
      if (stored.anchor!.reanchored?.replaced !== (this.anchored.commit ?? null) && !(await registry.auditAnchorFollows(this.anchored.commit, stored.commit))) return this.refuse(`${ANCHOR_REF} was moved to ${stored.commit}, which does not follow the last anchor: it was rolled back`);
      this.anchored = { commit: stored.commit, state: stored.anchor! };
    }
    const extended = await extendAnchor(db, this.key, this.anchored.state);
    if ('problem' in extended) return this.refuse(extended.problem);
    if (extended.head.seq === this.anchored.state.head.seq && !this.firstPending) return { written: false };
    // Wall time, not deps.clock: anchors happen at unpredictable moments, and a test's stepping clock must not move because of them.
    const now = new Date();
    const anchor = sealAnchor(this.key, { ...extended, legacy: this.anchored.state.legacy }, now);
    const commit = await registry.writeAuditAnchor({ text: anchorText(anchor), parent: this.anchored.commit, message: anchorMessage(anchor), at: now });
    this.anchored = { commit, state: anchor };
    this.firstPending = false;
    this.lastProblem = undefined;
    this.unanchoredSince = this.newestSeq > anchor.head.seq ? Date.now() : undefined;
    return { written: true };
  }
}

function anchorMessage(anchor: AuditAnchor): string {
  return `${anchor.reanchored ? 'Audit anchor re-established' : 'Audit anchor'}: ${anchor.count} entries, head entry ${anchor.head.seq}${anchor.reanchored ? `\n\n${anchor.reanchored.reason}` : ''}`;
}

/**
 * Accepts the audit log as it is now: appends an `audit.reanchored` entry and writes an anchor over
 * the current log, recording the reason and the anchor it replaces. For an operator who has
 * investigated a failed `accord audit verify` (a restored backup, a lost registry); entries that do
 * not match their HMACs or links stay reported by verify, since only their anchor is replaced.
 */
export async function reanchorAudit(deps: { db: Db; registry: GitRegistry; key: Buffer }, reason: string): Promise<{ anchor: AuditAnchor; commit: string; replaced: string | null }> {
  const { db, registry, key } = deps;
  const stored = await registry.readAuditAnchor();
  const replaced = stored?.commit ?? null;
  const appender: AuditAppender = { entryHash: (prevHash, row) => entryHmac(key, prevHash, row), appended: () => undefined };
  await appendAudit({ db, clock: () => new Date(), audit: appender }, { actor: 'accord audit reanchor', role: 'operator', action: 'audit.reanchored', target: ANCHOR_REF, outcome: 'ok', detail: { reason, replaced } });
  const now = await verifyAudit(db, key, undefined);
  const anchor = sealAnchor(key, { count: now.checked, head: now.head, legacy: now.legacy, reanchored: { reason, replaced } }, new Date());
  const commit = await registry.writeAuditAnchor({ text: anchorText(anchor), parent: replaced ?? undefined, message: anchorMessage(anchor), at: new Date() });
  return { anchor, commit, replaced };
}
