import { BACKUP_FILES, MANIFEST_FILE } from '../../backup/names.ts';
import { lazyCommand, type Command } from '../command.ts';

/** `accord backup <dir>`: a consistent backup of the local data dir, also while a server runs on it. */
export const backup: Command = lazyCommand({
  name: 'backup',
  synopsis: 'accord backup <dir>',
  summary: 'back up the local data dir into a new directory (also while the server runs)',
  help: `accord backup <dir>

Backs up the data dir (ACCORD_DATA_DIR) into <dir>, a new or empty directory (made 0700), also
while a server is running on it:
  ${BACKUP_FILES.database}        a consistent snapshot of the database (SQLite online backup API)
  ${BACKUP_FILES.registry}  git bundle of the registry, with the refs that agree with that snapshot
  ${BACKUP_FILES.auditKey}       the audit key (0600); absent when ACCORD_AUDIT_KEY holds the key: keep it yourself
  ${MANIFEST_FILE}    written last: Accord version, time, size and SHA-256 of each file, rows per
                   table, the registry's refs and the audit log's head
A directory without ${MANIFEST_FILE} is an unfinished backup. The backup holds secrets (token
hashes, webhook secrets, the audit key): store it like the data dir. Restore with
\`accord restore <dir>\`. Exit 0 written, 3 error (nothing is left in <dir>).`,
  options: {},
}, () => import('../run/backup.ts'));
