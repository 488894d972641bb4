import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * Index of control-matrix documents in the Git registry: one row per version of a flow entry
 * (kind `flow`) or of the governance policy (kind `policy`, name `policy`).
 */
export const matrixVersions = sqliteTable(
  'matrix_versions',
  {
    name: text('name').notNull(),
    version: integer('version').notNull(),
    /** flow | policy | ruleset */
    kind: text('kind').notNull(),
    sha256: text('sha256').notNull(),
    commit: text('commit').notNull(),
    tag: text('tag').notNull().unique(),
    createdAt: text('created_at').notNull(),
    createdBy: text('created_by').notNull(),
    /** The writer's token id (separation of duties compares tokens as well as names); '' before it was recorded. */
    createdByToken: text('created_by_token').notNull().default(''),
    /** approved (governs the gate and runtime) | proposed (awaiting review) | rejected | superseded. */
    status: text('status').notNull().default('approved'),
    /** The approved version a proposal was written against (its diff base); null for the first. */
    baseVersion: integer('base_version'),
    /** When and by whom a proposal was approved or rejected (or superseded). */
    decidedAt: text('decided_at'),
    decidedBy: text('decided_by'),
    /** The reason an admin gave for storing it approved without review (break-glass). */
    breakGlass: text('break_glass'),
  },
  (t) => [primaryKey({ columns: [t.name, t.version] }), index('matrix_versions_kind').on(t.kind)],
);

/** Reviews of proposed control-matrix versions (approve | reject), bound to the version's content hash. */
export const matrixReviews = sqliteTable(
  'matrix_reviews',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    version: integer('version').notNull(),
    sha256: text('sha256').notNull(),
    decision: text('decision').notNull(),
    comment: text('comment').notNull(),
    reviewer: text('reviewer').notNull(),
    reviewerToken: text('reviewer_token').notNull(),
    createdAt: text('created_at').notNull(),
  },
  (t) => [index('matrix_reviews_version').on(t.name, t.version)],
);
