import { MANIFEST_FILE } from '../../backup/names.ts';
import { lazyCommand, type Command } from '../command.ts';

/** `accord restore <dir>`: a backup made by `accord backup`, checked, into a new data dir. */
export const restore: Command = lazyCommand({
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
}, () => import('../run/restore.ts'));
