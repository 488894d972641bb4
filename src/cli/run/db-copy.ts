import { existsSync } from 'node:fs';
import { auditKeyId, parseStoredAnchor } from '../../audit/anchor.ts';
import { auditKeyFile, loadAuditKey } from '../../audit/key.ts';
import type { Config } from '../../config.ts';
import { copyToPostgres, DbCopyError, type CopyReport } from '../../db/copy.ts';
import { GitRegistry } from '../../registry/git-registry.ts';
import type { CommandRun, Io } from '../command.ts';
import { CliFailure, usageFailure } from '../errors.ts';
import { localDatabaseFile, localRegistryDir, withDatabase } from '../local-data.ts';

/** The --to URL, checked, and a form of it to print (password hidden). */
function targetUrl(raw: string): { url: string; shown: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliFailure('--to is not a URL (expected postgres://user:password@host:5432/database)', 3);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new CliFailure(`--to must be a postgres:// URL, got a ${url.protocol}// one`, 3);
  if (url.password) url.password = '***';
  return { url: raw, shown: url.toString() };
}

/**
 * The key the copied chain is verified with, which every replica must then run with: the data
 * dir's key file, or ACCORD_AUDIT_KEY — which must then be that file's key when there is one
 * (the embedded service chained with one of them; a copy checked with another would not verify).
 */
function copyKey(config: Config): { key: Buffer; source: string; file: string | undefined } {
  const file = auditKeyFile(config.dataDir);
  let fileKey: Buffer | undefined;
  try {
    if (existsSync(file)) fileKey = loadAuditKey({ dataDir: config.dataDir, auditKey: undefined }, { create: false }).key;
  } catch (error) {
    throw new CliFailure((error as Error).message, 3);
  }
  if (config.auditKey) {
    if (fileKey && !fileKey.equals(config.auditKey)) {
      throw new CliFailure(
        `ACCORD_AUDIT_KEY (key id ${auditKeyId(config.auditKey)}) is not the data dir's audit key ${file} (key id ${auditKeyId(fileKey)}): the copied log could not be verified with it, and replicas running with it would fork the chain. Unset ACCORD_AUDIT_KEY, or set it to the key file's content. Nothing was copied`,
        3,
      );
    }
    return { key: config.auditKey, source: 'ACCORD_AUDIT_KEY', file: undefined };
  }
  if (!fileKey) throw new CliFailure(`No audit key: ACCORD_AUDIT_KEY is not set and ${file} does not exist (set ACCORD_DATA_DIR to the data dir, or ACCORD_AUDIT_KEY to its key)`, 3);
  return { key: fileKey, source: file, file };
}

const count = (n: number) => n.toLocaleString('en-US');

/** Prints the copy's rows, timings and verification. */
function printReport(io: Io, report: CopyReport, from: string, to: string): void {
  const perSecond = report.copyMs > 0 ? Math.round((report.rows * 1000) / report.copyMs) : report.rows;
  io.out(`Copied ${from} into ${to}: ${report.tables.length} tables, ${count(report.rows)} rows in ${(report.copyMs / 1000).toFixed(2)} s (${count(perSecond)} rows/s; ${(report.elapsedMs / 1000).toFixed(2)} s in all, verification included).`);
  const width = Math.max(...report.tables.map((t) => t.name.length));
  for (const t of report.tables) {
    const mismatch = t.source === t.target ? '' : `  MISMATCH: ${count(t.source)} in the data dir now, ${count(t.target)} in PostgreSQL`;
    io.out(`  ${t.name.padEnd(width)} ${count(t.copied).padStart(9)}${mismatch}`);
  }
  if (report.targetOnly.length > 0) io.out(`  (only in PostgreSQL, left empty: ${report.targetOnly.join(', ')})`);
  io.out(`Identity sequences set past the copied ids: ${report.sequences.join(', ')}.`);
  io.out(report.countsMatch ? `Row counts: every table has as many rows in PostgreSQL as in the data dir.` : 'Row counts: DIFFERENT (see MISMATCH above): was a server writing to the data dir during the copy?');
  const audit = report.targetAudit;
  if (audit.ok) {
    const anchored = audit.anchor ? `anchor covers entries up to ${audit.anchor.head.seq}, ${audit.unanchored} newer` : 'no anchor';
    io.out(`Audit log in PostgreSQL: intact, ${count(audit.checked)} entries, head entry ${audit.head.seq} ${audit.head.hash} (${anchored}; key id ${audit.keyId}).`);
  } else {
    io.out(`Audit log in PostgreSQL: BROKEN: ${audit.problems.map((p) => p.message).join('; ')}.`);
  }
}

/** What the operator must do next: the audit key replicas need, and the registry, which is not in the database. */
function printNextSteps(io: Io, key: ReturnType<typeof copyKey>, dataDir: string, registryDir: string): void {
  io.out('');
  if (key.file) {
    io.out(`Audit key: PostgreSQL mode requires ACCORD_AUDIT_KEY, and every replica must use this data dir's key (key id ${auditKeyId(key.key)}), kept in ${key.file}:`);
    io.out(`  export ACCORD_AUDIT_KEY="$(cat ${key.file})"`);
    io.out('  Store it in your secret store; the copy does not print it.');
  } else {
    io.out(`Audit key: the log verifies with ACCORD_AUDIT_KEY (key id ${auditKeyId(key.key)}); give every replica that same ACCORD_AUDIT_KEY.`);
  }
  io.out(`Registry: the Git registry is not in the database and was not copied. Keep ${registryDir} as the registry of the data dir (ACCORD_DATA_DIR=${dataDir}) the replicas run with, or push it to the shared remote (ACCORD_REGISTRY_REMOTE, a bare repository):`);
  io.out(`  git -C ${registryDir} push --mirror <remote>`);
  io.out('Then start Accord with ACCORD_DATABASE_URL set to the target and ACCORD_AUDIT_KEY as above; keep the data dir until they run.');
}

/** What `accord db copy` does (its help: src/cli/commands/db-copy.ts), loaded only when it runs. */
export const run: CommandRun = async ({ values, positionals }, { config, io }, command) => {
  if (positionals.length > 0) throw usageFailure(command, `Unexpected argument ${positionals[0]}`);
  if (typeof values.to !== 'string' || values.to === '') throw usageFailure(command, '--to is required: the PostgreSQL database to copy into');
  const target = targetUrl(values.to);
  if (config.databaseUrl) throw new CliFailure('accord db copy reads the embedded data dir (ACCORD_DATA_DIR) and writes to --to: unset ACCORD_DATABASE_URL', 3);
  const file = localDatabaseFile(config, { existing: true });
  const key = copyKey(config);
  const registryDir = localRegistryDir(config);
  const anchor = parseStoredAnchor(await GitRegistry.readAuditAnchorAt(registryDir, config.registryRemote));
  return withDatabase(config, file, async (db) => {
    io.out(`Copying ${file} into ${target.shown}…`);
    let report: CopyReport;
    try {
      report = await copyToPostgres(db, target.url, { key: key.key, keySource: key.source, anchor });
    } catch (error) {
      if (error instanceof DbCopyError) throw new CliFailure(error.message, 3);
      throw error;
    }
    printReport(io, report, file, target.shown);
    if (!report.ok) {
      io.err(`accord: the copy in ${target.shown} does not match the data dir (${report.countsMatch ? 'audit chain' : 'row counts'}): do not run replicas on it; drop that database, create a new one and copy again with the server stopped`);
      return 1;
    }
    printNextSteps(io, key, config.dataDir, registryDir);
    return 0;
  });
};
