import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { BackupError } from './errors.ts';
import { fsyncPath, hashFile, writeNewFile } from './files.ts';

import { BACKUP_FILES, MANIFEST_FILE } from './names.ts';

// In their own module so `accord backup --help` names them without loading zod.
export { BACKUP_FILES, MANIFEST_FILE };

const FORMAT = 'accord-backup/1';
const hex = (length: number) => z.string().regex(new RegExp(`^[0-9a-f]{${length}}$`));
const count = z.number().int().nonnegative();
const FileEntry = z.strictObject({ bytes: count, sha256: hex(64) });

/** What `manifest.json` holds: enough to check every file and every restored part against it. */
export const BackupManifest = z.strictObject({
  format: z.literal(FORMAT),
  /** The Accord release (package.json version) that made the backup. */
  accordVersion: z.string(),
  createdAt: z.iso.datetime(),
  /** The data dir backed up, for the operator's information. */
  dataDir: z.string(),
  /** Size and SHA-256 of each file, by name; only the names in BACKUP_FILES. */
  files: z.partialRecord(z.enum(Object.values(BACKUP_FILES) as [string, ...string[]]), FileEntry),
  /** Rows per table of the database snapshot. */
  database: z.strictObject({ tables: z.record(z.string(), count) }),
  /** Every ref of the bundle (HEAD aside) and the object it names. */
  registry: z.strictObject({ refs: z.record(z.string(), hex(40)) }),
  audit: z.strictObject({
    /** Entries in the snapshot's audit log, and its newest one. */
    count,
    head: z.strictObject({ seq: count, hash: hex(64) }),
    /** The non-secret id of the key the chain is sealed with. */
    keyId: z.string(),
    /** Where a restore finds the key: the backup's audit.key, or ACCORD_AUDIT_KEY (never in a backup). */
    key: z.enum(['file', 'ACCORD_AUDIT_KEY']),
  }),
});
/** A parsed `manifest.json`. */
export type BackupManifest = z.infer<typeof BackupManifest>;

/** Builds the manifest of the files now in `dir` (sizes and SHA-256 computed here). */
export async function describeBackup(dir: string, fields: Omit<BackupManifest, 'format' | 'files'>, files: string[]): Promise<BackupManifest> {
  const entries: BackupManifest['files'] = {};
  for (const name of files) entries[name] = await hashFile(path.join(dir, name));
  const { accordVersion, createdAt, dataDir, database, registry, audit } = fields;
  return { format: FORMAT, accordVersion, createdAt, dataDir, files: entries, database, registry, audit };
}

/** Writes `manifest.json` (0600) through a temporary name, so it appears whole or not at all. */
export async function writeManifest(dir: string, manifest: BackupManifest): Promise<void> {
  const temporary = path.join(dir, `${MANIFEST_FILE}.partial`);
  await writeNewFile(temporary, `${JSON.stringify(manifest, null, 2)}\n`, 0o600);
  await fs.rename(temporary, path.join(dir, MANIFEST_FILE));
  await fsyncPath(dir);
}

/** Reads and checks the shape of `<dir>/manifest.json`; a missing or malformed one makes the backup unusable. */
export async function readManifest(dir: string): Promise<BackupManifest> {
  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new BackupError('unusable-backup', `${dir} has no ${MANIFEST_FILE}: it is not an Accord backup, or one that did not finish (the manifest is written last)`);
    }
    throw new BackupError('refused', `Cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BackupError('unusable-backup', `${file} is not JSON: the manifest was damaged`);
  }
  const parsed = BackupManifest.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw new BackupError('unusable-backup', `${file} is not an ${FORMAT} manifest (/${first.path.join('/')}: ${first.message})`);
  }
  const manifest = parsed.data;
  for (const name of [BACKUP_FILES.database, BACKUP_FILES.registry, ...(manifest.audit.key === 'file' ? [BACKUP_FILES.auditKey] : [])]) {
    if (!manifest.files[name]) throw new BackupError('unusable-backup', `${file} lists no ${name}`);
  }
  return manifest;
}

/** Checks every file the manifest lists against its size and SHA-256; any difference makes the backup unusable. */
export async function checkBackupFiles(dir: string, manifest: BackupManifest): Promise<void> {
  for (const [name, expected] of Object.entries(manifest.files)) {
    const file = path.join(dir, name);
    const actual = await hashFile(file).catch((error: NodeJS.ErrnoException) => {
      throw new BackupError('unusable-backup', `${file} ${error.code === 'ENOENT' ? 'is missing' : `cannot be read (${error.message})`}`, { cause: error });
    });
    if (actual.bytes !== expected!.bytes || actual.sha256 !== expected!.sha256) {
      throw new BackupError(
        'unusable-backup',
        `${file} does not match the manifest (${actual.bytes} bytes, sha256 ${actual.sha256}; the manifest says ${expected!.bytes} bytes, sha256 ${expected!.sha256}): the backup was changed or damaged`,
      );
    }
  }
}

