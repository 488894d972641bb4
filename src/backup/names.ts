/** The manifest's name in a backup directory; written last, so a backup without it is incomplete. */
export const MANIFEST_FILE = 'manifest.json';
/** The files a backup may hold, by role. */
export const BACKUP_FILES = { database: 'accord.db', registry: 'registry.bundle', auditKey: 'audit.key' } as const;
