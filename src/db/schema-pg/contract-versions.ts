import { bigint, index, pgTable, primaryKey } from 'drizzle-orm/pg-core';
import { contractVersionColumns, text } from './columns.ts';

/** Index of contract versions registered in the Git registry; a row exists only once its commit does. */
export const contractVersions = pgTable(
  'contract_versions',
  {
    ...contractVersionColumns(),
    /** Byte-comparable form of the version: ORDER BY version_key is semver precedence. */
    versionKey: text('version_key').notNull(),
    /** draft | approved | released | deprecated | retired */
    state: text('state').notNull(),
    sha256: text('sha256').notNull(),
    commit: text('commit').notNull(),
    tag: text('tag').notNull().unique(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    createdAt: text('created_at').notNull(),
    createdBy: text('created_by').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.partner, t.api, t.version] }),
    index('contract_versions_order').on(t.partner, t.api, t.versionKey),
    index('contract_versions_state').on(t.state),
  ],
);
