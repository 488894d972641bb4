import fs from 'node:fs/promises';
import Database from 'better-sqlite3';
import { GENESIS } from '../audit/log.ts';
import { openDb, type Db } from '../db/index.ts';

/** What a database snapshot holds that the rest of a backup must agree with. */
export interface DatabaseFacts {
  /** Rows per table (SQLite's own tables aside), by table name. */
  tables: Record<string, number>;
  /** The registry tags the indexes (contract and matrix versions) know, with their commits. */
  indexedTags: Map<string, string>;
  /** Entries in the audit log and the newest one (seq 0 and the genesis hash when empty). */
  audit: { count: number; head: { seq: number; hash: string } };
}

/**
 * Copies the database at `source` to the new file `target` with SQLite's online backup API, while
 * a server may be writing: the pages are copied in one step, so the copy is one consistent
 * snapshot (a write between steps would restart it). The copy is switched from WAL to a rollback
 * journal, so it is one self-contained file with mode 0600.
 */
export async function snapshotDatabase(source: string, target: string): Promise<void> {
  const db = new Database(source, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    await db.backup(target, { progress: () => 0x7fffffff });
  } finally {
    db.close();
  }
  const copy = new Database(target, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
  await fs.chmod(target, 0o600);
}

/**
 * Opens a database file as it is, without applying migrations (a restore checks what the backup
 * holds; the service migrates at its next start), passes it to `use` and closes it.
 */
export async function withDatabaseAsIs<T>(file: string, use: (db: Db) => T | Promise<T>): Promise<T> {
  const db = openDb(file, { migrate: false });
  try {
    return await use(db);
  } finally {
    await db.$close();
  }
}

/** Row counts, indexed tags and the audit head of an open database. */
export async function databaseFacts(db: Db): Promise<DatabaseFacts> {
  const sqlite = db.$sql;
  const names = (await sqlite.column("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")) as string[];
  const tables: Record<string, number> = {};
  for (const name of names) tables[name] = (await sqlite.value<number>(`SELECT count(*) FROM "${name.replaceAll('"', '""')}"`))!;
  const tagRows = (await sqlite.all('SELECT tag, "commit" FROM contract_versions UNION ALL SELECT tag, "commit" FROM matrix_versions')) as Array<{ tag: string; commit: string }>;
  const head = (await sqlite.get('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1')) as { seq: number; hash: string } | undefined;
  return {
    tables,
    indexedTags: new Map(tagRows.map((r) => [r.tag, r.commit])),
    audit: { count: tables.audit_log ?? 0, head: head ?? { seq: 0, hash: GENESIS } },
  };
}

/** `PRAGMA integrity_check`'s findings; empty when the file is sound. */
export function integrityProblems(db: Db): string[] {
  const rows = db.$sqlite!.pragma('integrity_check') as Array<{ integrity_check: string }>;
  return rows.map((r) => r.integrity_check).filter((r) => r !== 'ok');
}
