import pg from 'pg';
import type { StoredAnchor } from '../audit/anchor.ts';
import { verifyAudit, type AuditVerification } from '../audit/log.ts';
import { dbOf, type Db } from './client.ts';
import { PostgresExecutor } from './postgres.ts';
import { migratePostgres } from './postgres-migrate.ts';
import { postgresTypes } from './postgres-types.ts';

/** A copy that did not happen: the target was refused, unreachable, or the copy rolled back (the target holds none of it). */
export class DbCopyError extends Error {}

/** One table's rows: copied from the snapshot, then counted again on both sides after the commit. */
export interface TableCopy {
  name: string;
  /** Rows copied (the source snapshot's count). */
  copied: number;
  /** Rows counted in the data dir after the commit. */
  source: number;
  /** Rows counted in PostgreSQL after the commit. */
  target: number;
}

/** What `copyToPostgres` did and found. */
export interface CopyReport {
  tables: TableCopy[];
  /** Rows copied, all tables together. */
  rows: number;
  /** Tables only PostgreSQL has (left empty). */
  targetOnly: string[];
  /** Identity columns whose sequence now starts after the copied ids (`table.column`). */
  sequences: string[];
  /** Time from BEGIN to COMMIT on PostgreSQL. */
  copyMs: number;
  /** The whole run: source check, migration, copy and verification. */
  elapsedMs: number;
  /** Every table has as many rows on both sides. */
  countsMatch: boolean;
  /** The audit chain in the data dir, checked before anything was written. */
  sourceAudit: AuditVerification;
  /** The audit chain as copied, checked on PostgreSQL after the commit. */
  targetAudit: AuditVerification;
  /** Counts match and the copied chain verifies. */
  ok: boolean;
}

/** What to copy with: the audit key and anchor the chain is checked against, and the batch size. */
export interface CopyOptions {
  /** The audit key both chains are verified with (the one replicas must run with). */
  key: Buffer;
  /** Where the key came from, for messages (`ACCORD_AUDIT_KEY` or the key file's path). */
  keySource: string;
  /** The anchor on `refs/accord/audit` in the data dir's registry, or undefined when there is none. */
  anchor: StoredAnchor | undefined;
  /** Rows per multi-row INSERT (fewer for wide tables: PostgreSQL takes at most 65,535 parameters). */
  batchRows?: number;
}

/** A table and its columns: on PostgreSQL the target's, mapped to what the SQLite table reads. */
interface TablePlan {
  name: string;
  /** Target columns, in order. */
  columns: string[];
  /** For each target column, the source row's field it takes (SQLite's implicit rowid for a `rowid` column SQLite has no column for). */
  fields: string[];
}

const MAX_PARAMETERS = 65_535;
/** The field SQLite's rowid is read into: the keyset cursor, and the value of a PostgreSQL `rowid` column. */
const ROWID = '__accord_rowid';
/** Drizzle's bookkeeping of applied migrations: each side keeps its own. */
const SQLITE_BOOKKEEPING = '__drizzle_migrations';

/** An SQL identifier, double-quoted (the same on both engines). */
function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The tables of the SQLite database and their columns, SQLite's own and drizzle's bookkeeping left out. */
async function sourceTables(source: Db): Promise<Map<string, string[]>> {
  const names = await source.$sql.column<string>("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> ? ORDER BY name", [SQLITE_BOOKKEEPING]);
  const tables = new Map<string, string[]>();
  for (const name of names) tables.set(name, await source.$sql.column<string>('SELECT name FROM pragma_table_info(?) ORDER BY cid', [name]));
  return tables;
}

/** The tables of the target's current schema (where the migrations made them): columns in order, and identity columns. */
async function targetTables(client: pg.PoolClient): Promise<Map<string, { columns: string[]; identity: string[] }>> {
  const { rows } = await client.query<{ table_name: string; column_name: string; is_identity: string }>(
    `SELECT c.table_name, c.column_name, c.is_identity FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
      WHERE c.table_schema = current_schema() ORDER BY c.table_name, c.ordinal_position`,
  );
  const tables = new Map<string, { columns: string[]; identity: string[] }>();
  for (const row of rows) {
    let table = tables.get(row.table_name);
    if (!table) tables.set(row.table_name, (table = { columns: [], identity: [] }));
    table.columns.push(row.column_name);
    if (row.is_identity === 'YES') table.identity.push(row.column_name);
  }
  return tables;
}

/**
 * Orders tables so that a table comes after the tables its foreign keys reference (Accord's
 * schema has none today; a later one may). A cycle keeps the order it has: only deferrable
 * constraints could be satisfied then, and the copy defers those until the commit.
 */
async function insertionOrder(client: pg.PoolClient, names: string[]): Promise<string[]> {
  const { rows } = await client.query<{ child: string; parent: string }>(
    `SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent FROM pg_constraint c
      JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = current_schema()`,
  );
  const unquote = (name: string) => (name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name);
  const parents = new Map(names.map((name) => [name, new Set<string>()]));
  for (const { child, parent } of rows) if (unquote(child) !== unquote(parent)) parents.get(unquote(child))?.add(unquote(parent));
  const ordered: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string) => {
    if (ordered.includes(name) || visiting.has(name)) return;
    visiting.add(name);
    for (const parent of parents.get(name) ?? []) visit(parent);
    ordered.push(name);
  };
  names.forEach(visit);
  return ordered;
}

/**
 * Matches the two catalogues: every SQLite table and column must have a place in PostgreSQL (or
 * its data would be lost). A PostgreSQL `rowid` column SQLite has no column for takes SQLite's
 * implicit rowid, so cursors and orders by rowid keep their meaning.
 */
function planTables(source: Map<string, string[]>, target: Map<string, { columns: string[] }>): TablePlan[] {
  const plans: TablePlan[] = [];
  for (const [name, sourceColumns] of source) {
    const table = target.get(name);
    if (!table) throw new DbCopyError(`The data dir's table ${name} has no table in the PostgreSQL database: its schema is not this Accord release's (is the data dir from a newer release?)`);
    const lost = sourceColumns.filter((column) => !table.columns.includes(column));
    if (lost.length > 0) throw new DbCopyError(`The PostgreSQL table ${name} has no column ${lost.join(', ')}: its schema is not this Accord release's`);
    const fields = table.columns.map((column) => (sourceColumns.includes(column) ? column : column === 'rowid' ? ROWID : undefined));
    const missing = table.columns.filter((_, i) => fields[i] === undefined);
    // A PostgreSQL-only column (none today) is left to its default rather than guessed.
    const columns = table.columns.filter((_, i) => fields[i] !== undefined);
    if (missing.length === table.columns.length) throw new DbCopyError(`The PostgreSQL table ${name} shares no column with the data dir's`);
    plans.push({ name, columns, fields: fields.filter((field): field is string => field !== undefined) });
  }
  return plans;
}

/** Refuses a target holding rows in any of its tables (a copy never merges). */
async function ensureEmpty(client: pg.PoolClient, names: string[]): Promise<void> {
  const full: string[] = [];
  for (const name of names) if ((await client.query(`SELECT 1 FROM ${quoteIdent(name)} LIMIT 1`)).rowCount) full.push(name);
  if (full.length > 0) {
    throw new DbCopyError(
      `The PostgreSQL database is not empty: ${full.join(', ')} ${full.length === 1 ? 'has' : 'have'} rows. accord db copy fills an empty database and never merges; copy into a new database (CREATE DATABASE … TEMPLATE template0 ENCODING 'UTF8')`,
    );
  }
}

/** A value as PostgreSQL's `pg` sends it; an integer SQLite held beyond 2^53 cannot have been read exactly, so it is refused rather than rounded. */
function checkedValue(value: unknown, table: string, column: string): unknown {
  if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) throw new DbCopyError(`${table}.${column} holds ${value}, beyond 2^53: it cannot be copied exactly`);
  return value;
}

/** Copies one table in keyset batches by rowid (one SQLite read and one multi-row INSERT per batch); returns the rows copied. */
async function copyTable(source: Db, client: pg.PoolClient, plan: TablePlan, batchRows: number): Promise<number> {
  const rows = Math.max(1, Math.min(batchRows, Math.floor(MAX_PARAMETERS / plan.columns.length)));
  const selected = [...new Set(plan.fields.filter((field) => field !== ROWID))].map(quoteIdent);
  const read = `SELECT rowid AS ${ROWID}${selected.map((c) => `, ${c}`).join('')} FROM ${quoteIdent(plan.name)} WHERE rowid > ? ORDER BY rowid LIMIT ${rows}`;
  const into = `INSERT INTO ${quoteIdent(plan.name)} (${plan.columns.map(quoteIdent).join(', ')}) VALUES `;
  let after = 0;
  let copied = 0;
  for (;;) {
    const batch = await source.$sql.all(read, [after]);
    if (batch.length === 0) return copied;
    const values: unknown[] = [];
    const tuples = batch.map((row) => `(${plan.fields.map((field, i) => `$${values.push(checkedValue(row[field], plan.name, plan.columns[i]!))}`).join(', ')})`);
    await client.query(into + tuples.join(', '), values);
    copied += batch.length;
    after = batch[batch.length - 1]![ROWID] as number;
  }
}

/** Starts each identity column's sequence after the largest id copied, so the next insert does not collide. */
async function advanceSequences(client: pg.PoolClient, tables: Map<string, { identity: string[] }>): Promise<string[]> {
  const advanced: string[] = [];
  for (const [name, { identity }] of tables) {
    for (const column of identity) {
      await client.query(`SELECT setval(pg_get_serial_sequence($1, $2), coalesce((SELECT max(${quoteIdent(column)}) FROM ${quoteIdent(name)}), 0) + 1, false)`, [`${quoteIdent(name)}`, column]);
      advanced.push(`${name}.${column}`);
    }
  }
  return advanced;
}

/** Row counts of `names` on one side. */
async function countRows(count: (table: string) => Promise<number>, names: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const name of names) counts.set(name, await count(name));
  return counts;
}

/** A PostgreSQL error's message with its detail, for a one-line report. */
function pgMessage(error: unknown): string {
  const e = error as Error & { detail?: string; table?: string };
  return `${e.message}${e.detail ? ` (${e.detail})` : ''}`;
}

/**
 * Copies the SQLite database `source` (an embedded data dir's, migrated to this release) into
 * the PostgreSQL database at `targetUrl`, then verifies the copy. In order:
 * 1. the data dir's audit chain is verified with `key` against `anchor` (a broken chain, or a
 *    key it was not sealed with, is refused before anything is written);
 * 2. the target is migrated (migrations-pg/) and must hold no rows in any table;
 * 3. every table is copied, in one SQLite read snapshot and ONE PostgreSQL transaction (a failure
 *    rolls it all back, leaving the target's tables empty), in batches of multi-row INSERTs with
 *    explicit ids and rowids; identity sequences are set past the copied ids;
 * 4. after the commit, every table is counted on both sides and the audit chain is verified on
 *    PostgreSQL with the same key and anchor.
 * The Git registry is not in the database and is not copied.
 * @throws DbCopyError when nothing was copied (refused, unreachable, rolled back)
 */
export async function copyToPostgres(source: Db, targetUrl: string, options: CopyOptions): Promise<CopyReport> {
  const started = performance.now();
  const pool = new pg.Pool({ connectionString: targetUrl, types: postgresTypes, max: 2 });
  pool.on('error', () => undefined);
  const target = dbOf(new PostgresExecutor(pool));
  try {
    const copied = await source.transaction(async () => {
      const sourceAudit = await verifyAudit(source, options.key, options.anchor);
      if (!sourceAudit.ok) {
        throw new DbCopyError(
          `The data dir's audit log does not verify with ${options.keySource} (key id ${sourceAudit.keyId}): ${sourceAudit.problems[0]!.message}. Nothing was copied; run accord audit verify, and set ACCORD_AUDIT_KEY to the key the log was written with (or unset it to use the data dir's key file)`,
        );
      }
      try {
        await migratePostgres(pool);
      } catch (error) {
        throw new DbCopyError(`Cannot migrate the PostgreSQL database: ${pgMessage(error)}`);
      }
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        const layout = await targetTables(client);
        const plans = planTables(await sourceTables(source), layout);
        const order = await insertionOrder(client, [...layout.keys()]);
        const planOf = new Map(plans.map((plan) => [plan.name, plan]));
        const begun = performance.now();
        await client.query('BEGIN');
        try {
          // Nobody else writes until the commit: the emptiness checked here is the emptiness copied into.
          await client.query(`LOCK TABLE ${order.map(quoteIdent).join(', ')} IN EXCLUSIVE MODE`);
          await client.query('SET CONSTRAINTS ALL DEFERRED');
          await ensureEmpty(client, order);
          const rows = new Map<string, number>();
          for (const name of order) {
            const plan = planOf.get(name);
            if (!plan) continue;
            try {
              rows.set(name, await copyTable(source, client, plan, options.batchRows ?? 1000));
            } catch (error) {
              if (error instanceof DbCopyError) throw error;
              throw new DbCopyError(`Copying table ${name} failed: ${pgMessage(error)}. Rolled back: the PostgreSQL database holds none of the copy`);
            }
          }
          const sequences = await advanceSequences(client, layout);
          await client.query('COMMIT');
          return { rows, sequences, order, copyMs: performance.now() - begun, sourceAudit };
        } catch (error) {
          await client.query('ROLLBACK').catch((rollback: Error) => (broken = rollback));
          throw error;
        }
      } finally {
        client.release(broken);
      }
    });

    const names = copied.order;
    const sourceCounts = await countRows(async (t) => (copied.rows.has(t) ? ((await source.$sql.value<number>(`SELECT count(*) FROM ${quoteIdent(t)}`)) ?? 0) : 0), names);
    const targetCounts = await countRows(async (t) => (await target.$sql.value<number>(`SELECT count(*) FROM ${quoteIdent(t)}`)) ?? 0, names);
    const tables = names.filter((t) => copied.rows.has(t)).map((name) => ({ name, copied: copied.rows.get(name)!, source: sourceCounts.get(name)!, target: targetCounts.get(name)! }));
    const targetOnly = names.filter((t) => !copied.rows.has(t));
    const countsMatch = names.every((t) => sourceCounts.get(t) === targetCounts.get(t));
    const targetAudit = await verifyAudit(target, options.key, options.anchor);
    return {
      tables: tables.sort((a, b) => a.name.localeCompare(b.name)),
      rows: tables.reduce((sum, t) => sum + t.copied, 0),
      targetOnly,
      sequences: copied.sequences,
      copyMs: copied.copyMs,
      elapsedMs: performance.now() - started,
      countsMatch,
      sourceAudit: copied.sourceAudit,
      targetAudit,
      ok: countsMatch && targetAudit.ok,
    };
  } catch (error) {
    if (error instanceof DbCopyError) throw error;
    throw new DbCopyError(`Cannot copy into the PostgreSQL database: ${pgMessage(error)}`);
  } finally {
    await target.$close();
  }
}
