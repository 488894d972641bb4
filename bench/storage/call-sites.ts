/**
 * Counts the synchronous storage call sites in src/ per folder, by type (not by grep: `c.get()`
 * and `Map.get()` look the same as a drizzle `.get()`). A call site is a call of
 * get/all/run/values/iterate/pluck/execute on a drizzle query or a better-sqlite3 statement,
 * `db.transaction(fn)` / `$client.transaction(fn)`, `$client.prepare(sql)`, `$client.pragma()`
 * and `$client.exec()`. Also lists the SQLite-only SQL found in string literals.
 *
 * Run: `npx tsx bench/storage/call-sites.ts` (≈ 20 s: it type-checks the project).
 */
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(import.meta.dirname, '../..');
const config = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
const program = ts.createProgram({ rootNames: config.fileNames.filter((f) => f.includes('/src/')), options: config.options });
const checker = program.getTypeChecker();

const terminal = new Set(['get', 'all', 'run', 'values', 'iterate', 'pluck', 'execute']);
const client = new Set(['prepare', 'pragma', 'exec', 'transaction', 'backup', 'function', 'aggregate']);
type Kind = 'drizzle .get/.all/.run' | 'prepared stmt .get/.all/.run' | 'db.transaction(sync fn)' | '$client.prepare/exec/pragma' | '$client.transaction';
const counts = new Map<string, Map<Kind, number>>();
const files = new Map<string, Set<string>>();
const sqliteOnly: Record<string, RegExp> = {
  'json_each / json_extract / json_*': /\bjson_(each|extract|array|object|group_array|set|insert|remove|tree|valid)\b/i,
  'ON CONFLICT … DO NOTHING/UPDATE': /ON CONFLICT/i,
  'INSERT OR IGNORE/REPLACE': /INSERT OR (IGNORE|REPLACE)/i,
  rowid: /\browid\b/i,
  'PRAGMA / wal_checkpoint': /\b(PRAGMA|wal_checkpoint)\b/i,
  'strftime / datetime()': /\b(strftime|datetime|julianday)\s*\(/i,
  'RETURNING': /\bRETURNING\b/i,
  'GLOB / LIKE ESCAPE': /\bGLOB\b|ESCAPE\s+'/i,
  'group_concat': /\bgroup_concat\b/i,
};
const sqlHits = new Map<string, Set<string>>();

/** Where the called method is declared (drizzle-orm or better-sqlite3's types), and its receiver's type name. */
function methodOrigin(access: ts.PropertyAccessExpression): { file: string; receiver: string } {
  const symbol = checker.getSymbolAtLocation(access.name);
  const decl = symbol?.declarations?.[0];
  return { file: decl?.getSourceFile().fileName ?? '', receiver: checker.typeToString(checker.getTypeAtLocation(access.expression)) };
}

function add(file: string, kind: Kind): void {
  const rel = path.relative(path.join(root, 'src'), file);
  const folder = rel.includes('/') ? rel.split('/')[0]! : '(top level)';
  const m = counts.get(folder) ?? new Map<Kind, number>();
  m.set(kind, (m.get(kind) ?? 0) + 1);
  counts.set(folder, m);
  const s = files.get(folder) ?? new Set<string>();
  s.add(rel);
  files.set(folder, s);
}

for (const sf of program.getSourceFiles()) {
  if (!sf.fileName.startsWith(path.join(root, 'src')) || sf.fileName.endsWith('.test.ts')) continue;
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node)) {
      const text = node.getText(sf);
      if (/\b(SELECT|INSERT|UPDATE|DELETE)\b/.test(text)) {
        for (const [name, re] of Object.entries(sqliteOnly)) {
          if (re.test(text)) {
            const s = sqlHits.get(name) ?? new Set<string>();
            s.add(path.relative(path.join(root, 'src'), sf.fileName));
            sqlHits.set(name, s);
          }
        }
      }
    }
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const name = node.expression.name.text;
      if (terminal.has(name) || client.has(name)) {
        const { file, receiver: t } = methodOrigin(node.expression);
        const isDrizzle = file.includes('drizzle-orm');
        const isSqlite = file.includes('better-sqlite3');
        const isStatement = isSqlite && /Statement/.test(t);
        const isClient = isSqlite && !isStatement;
        if (name === 'transaction' && isDrizzle) add(sf.fileName, 'db.transaction(sync fn)');
        else if (name === 'transaction' && isClient) add(sf.fileName, '$client.transaction');
        else if (terminal.has(name) && isDrizzle) add(sf.fileName, 'drizzle .get/.all/.run');
        else if (terminal.has(name) && isStatement) add(sf.fileName, 'prepared stmt .get/.all/.run');
        else if (client.has(name) && isClient) add(sf.fileName, '$client.prepare/exec/pragma');
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}

const kinds: Kind[] = ['drizzle .get/.all/.run', 'prepared stmt .get/.all/.run', 'db.transaction(sync fn)', '$client.prepare/exec/pragma', '$client.transaction'];
console.log(`| folder | files | ${kinds.join(' | ')} | total |`);
console.log(`| --- | ---: | ${kinds.map(() => '---:').join(' | ')} | ---: |`);
const totals = kinds.map(() => 0);
let fileTotal = 0;
for (const [folder, m] of [...counts].sort((a, b) => sum(b[1]) - sum(a[1]))) {
  const row = kinds.map((k, i) => {
    totals[i]! += m.get(k) ?? 0;
    return m.get(k) ?? 0;
  });
  fileTotal += files.get(folder)!.size;
  console.log(`| ${folder} | ${files.get(folder)!.size} | ${row.join(' | ')} | ${sum(m)} |`);
}
console.log(`| **all** | ${fileTotal} | ${totals.join(' | ')} | ${totals.reduce((a, b) => a + b, 0)} |`);
console.log('\nSQLite-specific SQL in string literals (files):');
for (const [name, s] of sqlHits) console.log(`- ${name}: ${s.size} — ${[...s].join(', ')}`);

function sum(m: Map<Kind, number>): number {
  return [...m.values()].reduce((a, b) => a + b, 0);
}
