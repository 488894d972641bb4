import { createBackup } from '../../backup/create.ts';
import { BACKUP_FILES, MANIFEST_FILE } from '../../backup/manifest.ts';
import { CliFailure, usageFailure } from '../errors.ts';
import type { CommandRun } from '../command.ts';

/** A size for people: bytes, KiB or MiB. */
function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** What `accord backup` does (its help: src/cli/commands/backup.ts), loaded only when it runs. */
export const run: CommandRun = async ({ positionals }, { config, io }, command) => {
  const dir = positionals[0];
  if (!dir || positionals.length > 1) throw usageFailure(command);
  if (config.databaseUrl) throw new CliFailure('accord backup is for the embedded SQLite data dir; with ACCORD_DATABASE_URL, back up PostgreSQL with pg_dump (README, PostgreSQL)', 3);
  const result = await createBackup(config, dir);
  const { manifest } = result;
  const rows = Object.values(manifest.database.tables).reduce((a, b) => a + b, 0);
  const details: Record<string, string> = {
    [BACKUP_FILES.database]: `${Object.keys(manifest.database.tables).length} tables, ${rows} rows; audit log ${manifest.audit.count} entries (head: entry ${manifest.audit.head.seq})`,
    [BACKUP_FILES.registry]: `${Object.keys(manifest.registry.refs).length} refs (main at ${manifest.registry.refs['refs/heads/main']?.slice(0, 12) ?? 'nothing'})`,
    [BACKUP_FILES.auditKey]: 'the audit key, 0600',
  };
  io.out(`Backed up ${manifest.dataDir} to ${result.dir}:`);
  for (const [name, file] of Object.entries(manifest.files)) {
    io.out(`  ${name.padEnd(16)} ${formatBytes(file!.bytes).padStart(10)}  sha256 ${file!.sha256.slice(0, 16)}…  ${details[name]}`);
  }
  io.out(`  ${MANIFEST_FILE.padEnd(16)} written last (Accord ${manifest.accordVersion}, ${manifest.createdAt})`);
  if (manifest.audit.key === 'ACCORD_AUDIT_KEY') io.out(`The audit key is ACCORD_AUDIT_KEY (key id ${manifest.audit.keyId}), not in the backup: a restore needs it.`);
  if (result.leftOut.length > 0) io.out(`Newer than the database snapshot, so left for the next backup: ${result.leftOut.join(', ')}.`);
  io.out(`Took ${(result.elapsedMs / 1000).toFixed(2)} s.`);
  return 0;
};
