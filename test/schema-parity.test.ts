import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../src/db/client.ts';
import { migratePostgres } from '../src/db/postgres-migrate.ts';
import { postgresTypes, setupPostgresTypes } from '../src/db/postgres-types.ts';
import { REPO_ROOT } from './harness.ts';
import { freshPostgresDatabase } from './postgres.ts';

/**
 * The app's SQL runs unchanged on SQLite and PostgreSQL (ADR 0016), so the PostgreSQL schema made
 * by migrations-pg/ must be the SQLite schema made by migrations/: same tables, columns (order,
 * nullability, type, default), keys, indexes and foreign keys. The one difference allowed is the
 * explicit `rowid` column of the tables whose SQL reads SQLite's implicit one.
 */

/** The tables the app's SQL reads `rowid` of (grep rowid src/): outbox cursor, queue and newest change request, delivery order. */
const ROWID_TABLES = ['change_acks', 'change_requests', 'change_reviews', 'transactions', 'webhook_deliveries'];

/** SQLite's declared type → the PostgreSQL type that takes the same values (the brief's mapping). */
const TYPE_FAMILY: Record<string, string> = { text: 'text', integer: 'bigint', real: 'double precision', blob: 'bytea' };

interface Column {
  name: string;
  type: string;
  notNull: boolean;
  /** Default without casts, or 'identity' for a key the database assigns. */
  default: string | null;
}
interface Index {
  name: string;
  columns: string[];
  unique: boolean;
  /** The string literals of a partial index's predicate, sorted. */
  where: string[] | null;
}
interface ForeignKey {
  columns: string[];
  table: string;
  references: string[];
  onDelete: string;
}
interface TableShape {
  columns: Column[];
  primaryKey: string[];
  indexes: Index[];
  foreignKeys: ForeignKey[];
}

const literals = (predicate: string) => [...predicate.matchAll(/'([^']*)'/g)].map((m) => m[1]!).sort();
const byName = <T extends { name: string }>(items: T[]) => items.sort((a, b) => a.name.localeCompare(b.name));

function sqliteShapes(db: Db): Record<string, TableShape> {
  const sqlite = db.$sqlite!;
  const tables = sqlite.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_\\_drizzle%' ESCAPE '\\' ORDER BY name").pluck().all() as string[];
  return Object.fromEntries(
    tables.map((table) => {
      const info = sqlite.prepare(`PRAGMA table_info("${table}")`).all() as Array<{ name: string; type: string; notnull: number; dflt_value: string | null; pk: number }>;
      const pk = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
      // An INTEGER PRIMARY KEY is the rowid: SQLite assigns it.
      const assigned = pk.length === 1 && pk[0]!.type.toLowerCase() === 'integer' ? pk[0]!.name : undefined;
      const columns = info.map((c) => ({ name: c.name, type: TYPE_FAMILY[c.type.toLowerCase()] ?? `unmapped ${c.type}`, notNull: c.notnull === 1 || c.name === assigned, default: c.name === assigned ? 'identity' : c.dflt_value }));
      const indexes = (sqlite.prepare(`PRAGMA index_list("${table}")`).all() as Array<{ name: string; unique: number; origin: string; partial: number }>)
        .filter((i) => i.origin !== 'pk')
        .map((i) => {
          const sql = sqlite.prepare('SELECT sql FROM sqlite_schema WHERE type = ? AND name = ?').pluck().get('index', i.name) as string | null;
          const cols = (sqlite.prepare(`PRAGMA index_info("${i.name}")`).all() as Array<{ seqno: number; name: string }>).sort((a, b) => a.seqno - b.seqno).map((c) => c.name);
          return { name: i.name, columns: cols, unique: i.unique === 1, where: i.partial ? literals(sql!.slice(sql!.search(/\bWHERE\b/i))) : null };
        });
      const fks = sqlite.prepare(`PRAGMA foreign_key_list("${table}")`).all() as Array<{ id: number; table: string; from: string; to: string; on_delete: string }>;
      const foreignKeys = [...new Set(fks.map((f) => f.id))].map((id) => {
        const parts = fks.filter((f) => f.id === id);
        return { columns: parts.map((p) => p.from), table: parts[0]!.table, references: parts.map((p) => p.to), onDelete: parts[0]!.on_delete.toLowerCase() };
      });
      return [table, { columns, primaryKey: pk.map((c) => c.name), indexes: byName(indexes), foreignKeys }];
    }),
  );
}

async function postgresShapes(client: pg.Pool): Promise<Record<string, TableShape>> {
  const q = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => (await client.query<T>(sql, params)).rows;
  const tables = (await q<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1")).map((r) => r.name);
  const shapes: Record<string, TableShape> = {};
  for (const table of tables) {
    const columns = (
      await q<{ name: string; type: string; nullable: string; dflt: string | null; identity: string; collation: string | null }>(
        `SELECT column_name AS name, data_type AS type, is_nullable AS nullable, column_default AS dflt, is_identity AS identity, collation_name AS collation
         FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
        [table],
      )
    ).map((c) => {
      // Text compares byte-wise, as SQLite's BINARY collation (src/db/schema-pg/columns.ts).
      if (c.type === 'text') expect(c.collation, `${table}.${c.name} collation`).toBe('C');
      return { name: c.name, type: c.type, notNull: c.nullable === 'NO', default: c.identity === 'YES' ? 'identity' : c.dflt && c.dflt.replace(/::[a-z ]+$/, '') };
    });
    const keyColumns = `SELECT array_agg(a.attname::text ORDER BY k.n) FROM unnest(%s) WITH ORDINALITY AS k(attnum, n) JOIN pg_attribute a ON a.attrelid = %s AND a.attnum = k.attnum`;
    const [pk] = await q<{ columns: string[] }>(`SELECT (${keyColumns.replace('%s', 'c.conkey').replace('%s', 'c.conrelid')}) AS columns FROM pg_constraint c WHERE c.conrelid = $1::regclass AND c.contype = 'p'`, [table]);
    const indexes = await q<{ name: string; columns: string[]; unique: boolean; predicate: string | null }>(
      `SELECT i.relname AS name, (${keyColumns.replace('%s', 'x.indkey::int2[]').replace('%s', 'x.indrelid')}) AS columns, x.indisunique AS unique, pg_get_expr(x.indpred, x.indrelid) AS predicate
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = $1::regclass AND NOT x.indisprimary`,
      [table],
    );
    const foreignKeys = await q<ForeignKey>(
      `SELECT (${keyColumns.replace('%s', 'c.conkey').replace('%s', 'c.conrelid')}) AS columns, c.confrelid::regclass::text AS table,
         (${keyColumns.replace('%s', 'c.confkey').replace('%s', 'c.confrelid')}) AS "references",
         CASE c.confdeltype WHEN 'a' THEN 'no action' WHEN 'r' THEN 'restrict' WHEN 'c' THEN 'cascade' WHEN 'n' THEN 'set null' ELSE 'set default' END AS "onDelete"
       FROM pg_constraint c WHERE c.conrelid = $1::regclass AND c.contype = 'f'`,
      [table],
    );
    shapes[table] = {
      columns,
      primaryKey: pk?.columns ?? [],
      indexes: byName(indexes.map((i) => ({ name: i.name, columns: i.columns, unique: i.unique, where: i.predicate === null ? null : literals(i.predicate) }))),
      foreignKeys,
    };
  }
  return shapes;
}

/** The PostgreSQL shape with the explicit rowid column (and its unique index) taken out. */
function withoutRowid(shape: TableShape): TableShape {
  return { ...shape, columns: shape.columns.filter((c) => c.name !== 'rowid'), indexes: shape.indexes.filter((i) => !(i.columns.length === 1 && i.columns[0] === 'rowid')) };
}

describe('the PostgreSQL schema', () => {
  let sqlite: Db;
  let database: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  let pool: pg.Pool;
  let sqliteTables: Record<string, TableShape>;
  let postgresTables: Record<string, TableShape>;

  beforeAll(async () => {
    sqlite = openDb(':memory:');
    database = await freshPostgresDatabase();
    pool = new pg.Pool({ connectionString: database.url, types: postgresTypes });
    await migratePostgres(pool);
    sqliteTables = sqliteShapes(sqlite);
    postgresTables = await postgresShapes(pool);
  });
  afterAll(async () => {
    sqlite?.$sqlite!.close();
    await pool?.end();
    await database?.drop();
  });

  it('has the same tables as the SQLite schema', () => {
    expect(Object.keys(sqliteTables).length).toBeGreaterThan(20);
    expect(Object.keys(postgresTables)).toEqual(Object.keys(sqliteTables));
  });

  it('has in every table the same columns in the same order, nullability, type family and default; keys, indexes and foreign keys', () => {
    for (const [table, shape] of Object.entries(sqliteTables)) {
      expect(withoutRowid(postgresTables[table]!), table).toEqual(shape);
    }
  });

  it('gives a rowid column, numbered by the database and unique, to exactly the tables whose SQL reads rowid', () => {
    const withRowid = Object.entries(postgresTables).filter(([, shape]) => shape.columns.some((c) => c.name === 'rowid'));
    expect(withRowid.map(([table]) => table)).toEqual(ROWID_TABLES);
    for (const [table, shape] of withRowid) {
      // Columns added later come after it (ALTER TABLE appends).
      expect(shape.columns.find((c) => c.name === 'rowid'), table).toEqual({ name: 'rowid', type: 'bigint', notNull: true, default: 'identity' });
      expect(shape.indexes.filter((i) => i.columns.join() === 'rowid'), table).toEqual([{ name: `${table}_rowid_unique`, columns: ['rowid'], unique: true, where: null }]);
    }
    // No other SQL in src/ reads rowid (a new use needs the column too).
    const sources = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
    const reading = sources(path.join(REPO_ROOT, 'src')).filter((file) => !file.includes(`${path.sep}db${path.sep}schema`) && /\browid\b/i.test(fs.readFileSync(file, 'utf8').replace(/^\s*(\*|\/\/).*$/gm, '')));
    expect(reading.map((f) => path.relative(REPO_ROOT, f)).sort()).toEqual(['src/changes/changes.ts', 'src/changes/queue.ts', 'src/db/copy.ts', 'src/notices/webhook-dispatcher.ts', 'src/observability/ops-rollups.ts', 'src/runtime/outbox.ts']);
  });

  it('keeps the partial index of unfinished transactions partial', () => {
    expect(postgresTables.transactions!.indexes.find((i) => i.name === 'transactions_unfinished')).toEqual({ name: 'transactions_unfinished', columns: ['state', 'updated_at'], unique: false, where: ['compensated', 'completed'] });
  });

  it('returns bigint and numeric values as JS numbers, through a pool made with postgresTypes or after setupPostgresTypes()', async () => {
    const sql = 'SELECT count(*) AS n, sum(x) AS total, max(x) AS top, avg(x) AS mean, 1.5::numeric AS half, NULL::bigint AS none FROM (VALUES (2::bigint), (3::bigint)) AS v(x)';
    const numbers = { n: 2, total: 5, top: 3, mean: 2.5, half: 1.5, none: null };
    expect((await pool.query(sql)).rows[0]).toEqual(numbers);
    const plain = new pg.Pool({ connectionString: database.url });
    try {
      expect((await plain.query(sql)).rows[0]).toEqual({ n: '2', total: '5', top: '3', mean: '2.5000000000000000', half: '1.5', none: null });
      setupPostgresTypes();
      expect((await plain.query(sql)).rows[0]).toEqual(numbers);
    } finally {
      await plain.end();
    }
  });
});

describe('migratePostgres', () => {
  it('run by 5 replicas at once on a fresh database: all succeed and each migration is applied once', async () => {
    const database = await freshPostgresDatabase();
    const pools = Array.from({ length: 5 }, () => new pg.Pool({ connectionString: database.url, types: postgresTypes }).on('error', () => undefined));
    try {
      await Promise.all(pools.map((p) => migratePostgres(p)));
      const journal = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'migrations-pg/meta/_journal.json'), 'utf8')) as { entries: Array<{ when: number }> };
      const applied = await pools[0]!.query<{ created_at: number }>('SELECT created_at FROM drizzle.__drizzle_migrations ORDER BY id');
      expect(applied.rows.map((r) => r.created_at)).toEqual(journal.entries.map((e) => e.when));
      // Started again, it finds nothing to do; and the lock was released every time.
      await migratePostgres(pools[1]!);
      expect((await pools[0]!.query('SELECT count(*) AS n FROM drizzle.__drizzle_migrations')).rows[0].n).toBe(journal.entries.length);
      expect((await pools[0]!.query("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory'")).rows[0].n).toBe(0);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
      await database.drop();
    }
  });
});
