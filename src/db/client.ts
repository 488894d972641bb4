import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { PACKAGE_ROOT } from '../config.ts';
import * as schema from './schema/index.ts';

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

/**
 * Opens (or creates) the SQLite database, switches a file database to WAL and applies the
 * drizzle-kit migrations from migrations/.
 * @param file a path, or ':memory:'
 * @param options.durability `normal` (WAL with synchronous=NORMAL: a commit is safe from a
 *   process crash at once and from a power failure after the next WAL sync) or `full`
 *   (synchronous=FULL: every commit is fsynced before it returns); see ADR 0012
 */
export function openDb(file: string, { durability = 'normal' }: { durability?: 'normal' | 'full' } = {}): Db {
  // The database holds webhook secrets and token hashes: other local users may not read it (a
  // database made by an earlier release is tightened too, where the file is ours to change).
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const sqlite = new Database(file);
  if (file !== ':memory:') {
    // SQLite gives the -wal and -shm files it creates the database's mode; ones left by an
    // earlier release are tightened here too.
    for (const f of [file, `${file}-wal`, `${file}-shm`]) {
      try {
        fs.chmodSync(f, 0o600);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EPERM' && code !== 'ENOENT') throw error;
      }
    }
    sqlite.pragma('journal_mode = WAL');
  }
  sqlite.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = drizzle(sqlite, { schema }) as Db;
  migrate(db, { migrationsFolder: path.join(PACKAGE_ROOT, 'migrations') });
  return db;
}
