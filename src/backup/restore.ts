import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { auditKeyId, parseStoredAnchor } from '../audit/anchor.ts';
import { loadAuditKey } from '../audit/key.ts';
import { verifyAudit, type AuditVerification } from '../audit/log.ts';
import type { Config } from '../config.ts';
import { GitRegistry } from '../registry/git-registry.ts';
import { databaseFacts, integrityProblems, withDatabaseAsIs } from './database-snapshot.ts';
import { BackupError } from './errors.ts';
import { dataDirLayout } from '../data-dir.ts';
import { fsyncPath, fsyncTree, targetState, writeNewFile } from './files.ts';
import { BACKUP_FILES, checkBackupFiles, readManifest, type BackupManifest } from './manifest.ts';
import { cloneBundle, fsckProblems, readRefs } from './registry-bundle.ts';

/** What `restoreBackup` restored and checked. */
export interface RestoreResult {
  dataDir: string;
  manifest: BackupManifest;
  /** Files whose size and SHA-256 matched the manifest before anything was written. */
  filesChecked: number;
  /** Tables and rows whose counts matched the manifest. */
  tables: number;
  rows: number;
  /** Refs that matched the manifest; indexed versions whose tag names their commit. */
  refs: number;
  indexedTags: number;
  audit: AuditVerification;
  /** Where the restored service finds its audit key. */
  keySource: 'file' | 'ACCORD_AUDIT_KEY';
  elapsedMs: number;
}

const unusable = (message: string) => new BackupError('unusable-backup', `The restored copy fails its checks: ${message}; nothing was restored`);

/** The audit key a restored service will use (ACCORD_AUDIT_KEY, else the backup's key file); refused unless it is the key the backup's log was sealed with. */
async function restoredKey(config: Pick<Config, 'auditKey'>, backupDir: string, manifest: BackupManifest): Promise<{ key: Buffer; file: Buffer | undefined }> {
  let fileKey: Buffer | undefined;
  if (manifest.audit.key === 'file') {
    try {
      fileKey = loadAuditKey({ auditKey: undefined, dataDir: backupDir }, { create: false }).key;
    } catch (error) {
      throw new BackupError('refused', (error as Error).message, { cause: error });
    }
  }
  const key = config.auditKey ?? fileKey;
  if (!key) throw new BackupError('refused', `The backup's audit log is sealed with ACCORD_AUDIT_KEY (key id ${manifest.audit.keyId}), which is not in the backup: set ACCORD_AUDIT_KEY to that key`);
  if (auditKeyId(key) !== manifest.audit.keyId) {
    throw new BackupError('refused', `ACCORD_AUDIT_KEY (key id ${auditKeyId(key)}) is not the key the backup's audit log is sealed with (key id ${manifest.audit.keyId}): ${fileKey ? 'unset it to use the backup\'s audit.key' : 'set it to the right key'}`);
  }
  // The file is restored byte for byte, as the manifest's SHA-256 vouches for it.
  return { key, file: fileKey && (await fs.readFile(path.join(backupDir, BACKUP_FILES.auditKey))) };
}

/** Checks the restored parts in `staging` against the manifest: SQLite integrity and row counts, git fsck and refs, indexed tags, the audit chain. */
async function verifyRestored(staging: string, manifest: BackupManifest, key: Buffer): Promise<Pick<RestoreResult, 'tables' | 'rows' | 'refs' | 'indexedTags' | 'audit'>> {
  const layout = dataDirLayout(staging);
  const fsck = await fsckProblems(layout.registry);
  if (fsck) throw unusable(`git fsck of the registry: ${fsck}`);
  const refs = await readRefs(layout.registry);
  for (const name of new Set([...refs.keys(), ...Object.keys(manifest.registry.refs)])) {
    const listed = manifest.registry.refs[name];
    if (refs.get(name)?.object !== listed) throw unusable(`ref ${name} is ${refs.get(name)?.object ?? 'missing'} in the registry, ${listed ?? 'not listed'} in the manifest`);
  }
  const stored = parseStoredAnchor(await GitRegistry.readAuditAnchorAt(layout.registry));
  return withDatabaseAsIs(layout.database, async (db) => {
    const integrity = integrityProblems(db);
    if (integrity.length > 0) throw unusable(`SQLite integrity check: ${integrity.slice(0, 3).join('; ')}`);
    const facts = await databaseFacts(db);
    for (const name of new Set([...Object.keys(facts.tables), ...Object.keys(manifest.database.tables)])) {
      if (facts.tables[name] !== manifest.database.tables[name]) throw unusable(`table ${name} has ${facts.tables[name] ?? 'no'} rows, the manifest says ${manifest.database.tables[name] ?? 'no such table'}`);
    }
    for (const [tag, commit] of facts.indexedTags) {
      const ref = refs.get(`refs/tags/${tag}`);
      if ((ref?.peeled ?? ref?.object) !== commit) throw unusable(`version tag ${tag} names ${ref ? (ref.peeled ?? ref.object) : 'nothing'} in the registry, the database indexes commit ${commit}`);
    }
    const audit = await verifyAudit(db, key, stored);
    if (!audit.ok) throw unusable(`the audit log does not verify: ${audit.problems.map((p) => p.message).join('; ')}`);
    if (audit.checked !== manifest.audit.count || audit.head.seq !== manifest.audit.head.seq || audit.head.hash !== manifest.audit.head.hash) {
      throw unusable(`the audit log has ${audit.checked} entries up to entry ${audit.head.seq}, the manifest says ${manifest.audit.count} up to entry ${manifest.audit.head.seq}`);
    }
    return { tables: Object.keys(facts.tables).length, rows: Object.values(facts.tables).reduce((a, b) => a + b, 0), refs: refs.size, indexedTags: facts.indexedTags.size, audit };
  });
}

/**
 * Restores the backup in `dir` into the configured data dir, which must be missing or empty (a
 * server's data dir never is). Checks the manifest and every file's SHA-256 and the audit key
 * before writing anything; then builds the data dir next to the target (database file 0600, the
 * bundle cloned into a bare registry, the key file 0600, directory 0700), checks it (SQLite
 * integrity and row counts, git fsck, refs, indexed tags, audit chain against the manifest),
 * fsyncs it and renames it into place. On any failure nothing is left behind.
 */
export async function restoreBackup(config: Pick<Config, 'auditKey' | 'dataDir'>, dir: string): Promise<RestoreResult> {
  const started = performance.now();
  const backupDir = path.resolve(dir);
  const target = config.dataDir;
  const state = await targetState(target);
  if (state === 'not-empty' || state === 'not-a-directory') {
    throw new BackupError('refused', `${target} ${state === 'not-empty' ? 'is not empty' : 'is not a directory'}: restore only into a new or empty data dir (stop the server using it and move it aside first)`);
  }
  const manifest = await readManifest(backupDir);
  await checkBackupFiles(backupDir, manifest);
  const { key, file: keyFile } = await restoredKey(config, backupDir, manifest);

  await fs.mkdir(path.dirname(target), { recursive: true });
  const staging = `${target}.restoring-${randomBytes(6).toString('hex')}`;
  await fs.mkdir(staging, { mode: 0o700 });
  try {
    await fs.chmod(staging, 0o700);
    const layout = dataDirLayout(staging);
    await fs.copyFile(path.join(backupDir, BACKUP_FILES.database), layout.database, fs.constants.COPYFILE_EXCL);
    await fs.chmod(layout.database, 0o600);
    if (keyFile) await writeNewFile(layout.auditKey, keyFile, 0o600);
    await cloneBundle(path.join(backupDir, BACKUP_FILES.registry), layout.registry);
    const checks = await verifyRestored(staging, manifest, key);
    await fsyncTree(staging);
    await fs.rename(staging, target).catch((error: NodeJS.ErrnoException) => {
      throw new BackupError('refused', `Cannot move the restored data dir into place at ${target} (${error.code ?? error.message})${error.code === 'ENOTEMPTY' || error.code === 'EEXIST' ? ': something wrote into it meanwhile' : ''}; nothing was restored`, { cause: error });
    });
    await fsyncPath(path.dirname(target));
    return { dataDir: target, manifest, filesChecked: Object.keys(manifest.files).length, ...checks, keySource: keyFile && !config.auditKey ? 'file' : 'ACCORD_AUDIT_KEY', elapsedMs: performance.now() - started };
  } catch (error) {
    await fs.rm(staging, { recursive: true, force: true });
    throw error;
  }
}
