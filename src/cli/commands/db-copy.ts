import { lazyCommand, type Command } from '../command.ts';

/** `accord db copy --to <postgres-url>`: the embedded data dir's database, copied into PostgreSQL and verified. */
export const dbCopy: Command = lazyCommand({
  name: 'db copy',
  synopsis: 'accord db copy --to postgres://…',
  summary: 'copy the local data dir\'s database into an empty PostgreSQL database, then verify it',
  help: `accord db copy --to postgres://user:password@host:5432/database

Copies the embedded database of the data dir (ACCORD_DATA_DIR/accord.db) into the PostgreSQL
database --to names, for moving to PostgreSQL mode (ACCORD_DATABASE_URL). Stop the server first:
what it writes after the copy's snapshot would not be copied.
  1. Opens the data dir's database (migrating it to this release, as the server would) and
     verifies its audit log with the audit key and the anchor in the data dir's registry. The key
     is the data dir's audit.key, or ACCORD_AUDIT_KEY, which must then be that file's key.
  2. Migrates the target (migrations-pg/) and refuses it if any of its tables has rows: a copy
     never merges. Create the target with CREATE DATABASE … TEMPLATE template0 ENCODING 'UTF8'.
  3. Copies every table from one snapshot in ONE PostgreSQL transaction, in batches of multi-row
     INSERTs, with the same ids and rowids (cursors keep their meaning); identity sequences
     continue after the copied ids. A failure rolls it all back: the target's tables stay empty.
  4. Counts every table on both sides and verifies the audit chain in PostgreSQL.
It then prints how to give the replicas the audit key (ACCORD_AUDIT_KEY is required on
PostgreSQL; the key itself is not printed) and how to move the Git registry, which is not in
the database (keep the data dir's registry/, or git push --mirror it to ACCORD_REGISTRY_REMOTE).
The source is always the data dir: ACCORD_DATABASE_URL must not be set.
Exit 0 copied and verified, 1 copied but the counts or the audit chain do not match (drop the
target and copy again), 3 error or refused (nothing copied).`,
  options: { to: { type: 'string' } },
}, () => import('../run/db-copy.ts'));
