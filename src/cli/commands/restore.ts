import { MANIFEST_FILE } from '../../backup/manifest.ts';
import { accordVersion } from '../../lib/version.ts';
import { restoreBackup } from '../../backup/restore.ts';
import type { Command } from '../command.ts';
import { CliFailure, usageFailure } from '../errors.ts';

/** `accord restore <dir>`: a backup made by `accord backup`, checked, into a new data dir. */
export const restore: Command = {
  name: 'restore',
  synopsis: 'accord restore <dir>',
  summary: 'restore a backup into a new or empty data dir, checking it first and after',
  help: `accord restore <dir>

Restores the backup in <dir> (made by \`accord backup\`) into the data dir (ACCORD_DATA_DIR), which
must not exist or be empty — a data dir a server uses never is: stop it and move it aside first.
Before writing anything it checks ${MANIFEST_FILE} and the size and SHA-256 of every file, and that
the audit key (ACCORD_AUDIT_KEY if set, else the backup's audit.key) is the one the backup's log is
sealed with. It then builds the data dir next to the target — the database file (0600), the bundle
cloned into a bare Git registry, the audit key file (0600), the directory 0700 — and checks it:
SQLite integrity and row counts per table against the manifest, git fsck, every ref against the
manifest, every indexed version's tag, and the audit chain (as \`accord audit verify\` does) up to
the manifest's head. Only then is it moved into place; on any failure nothing is left behind.
Start the server on it as usual. Exit 0 restored, 1 the backup is incomplete, changed or fails its
checks, 3 error (target not empty, wrong or missing key, usage).`,
  options: {},
  async run({ positionals }, { config, io }) {
    const dir = positionals[0];
    if (!dir || positionals.length > 1) throw usageFailure(restore);
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
  },
};
