import { existsSync } from 'node:fs';
import { loadAuditKey } from '../audit/key.ts';
import type { Config } from '../config.ts';
import { dataDirLayout } from '../data-dir.ts';
import type { Db } from '../db/index.ts';
import { openStorage } from '../db/open.ts';
import { CliFailure } from './errors.ts';

/** The database file in the data dir (ACCORD_DATA_DIR); with `existing`, a missing one is an error. */
export function localDatabaseFile(config: Config, options: { existing?: boolean } = {}): string {
  const file = dataDirLayout(config.dataDir).database;
  if (options.existing && !config.databaseUrl && !existsSync(file)) throw new CliFailure(`No database at ${file} (set ACCORD_DATA_DIR)`, 3);
  return file;
}

/** The Git registry's folder in the data dir. */
export function localRegistryDir(config: Config): string {
  return dataDirLayout(config.dataDir).registry;
}

/** Opens the storage (ACCORD_DATABASE_URL, else the SQLite file `file`), passes it to `use` and closes it afterwards, whatever happens. */
export async function withDatabase<T>(config: Config, file: string, use: (db: Db) => T | Promise<T>): Promise<T> {
  const db = await openStorage(config, file);
  try {
    return await use(db);
  } finally {
    await db.$close();
  }
}

/** The audit key (ACCORD_AUDIT_KEY or the data dir's key file); the CLI never creates one. */
export function localAuditKey(config: Config): Buffer {
  try {
    return loadAuditKey(config, { create: false }).key;
  } catch (error) {
    throw new CliFailure(`${(error as Error).message} (the service creates the key file at its first start; on another host set ACCORD_AUDIT_KEY to the key file's content)`, 3);
  }
}
