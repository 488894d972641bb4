import fs from 'node:fs/promises';
import { accordVersion } from '../lib/version.ts';
import path from 'node:path';
import { ANCHOR_REF, auditKeyId } from '../audit/anchor.ts';
import { loadAuditKey } from '../audit/key.ts';
import type { Config } from '../config.ts';
import { databaseFacts, snapshotDatabase, withDatabaseAsIs } from './database-snapshot.ts';
import { BackupError } from './errors.ts';
import { dataDirLayout } from '../data-dir.ts';
import { fsyncPath, targetState, writeNewFile } from './files.ts';
import { BACKUP_FILES, describeBackup, MANIFEST_FILE, writeManifest, type BackupManifest } from './manifest.ts';
import { bundleRegistry, readRef, readRefs, refsMatchingSnapshot } from './registry-bundle.ts';

/** What `createBackup` wrote. */
export interface BackupResult {
  dir: string;
  manifest: BackupManifest;
  /** Registry refs newer than the database snapshot, so not in the backup (the next one has them). */
  leftOut: string[];
  elapsedMs: number;
}

function isInside(dir: string, parent: string): boolean {
  const relative = path.relative(parent, dir);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** The audit key the data dir's chain uses and whether it is the data dir's file (copied) or ACCORD_AUDIT_KEY (not). */
function auditKeyOf(config: Pick<Config, 'auditKey' | 'dataDir'>): { keyId: string; file: string | undefined } {
  try {
    const { key, source } = loadAuditKey(config, { create: false });
    return { keyId: auditKeyId(key), file: config.auditKey ? undefined : source };
  } catch (error) {
    throw new BackupError('refused', `${(error as Error).message}; a backup without the audit key could not be verified`, { cause: error });
  }
}

/**
 * Backs up the data dir into the new (or empty) directory `dir`, while a server may be running on
 * it: a consistent SQLite snapshot (online backup API), a `git bundle` of the registry with the refs
 * that agree with that snapshot, the audit key file (0600) unless ACCORD_AUDIT_KEY holds it, and
 * last `manifest.json` (version, time, SHA-256 of each file, rows per table, refs, audit head).
 * On failure what it wrote is removed; a directory without a manifest is an unfinished backup.
 */
export async function createBackup(config: Pick<Config, 'auditKey' | 'dataDir'>, dir: string, { clock = () => new Date() }: { clock?: () => Date } = {}): Promise<BackupResult> {
  const started = performance.now();
  const target = path.resolve(dir);
  const source = dataDirLayout(config.dataDir);
  if (isInside(target, config.dataDir)) throw new BackupError('refused', `${target} is inside the data dir ${config.dataDir}: back up to another directory`);
  const state = await targetState(target);
  if (state === 'not-empty' || state === 'not-a-directory') throw new BackupError('refused', `${target} ${state === 'not-empty' ? 'is not empty' : 'is not a directory'}: a backup goes into a new or empty directory`);
  for (const needed of [source.database, path.join(source.registry, 'HEAD')]) {
    if ((await targetState(needed)) === 'missing') throw new BackupError('refused', `No data dir at ${config.dataDir} (${needed} is missing; set ACCORD_DATA_DIR)`);
  }
  const key = auditKeyOf(config);

  await fs.mkdir(target, { recursive: true, mode: 0o700 });
  await fs.chmod(target, 0o700);
  try {
    const files = { database: path.join(target, BACKUP_FILES.database), registry: path.join(target, BACKUP_FILES.registry), auditKey: path.join(target, BACKUP_FILES.auditKey) };
    // The anchor is read before the snapshot: one written later may cover entries the snapshot lacks.
    const anchorBefore = await readRef(source.registry, ANCHOR_REF);
    const createdAt = clock();
    await snapshotDatabase(source.database, files.database);
    const facts = await withDatabaseAsIs(files.database, databaseFacts);
    const after = await readRefs(source.registry);
    const refs = await refsMatchingSnapshot(source.registry, after, anchorBefore, facts.indexedTags);
    await bundleRegistry(source.registry, refs, files.registry);
    if (key.file) await writeNewFile(files.auditKey, await fs.readFile(key.file), 0o600);
    for (const file of [files.database, files.registry]) await fsyncPath(file);
    const names = [BACKUP_FILES.database, BACKUP_FILES.registry, ...(key.file ? [BACKUP_FILES.auditKey] : [])];
    const manifest = await describeBackup(
      target,
      {
        accordVersion: accordVersion(),
        createdAt: createdAt.toISOString(),
        dataDir: config.dataDir,
        database: { tables: facts.tables },
        registry: { refs: Object.fromEntries(refs) },
        audit: { ...facts.audit, keyId: key.keyId, key: key.file ? 'file' : 'ACCORD_AUDIT_KEY' },
      },
      names,
    );
    await writeManifest(target, manifest);
    const leftOut = [...after.keys()].filter((name) => refs.get(name) !== after.get(name)!.object);
    return { dir: target, manifest, leftOut, elapsedMs: performance.now() - started };
  } catch (error) {
    // The directory was empty or new: everything in it is ours.
    const sqliteSidecars = ['-journal', '-wal', '-shm'].map((suffix) => `${BACKUP_FILES.database}${suffix}`);
    for (const name of [...Object.values(BACKUP_FILES), ...sqliteSidecars, MANIFEST_FILE, `${MANIFEST_FILE}.partial`]) await fs.rm(path.join(target, name), { force: true });
    if (state === 'missing') await fs.rmdir(target).catch(() => undefined);
    throw error;
  }
}
