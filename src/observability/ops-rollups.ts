import type { Counter } from 'prom-client';
import type { Deps } from '../deps.ts';
import { lockKey } from '../db/locks.ts';
import type { FlowEntry } from '../matrix/checks.ts';
import { acknowledgingStep } from '../runtime/saga/policy.ts';
import { settledRowid } from '../runtime/outbox.ts';
import { addCell, bucketStart, countsText, emptyCell, histogramsText, observe, parseCell, type OpsCell, type OpsCounter, type OpsLatency, type OpsTier } from './ops-cells.ts';

/**
 * Operations rollups (issue 18, ADR 0025): per time bucket, flow and partner, what the overview
 * charts draw. The leader folds new transaction events and direct-request records into minute
 * buckets (its own outbox cursors, moved in the same database transaction as the counts, so a
 * re-run never counts twice), every replica adds the duplicates it answered, and what is added to
 * a minute is added to its hour and its day too (downsampling as it goes). `flow`/`partner` '*' rows hold the totals, so
 * every chart reads one row per bucket.
 */

/** The outbox cursors of the fold: transaction events by seq, direct-request records by rowid. */
const EVENTS_CURSOR = 'ops-rollups-events';
const SYNC_CURSOR = 'ops-rollups-sync';
/** Every writer of ops_rollups (the leader's fold, each replica's duplicates) holds this while it reads and rewrites rows. */
const WRITE_LOCK = lockKey('ops-rollups');
/** Most source records one fold reads; the rest wait for the next run. */
const FOLD_LIMIT = 5000;

/** Changes of one fold or flush: per minute bucket, per flow|partner (the four totals rows included), what to add. */
class Delta {
  readonly cells = new Map<string, Map<string, OpsCell>>();

  /** The cells a record of `flow` and `partner` at `ms` adds to: its own and the three totals. */
  at(ms: number, flow: string, partner: string): OpsCell[] {
    const minute = bucketStart('minute', ms);
    let byKey = this.cells.get(minute);
    if (!byKey) this.cells.set(minute, (byKey = new Map()));
    const out: OpsCell[] = [];
    for (const key of [`${flow}|${partner}`, `${flow}|*`, `*|${partner}`, '*|*']) {
      let cell = byKey.get(key);
      if (!cell) byKey.set(key, (cell = emptyCell()));
      out.push(cell);
    }
    return out;
  }

  count(ms: number, flow: string, partner: string, counter: OpsCounter, n = 1): void {
    for (const cell of this.at(ms, flow, partner)) cell.counts[counter] += n;
  }

  latency(ms: number, flow: string, partner: string, latency: OpsLatency, seconds: number): void {
    for (const cell of this.at(ms, flow, partner)) observe(cell.histograms[latency], Math.max(0, seconds));
  }
}

interface EventRow {
  seq: number;
  transactionId: string;
  type: string;
  fromState: string | null;
  toState: string | null;
  stepId: string | null;
  data: string;
  createdAt: string;
  flow: string;
  partner: string;
  txCreatedAt: string;
}

/**
 * The operations rollups of one service: `collectDuplicates` on every replica (the duplicates it
 * answered since the last call, from its own counters), `fold` on the leader (new events and
 * records, in-flight, downsampling, retention). Both are idempotent per source record.
 */
export class OpsRollups {
  /** Last value read per `flow|partner` of this process's duplicate counter. */
  private readonly seenDuplicates = new Map<string, number>();
  /** PostgreSQL: the highest event seq seen at the previous fold; events up to it are read now (see foldEvents). */
  private settledSeq: number | undefined;
  /** Acknowledging step per transaction plan, cached by transaction id within a fold. */
  private readonly ackStep = new Map<string, string>();

  constructor(private readonly deps: Pick<Deps, 'db' | 'clock' | 'config' | 'metrics' | 'logger'>) {}

  /**
   * Adds the replayed duplicates this process answered since the last call (direct requests and
   * flow starts repeating an Idempotency-Key, as counted by accord_duplicate_requests_total) to
   * the current minute. Each replica counts its own, so all of them run it.
   */
  async collectDuplicates(): Promise<number> {
    const counter = this.deps.metrics.registry.getSingleMetric('accord_duplicate_requests_total') as Counter | undefined;
    if (!counter) return 0;
    const now = this.deps.clock().getTime();
    const delta = new Delta();
    let total = 0;
    const fresh = new Map<string, number>();
    for (const v of (await counter.get()).values) {
      if (v.labels.outcome !== 'replayed') continue;
      const key = `${String(v.labels.flow)}|${String(v.labels.partner)}`;
      fresh.set(key, (fresh.get(key) ?? 0) + v.value);
    }
    for (const [key, value] of fresh) {
      const n = value - (this.seenDuplicates.get(key) ?? 0);
      if (n <= 0) continue;
      const [flow, partner] = key.split('|') as [string, string];
      delta.count(now, flow, partner, 'duplicates', n);
      total += n;
    }
    if (total === 0) return 0;
    await this.deps.db.transaction(async () => {
      await this.deps.db.$serialize(WRITE_LOCK);
      await this.apply(delta, undefined);
    });
    for (const [key, value] of fresh) this.seenDuplicates.set(key, value);
    return total;
  }

  /**
   * The leader's run: folds new transaction events and direct-request records into their minute,
   * hour and day buckets, sets the in-flight level of the current minute, hour and day, and drops
   * buckets past their tier's retention. One database transaction: the cursors
   * move with the counts. Returns how many source records were folded.
   */
  async fold(): Promise<number> {
    const { db } = this.deps;
    const settled = await settledRowid(this.deps.db);
    const folded = await db.transaction(async () => {
      await db.$serialize(WRITE_LOCK);
      const delta = new Delta();
      const events = await this.foldEvents(delta);
      const records = await this.foldRecords(delta, settled);
      await this.apply(delta, await this.inFlightNow());
      await this.purge();
      return events + records;
    });
    this.ackStep.clear();
    return folded;
  }

  /** Transaction events after the cursor: starts, partner answers, finalisations, compensations, operator actions. */
  private async foldEvents(delta: Delta): Promise<number> {
    const sql = this.deps.db.$sql;
    const postgres = this.deps.db.$dialect === 'postgres';
    const cursor = await this.cursor(EVENTS_CURSOR);
    // On PostgreSQL a smaller seq can commit after a larger one: events are read one run late, up to the highest seq seen by the previous run.
    const highest = ((await sql.value('SELECT max(seq) FROM transaction_events')) as number | null) ?? 0;
    const upTo = postgres ? (this.settledSeq ?? cursor) : highest;
    this.settledSeq = highest;
    if (upTo <= cursor) return 0;
    const rows = await sql.all<EventRow>(
      `SELECT e.seq, e.transaction_id AS "transactionId", e.type, e.from_state AS "fromState", e.to_state AS "toState", e.step_id AS "stepId", e.data, e.created_at AS "createdAt", t.flow, t.partner, t.created_at AS "txCreatedAt"
       FROM transaction_events e JOIN transactions t ON t.id = e.transaction_id WHERE e.seq > ? AND e.seq <= ? ORDER BY e.seq LIMIT ?`,
      [cursor, upTo, FOLD_LIMIT],
    );
    for (const e of rows) {
      const at = Date.parse(e.createdAt);
      const since = (at - Date.parse(e.txCreatedAt)) / 1000;
      const data = JSON.parse(e.data) as { operationId?: string; status?: number | null; acknowledging?: boolean };
      switch (e.type) {
        case 'transaction.initiated':
          delta.count(at, e.flow, e.partner, 'initiated');
          break;
        case 'transaction.step-succeeded':
          delta.count(at, e.flow, e.partner, 'accepted');
          if (data.operationId === 'memberMatch') identity(delta, at, e, true);
          // Events say whether they acknowledge; those written before they did are looked up in the transaction's plan.
          if (typeof data.acknowledging === 'boolean' ? data.acknowledging : e.stepId === (await this.acknowledging(e.transactionId))) delta.latency(at, e.flow, e.partner, 'timeToAcknowledge', since);
          break;
        case 'transaction.step-failed':
        case 'transaction.step-retry-scheduled':
          // A partner's refusal (an error answer, not a timeout or a poll answered "not yet") of one attempt.
          if (typeof data.status === 'number' && data.status >= 400) delta.count(at, e.flow, e.partner, 'refused');
          if (e.type === 'transaction.step-failed' && data.operationId === 'memberMatch' && data.status === 422) identity(delta, at, e, false);
          break;
        case 'transaction.state-changed':
          if (e.toState === 'completed') delta.latency(at, e.flow, e.partner, 'timeToFinalise', since);
          // A compensation starts (coming back from awaiting-approval it goes on: not another one); one with nothing left to undo goes straight to compensated.
          if ((e.toState === 'compensating' && e.fromState !== 'awaiting-approval') || (e.toState === 'compensated' && e.fromState !== 'compensating')) delta.count(at, e.flow, e.partner, 'compensations');
          break;
        default:
          // Operator retries and compensations, and decisions on compensations awaiting approval.
          if (e.type.startsWith('transaction.operator-') || e.type === 'transaction.compensation-approved' || e.type === 'transaction.compensation-rejected') delta.count(at, e.flow, e.partner, 'manualInterventions');
      }
    }
    const position = rows.length === FOLD_LIMIT ? rows.at(-1)!.seq : upTo;
    await this.moveCursor(EVENTS_CURSOR, position);
    return rows.length;
  }

  /** Direct-request records (one-step sync transactions) after the cursor, up to the settled rowid. */
  private async foldRecords(delta: Delta, settled: number): Promise<number> {
    const sql = this.deps.db.$sql;
    const cursor = await this.cursor(SYNC_CURSOR);
    if (settled <= cursor) return 0;
    const rows = await sql.all<{ rowid: number; flow: string; partner: string; createdAt: string; step: string }>(
      `SELECT rowid, flow, partner, created_at AS "createdAt", sync_step AS step FROM transactions WHERE rowid > ? AND rowid <= ? AND mode = 'sync' ORDER BY rowid LIMIT ?`,
      [cursor, settled, FOLD_LIMIT],
    );
    for (const r of rows) {
      const step = JSON.parse(r.step) as { operation: string; startedAt: string; latencyMs: number; outcome: { status: number } };
      const at = Date.parse(step.startedAt);
      const status = step.outcome.status;
      const accepted = status >= 200 && status < 300;
      const seconds = step.latencyMs / 1000;
      delta.count(at, r.flow, r.partner, 'initiated');
      delta.count(at, r.flow, r.partner, accepted ? 'accepted' : 'refused');
      if (step.operation === 'memberMatch' && (status === 200 || status === 422)) identity(delta, at, r, status === 200);
      // A direct request is acknowledged when it is answered, and final then if the partner accepted it.
      delta.latency(at, r.flow, r.partner, 'timeToAcknowledge', seconds);
      if (accepted) delta.latency(at, r.flow, r.partner, 'timeToFinalise', seconds);
    }
    const position = rows.length === FOLD_LIMIT ? rows.at(-1)!.rowid : settled;
    await this.moveCursor(SYNC_CURSOR, position);
    return rows.length;
  }

  /** Unfinished transactions now, per flow and partner. */
  private async inFlightNow(): Promise<{ minute: string; rows: Array<{ flow: string; partner: string; n: number }> }> {
    const rows = await this.deps.db.$sql.all<{ flow: string; partner: string; n: number }>("SELECT flow, partner, count(*) AS n FROM transactions WHERE state NOT IN ('completed', 'compensated') GROUP BY flow, partner");
    return { minute: bucketStart('minute', this.deps.clock().getTime()), rows: rows.map((r) => ({ ...r, n: Number(r.n) })) };
  }

  /**
   * Adds the delta to the rows of every tier (a minute's counts go to its minute, its hour and its
   * day: counters and histograms are sums, so each tier stays the sum of the one below without
   * reading it again), and sets the in-flight level, when given, on the current minute, hour and
   * day (a level at the end of a bucket is the latest one).
   */
  private async apply(delta: Delta, inFlight: { minute: string; rows: Array<{ flow: string; partner: string; n: number }> } | undefined): Promise<void> {
    for (const tier of ['minute', 'hour', 'day'] as const) {
      const buckets = new Map<string, Map<string, OpsCell>>();
      for (const [minute, byKey] of delta.cells) {
        const bucket = bucketStart(tier, Date.parse(minute));
        let into = buckets.get(bucket);
        if (!into) buckets.set(bucket, (into = new Map()));
        for (const [key, cell] of byKey) {
          const sum = into.get(key);
          if (sum) addCell(sum, cell);
          else into.set(key, structuredClone(cell));
        }
      }
      for (const [bucket, byKey] of buckets) {
        const stored = await this.readRows(tier, bucket, [...byKey.keys()]);
        for (const [key, cell] of byKey) {
          const row = stored.get(key) ?? emptyCell();
          addCell(row, cell);
          stored.set(key, row);
        }
        await this.writeRows(tier, bucket, stored);
      }
    }
    if (!inFlight) return;
    const levels = new Map<string, number>();
    for (const r of inFlight.rows) for (const key of [`${r.flow}|${r.partner}`, `${r.flow}|*`, `*|${r.partner}`, '*|*']) levels.set(key, (levels.get(key) ?? 0) + r.n);
    for (const tier of ['minute', 'hour', 'day'] as const) {
      const bucket = bucketStart(tier, Date.parse(inFlight.minute));
      const stored = new Map(
        (await this.deps.db.$sql.all<{ flow: string; partner: string; n: number }>('SELECT flow, partner, in_flight AS n FROM ops_rollups WHERE tier = ? AND bucket = ?', [tier, bucket])).map((r) => [`${r.flow}|${r.partner}`, Number(r.n)]),
      );
      const changed = new Map<string, number>();
      for (const [key, n] of stored) if (n !== 0 && !levels.has(key)) changed.set(key, 0);
      for (const [key, n] of levels) if (stored.get(key) !== n) changed.set(key, n);
      for (const [key, n] of changed) {
        const [flow, partner] = key.split('|') as [string, string];
        // A new row holds no counts yet; an existing one keeps its counts and gets the level.
        await this.deps.db.$sql.run("INSERT INTO ops_rollups (tier, bucket, flow, partner, counts, histograms, in_flight) VALUES (?, ?, ?, ?, '{}', '{}', ?) ON CONFLICT (tier, bucket, flow, partner) DO UPDATE SET in_flight = excluded.in_flight", [tier, bucket, flow, partner, n]);
      }
    }
  }

  /** Drops buckets older than their tier's retention (ACCORD_OPS_ROLLUP_MINUTES / _HOURS / _DAYS). */
  private async purge(): Promise<void> {
    const now = this.deps.clock().getTime();
    const r = this.deps.config.opsRollupRetention;
    for (const [tier, ms] of [['minute', r.minuteMs], ['hour', r.hourMs], ['day', r.dayMs]] as const) {
      await this.deps.db.$sql.run('DELETE FROM ops_rollups WHERE tier = ? AND bucket < ?', [tier, bucketStart(tier, now - ms)]);
    }
  }

  /** The stored rows of `keys` (flow|partner) in one bucket. */
  private async readRows(tier: OpsTier, bucket: string, keys: string[]): Promise<Map<string, OpsCell>> {
    const wanted = new Set(keys);
    const rows = await this.deps.db.$sql.all<{ flow: string; partner: string; counts: string; histograms: string; inFlight: number }>(
      'SELECT flow, partner, counts, histograms, in_flight AS "inFlight" FROM ops_rollups WHERE tier = ? AND bucket = ?',
      [tier, bucket],
    );
    return new Map(rows.filter((r) => wanted.has(`${r.flow}|${r.partner}`)).map((r) => [`${r.flow}|${r.partner}`, parseCell(r.counts, r.histograms, Number(r.inFlight))]));
  }

  private async writeRows(tier: OpsTier, bucket: string, cells: Map<string, OpsCell>): Promise<void> {
    for (const [key, cell] of cells) {
      const [flow, partner] = key.split('|') as [string, string];
      await this.deps.db.$sql.run(
        'INSERT INTO ops_rollups (tier, bucket, flow, partner, counts, histograms, in_flight) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tier, bucket, flow, partner) DO UPDATE SET counts = excluded.counts, histograms = excluded.histograms, in_flight = excluded.in_flight',
        [tier, bucket, flow, partner, countsText(cell), histogramsText(cell), cell.inFlight],
      );
    }
  }

  private async cursor(name: string): Promise<number> {
    const sql = this.deps.db.$sql;
    await sql.run('INSERT INTO outbox_cursors (name, position) VALUES (?, 0) ON CONFLICT (name) DO NOTHING', [name]);
    return Number(await sql.value(`SELECT position FROM outbox_cursors WHERE name = ? ${this.deps.db.$dialect === 'postgres' ? 'FOR UPDATE' : ''}`, [name]));
  }

  private async moveCursor(name: string, position: number): Promise<void> {
    await this.deps.db.$sql.run('UPDATE outbox_cursors SET position = ? WHERE name = ? AND position < ?', [position, name, position]);
  }


  /** The id of the step whose success acknowledges the transaction (its plan's acknowledging step). */
  private async acknowledging(transactionId: string): Promise<string | undefined> {
    if (!this.ackStep.has(transactionId)) {
      const plan = (await this.deps.db.$sql.value('SELECT plan FROM transactions WHERE id = ?', [transactionId])) as string | undefined;
      const entry = plan ? (JSON.parse(plan) as FlowEntry) : undefined;
      this.ackStep.set(transactionId, entry?.steps?.length ? acknowledgingStep(entry).id : '');
    }
    return this.ackStep.get(transactionId);
  }
}

function identity(delta: Delta, at: number, r: { flow: string; partner: string }, matched: boolean): void {
  delta.count(at, r.flow, r.partner, 'identityAttempts');
  if (matched) delta.count(at, r.flow, r.partner, 'identityMatched');
}
