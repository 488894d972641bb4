import type { Deps } from '../deps.ts';

/** Counters of one partner's exchange traffic in one minute (see partner_stats). */
export interface MinuteStats {
  requests: number;
  accepted: number;
  errors: number;
  errorsCoded: number;
  duplicates: number;
  duplicatesReplayed: number;
  withCorrelation: number;
  withTraceparent: number;
  withBoth: number;
}

const ZERO: MinuteStats = { requests: 0, accepted: 0, errors: 0, errorsCoded: 0, duplicates: 0, duplicatesReplayed: 0, withCorrelation: 0, withTraceparent: 0, withBoth: 0 };

/**
 * Per-partner exchange counters for scorecards, kept in memory by minute and flushed into
 * partner_stats (added to what is there) by the jobs loop and before a scorecard is read.
 */
export class PartnerStats {
  private pending = new Map<string, MinuteStats>();

  constructor(private readonly deps: Pick<Deps, 'db' | 'clock' | 'metrics'>) {}

  /** Counts one exchange request against the partner that serves it. */
  count(partner: string, delta: Partial<MinuteStats>): void {
    if (!this.deps.metrics.enabled) return;
    // Keyed by the minute's number; turned into its ISO timestamp only when flushed.
    const key = `${partner}|${Math.floor(this.deps.clock().getTime() / 60_000)}`;
    let current = this.pending.get(key);
    if (!current) this.pending.set(key, (current = { ...ZERO }));
    for (const k in delta) current[k as keyof MinuteStats] += delta[k as keyof MinuteStats]!;
  }

  /** Writes the pending counters (one transaction). */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const pending = this.pending;
    this.pending = new Map();
    await this.deps.db.transaction(async (tx) => {
      for (const [key, stats] of pending) {
        const [partner, minute] = key.split('|');
        await tx.$sql.run(UPSERT, { partner, minute: new Date(Number(minute) * 60_000).toISOString(), ...stats });
      }
    });
  }
}

const UPSERT = `INSERT INTO partner_stats (partner, minute, requests, accepted, errors, errors_coded, duplicates, duplicates_replayed, with_correlation, with_traceparent, with_both)
  VALUES (@partner, @minute, @requests, @accepted, @errors, @errorsCoded, @duplicates, @duplicatesReplayed, @withCorrelation, @withTraceparent, @withBoth)
  ON CONFLICT (partner, minute) DO UPDATE SET requests = partner_stats.requests + excluded.requests, accepted = partner_stats.accepted + excluded.accepted, errors = partner_stats.errors + excluded.errors,
    errors_coded = partner_stats.errors_coded + excluded.errors_coded, duplicates = partner_stats.duplicates + excluded.duplicates, duplicates_replayed = partner_stats.duplicates_replayed + excluded.duplicates_replayed,
    with_correlation = partner_stats.with_correlation + excluded.with_correlation, with_traceparent = partner_stats.with_traceparent + excluded.with_traceparent, with_both = partner_stats.with_both + excluded.with_both`;
