/** Parameters of a raw statement: positional for `?`, or an object for `@name` placeholders. */
export type SqlParams = readonly unknown[] | Readonly<Record<string, unknown>>;

/** The storage engine behind a database handle. */
export type Dialect = 'sqlite' | 'postgres';

/**
 * Raw SQL on the current storage, for the statements a query builder does not say well (hot
 * paths, views). One text serves both engines: placeholders are `?`, `@name` or `:name`, and PostgreSQL
 * gets `$n` in their place (see `toPostgres`). Inside `db.transaction` every statement runs in
 * that transaction.
 */
export interface Sql {
  readonly dialect: Dialect;
  /** Every row, as objects keyed by column name. */
  all<T = Record<string, unknown>>(text: string, params?: SqlParams): Promise<T[]>;
  /** The first row, or undefined. */
  get<T = Record<string, unknown>>(text: string, params?: SqlParams): Promise<T | undefined>;
  /** The first column of the first row, or undefined (counts, single values). */
  value<T = unknown>(text: string, params?: SqlParams): Promise<T | undefined>;
  /** The first column of every row. */
  column<T = unknown>(text: string, params?: SqlParams): Promise<T[]>;
  /** Runs a statement; `changes` is how many rows it inserted, updated or deleted. */
  run(text: string, params?: SqlParams): Promise<{ changes: number }>;
}

/** How a statement's rows come back: objects, arrays, the first of either, or none. */
export type RowMode = 'all' | 'get' | 'arrays' | 'array' | 'run';

/** One engine's way to run a statement (see src/db/sqlite.ts and src/db/postgres.ts). */
export interface Executor {
  readonly dialect: Dialect;
  query(text: string, params: SqlParams | undefined, mode: RowMode): Promise<{ rows: unknown[]; changes: number }>;
  /** Runs `work` in a transaction (a savepoint when one is open in this async context). */
  transaction<T>(work: () => Promise<T>): Promise<T>;
  /** Runs `work` in a shared group commit where the engine has one, else in its own transaction. */
  unit<T>(work: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const cache = new Map<string, { text: string; names: string[] | undefined }>();

/**
 * Rewrites `?`, `@name` and `:name` placeholders to PostgreSQL's `$n` (outside quotes and comments). With
 * named placeholders, `names[i]` is the parameter for `$i+1`; a name used twice gets one number.
 */
export function toPostgres(text: string): { text: string; names: string[] | undefined } {
  const hit = cache.get(text);
  if (hit) return hit;
  let out = '';
  let positional = 0;
  const names: string[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      const stop = end === -1 ? text.length : end;
      out += text.slice(i, stop + 1);
      i = stop;
    } else if (c === '-' && text[i + 1] === '-') {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      out += text.slice(i, stop);
      i = stop - 1;
    } else if (c === '?') {
      out += `$${++positional}`;
    } else if ((c === '@' || (c === ':' && text[i - 1] !== ':')) && /[A-Za-z_]/.test(text[i + 1] ?? '')) {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1))![0];
      let n = names.indexOf(name);
      if (n === -1) n = names.push(name) - 1;
      out += `$${n + 1}`;
      i += name.length;
    } else out += c;
  }
  // drizzle's SQLite builder qualifies an ON CONFLICT target ("t"."c"), which PostgreSQL refuses.
  out = out.replace(/on conflict \(([^)]*)\)/gi, (clause: string, target: string) => clause.replace(target, target.replace(/"[^"]+"\./g, '')));
  const result = { text: out, names: names.length > 0 ? names : undefined };
  if (cache.size > 2000) cache.clear();
  cache.set(text, result);
  return result;
}

/** The `Sql` interface over an executor. */
export function sqlOf(executor: Executor): Sql {
  return {
    dialect: executor.dialect,
    all: async <T>(text: string, params?: SqlParams) => (await executor.query(text, params, 'all')).rows as T[],
    get: async <T>(text: string, params?: SqlParams) => (await executor.query(text, params, 'get')).rows[0] as T | undefined,
    value: async <T>(text: string, params?: SqlParams) => ((await executor.query(text, params, 'array')).rows[0] as unknown[] | undefined)?.[0] as T | undefined,
    column: async <T>(text: string, params?: SqlParams) => ((await executor.query(text, params, 'arrays')).rows as unknown[][]).map((r) => r[0] as T),
    run: async (text: string, params?: SqlParams) => ({ changes: (await executor.query(text, params, 'run')).changes }),
  };
}
