import { index, integer, primaryKey, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * SLA samples rolled up per minute, one row per flow, partner, metric, minute and replica (each
 * replica writes only its own rows, so no two writers merge into one row): the count, sum,
 * extremes and a histogram of the minute's samples. Every replica evaluates the same breach
 * from the same rows, and the operations console charts them.
 */
export const slaRollups = sqliteTable(
  'sla_rollups',
  {
    flow: text('flow').notNull(),
    partner: text('partner').notNull(),
    metric: text('metric').notNull(),
    /** Start of the minute, epoch milliseconds. */
    minute: integer('minute').notNull(),
    replica: text('replica').notNull(),
    count: integer('count').notNull(),
    sum: real('sum').notNull(),
    min: real('min').notNull(),
    max: real('max').notNull(),
    /** The samples by histogram bucket (JSON object: bucket index → count). */
    histogram: text('histogram').notNull(),
  },
  (t) => [primaryKey({ columns: [t.flow, t.partner, t.metric, t.minute, t.replica] }), index('sla_rollups_minute').on(t.minute)],
);

/** Since when an SLA intervention rule has been breached (kept so a new leader goes on counting its `for` period). */
export const slaBreaches = sqliteTable(
  'sla_breaches',
  {
    flow: text('flow').notNull(),
    partner: text('partner').notNull(),
    /** Index of the rule in the flow's sla.interventions. */
    rule: integer('rule').notNull(),
    /** Epoch milliseconds. */
    since: integer('since').notNull(),
  },
  (t) => [primaryKey({ columns: [t.flow, t.partner, t.rule] })],
);

/**
 * Rate-limit counts per replica and window (failed authentications per address or token
 * prefix, requests per token): each replica writes its own counts, and adds the others' to
 * its own when it decides, so a limit holds across replicas.
 */
export const rateCounters = sqliteTable(
  'rate_counters',
  {
    /** Which limit: failures | requests. */
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    /** Start of the window, epoch milliseconds. */
    windowStart: integer('window_start').notNull(),
    replica: text('replica').notNull(),
    count: integer('count').notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key, t.windowStart, t.replica] }), index('rate_counters_window').on(t.windowStart)],
);
