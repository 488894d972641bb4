import { accordVersion } from '../../lib/version.ts';
import { restoreBackup } from '../../backup/restore.ts';
import { CliFailure, usageFailure } from '../errors.ts';
import type { CommandRun } from '../command.ts';

/** What `accord restore` does (its help: src/cli/commands/restore.ts), loaded only when it runs. */
export const run: CommandRun = async ({ positionals }, { config, io }, command) => {
  const dir = positionals[0];
  if (!dir || positionals.length > 1) throw usageFailure(command);
  if (config.databaseUrl) throw new CliFailure('accord restore is for the embedded SQLite data dir; with ACCORD_DATABASE_URL, restore PostgreSQL with pg_restore (README, PostgreSQL)', 3);
  const result = await restoreBackup(config, dir);
  const { manifest, audit } = result;
  const anchored = audit.anchor ? `anchored up to entry ${audit.anchor.head.seq}, ${audit.unanchored} newer` : 'no anchor';
  io.out(`Checked ${dir}: manifest of Accord ${manifest.accordVersion} made ${manifest.createdAt}; ${result.filesChecked} files match their size and SHA-256.`);
  io.out(`Restored into ${result.dataDir}:`);
  io.out(`  database:  SQLite integrity ok; ${result.tables} tables and ${result.rows} rows match the manifest`);
  io.out(`  registry:  git fsck clean; ${result.refs} refs match the manifest; ${result.indexedTags} indexed versions name their tagged commits`);
  io.out(`  audit log: intact, ${audit.checked} entries up to entry ${audit.head.seq} as in the manifest (${anchored}); key id ${audit.keyId}`);
  io.out(`  audit key: ${result.keySource === 'file' ? `${result.dataDir}/audit.key (0600)` : 'ACCORD_AUDIT_KEY (set it for the server too)'}`);
  const current = accordVersion();
  if (manifest.accordVersion !== current) io.out(`Note: the backup was made by Accord ${manifest.accordVersion}, this is ${current}: the server migrates the database at its next start.`);
  io.out(`Took ${(result.elapsedMs / 1000).toFixed(2)} s.`);
  return 0;
};
