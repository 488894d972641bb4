import { bigint, index, pgTable, primaryKey } from 'drizzle-orm/pg-core';
import { text } from './columns.ts';

/**
 * Index of control-matrix documents in the Git registry: one row per version of a flow entry
 * (kind `flow`) or of the governance policy (kind `policy`, name `policy`).
 */
export const matrixVersions = pgTable(
  'matrix_versions',
  {
    name: text('name').notNull(),
    version: bigint('version', { mode: 'number' }).notNull(),
    /** flow | policy */
    kind: text('kind').notNull(),
    sha256: text('sha256').notNull(),
    commit: text('commit').notNull(),
    tag: text('tag').notNull().unique(),
    createdAt: text('created_at').notNull(),
    createdBy: text('created_by').notNull(),
  },
  (t) => [primaryKey({ columns: [t.name, t.version] }), index('matrix_versions_kind').on(t.kind)],
);
