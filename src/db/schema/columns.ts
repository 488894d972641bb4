import { text } from 'drizzle-orm/sqlite-core';

/** The columns naming one contract version (partner, api, version), shared by the tables about a version. */
export function contractVersionColumns() {
  return {
    partner: text('partner').notNull(),
    api: text('api').notNull(),
    version: text('version').notNull(),
  };
}
