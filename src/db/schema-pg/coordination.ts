import { bigint, doublePrecision, index, pgTable, primaryKey } from 'drizzle-orm/pg-core';
import { text } from './columns.ts';

/**
 * SLA samples rolled up per minute, one row per flow, partner, metric, minute and replica (each
 * replica writes only its own rows, so no two writers merge into one row): the count, sum,
 * extremes and a histogram of the minute's samples. Every replica evaluates the same breach
 * from the same rows, and the operations console charts them.
 */
export const slaRollups = pgTable(
  'sla_rollups',
  {
    flow: text('flow').notNull(),
    partner: text('partner').notNull(),
    metric: text('metric').notNull(),
    /** Start of the minute, epoch milliseconds. */
    minute: bigint('minute', { mode: 'number' }).notNull(),
    replica: text('replica').notNull(),
    count: bigint('count', { mode: 'number' }).notNull(),
    sum: doublePrecision('sum').notNull(),
    min: doublePrecision('min').notNull(),
    max: doublePrecision('max').notNull(),
    /** The samples by histogram bucket (JSON object: bucket index → count). */
    histogram: text('histogram').notNull(),
  },
  (t) => [primaryKey({ columns: [t.flow, t.partner, t.metric, t.minute, t.replica] }), index('sla_rollups_minute').on(t.minute)],
);

/** Since when an SLA intervention rule has been breached (kept so a new leader goes on counting its `for` period). */
export const slaBreaches = pgTable(
  'sla_breaches',
  {
    flow: text('flow').notNull(),
    partner: text('partner').notNull(),
    /** Index of the rule in the flow's sla.interventions. */
    rule: bigint('rule', { mode: 'number' }).notNull(),
    /** Epoch milliseconds. */
    since: bigint('since', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.flow, t.partner, t.rule] })],
);

/**
 * Rate-limit counts per replica and window (failed authentications per address or token
 * prefix, requests per token): each replica writes its own counts, and adds the others' to
 * its own when it decides, so a limit holds across replicas.
 */
export const rateCounters = pgTable(
  'rate_counters',
  {
    /** Which limit: failures | requests. */
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    /** Start of the window, epoch milliseconds. */
    windowStart: bigint('window_start', { mode: 'number' }).notNull(),
    replica: text('replica').notNull(),
    count: bigint('count', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key, t.windowStart, t.replica] }), index('rate_counters_window').on(t.windowStart)],
);
