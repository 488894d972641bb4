import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStoredAnchor } from '../src/audit/anchor.ts';
import { verifyAudit } from '../src/audit/log.ts';
import { createBackup } from '../src/backup/create.ts';
import { databaseFacts, snapshotDatabase, withDatabaseAsIs } from '../src/backup/database-snapshot.ts';
import { BackupError } from '../src/backup/errors.ts';
import { readRef, readRefs, refsMatchingSnapshot } from '../src/backup/registry-bundle.ts';
import { accordVersion } from '../src/lib/version.ts';
import { restoreBackup } from '../src/backup/restore.ts';
import { openChange, registerVersion } from './change-fixtures.ts';
import { runCli, startTestService, type TestService } from './harness.ts';

const git = (dir: string, ...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' });
const mode = (file: string) => fs.statSync(file).mode & 0o777;
/** Every entry in `dir`, recursively, with its size: what "nothing was written" is checked against. */
const listing = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort().map((name) => `${name} ${fs.statSync(path.join(dir, name)).size}`) : []);
/** Leftovers of a restore next to its target (`<target>.restoring-…`). */
const restoreLeftovers = (target: string) => fs.readdirSync(path.dirname(target)).filter((name) => name.startsWith(`${path.basename(target)}.restoring-`));

/** What a client sees of the registry and change control, to compare two services. */
async function visibleState(s: TestService) {
  const get = async (url: string) => {
    const res = await s.call('GET', url);
    expect(res.status, url).toBe(200);
    return res;
  };
  const contracts = (await (await get('/v1/contracts')).json()) as Array<{ partner: string; api: string }>;
  const versions: Record<string, unknown> = {};
  const documents: Record<string, string> = {};
  for (const { partner, api } of contracts) {
    const list = (await (await get(`/v1/contracts/${partner}/${api}/versions`)).json()) as Array<{ version: string }>;
    versions[`${partner}/${api}`] = list;
    for (const { version } of list) documents[`${partner}/${api}@${version}`] = await (await get(`/v1/contracts/${partner}/${api}/versions/${version}/document`)).text();
  }
  const changes = (await (await get('/v1/changes')).json()) as { items?: Array<{ id: string }> } | Array<{ id: string }>;
  const items = Array.isArray(changes) ? changes : (changes.items ?? []);
  const changeViews = await Promise.all(items.map(async (c) => (await get(`/v1/changes/${c.id}`)).json()));
  return { contracts, versions, documents, changes, changeViews };
}

describe('accord backup and restore (embedded mode)', () => {
  let s: TestService;
  let work: string;
  let backupDir: string;
  let backupRun: Awaited<ReturnType<typeof runCli>>;
  let auditAtBackup: number;

  beforeAll(async () => {
    // Every audit entry is anchored at once: a backup taken while anchors move must still verify.
    s = await startTestService({ seed: true, env: { ACCORD_AUDIT_ANCHOR_EVERY: '1', ACCORD_JOBS_INTERVAL_MS: '100' } });
    await s.startJobs();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-backup-'));
    await registerVersion(s, 'northwind-health', 'p2p-exchange', '2.1.0', '2.2.0', (doc) => (doc.info.description = 'A clarified description.'));
    await openChange(s, 'northwind-health', 'p2p-exchange', '2.2.0', 'clarify the description');
    expect((await s.call('POST', '/v1/tokens', { body: JSON.stringify({ role: 'ci', name: 'pipeline' }), type: 'application/json' })).status).toBe(201);
    auditAtBackup = (await s.deps.db.$sql.value('SELECT count(*) FROM audit_log')) as number;
    expect(auditAtBackup).toBeGreaterThan(0);

    backupDir = path.join(work, 'backup');
    backupRun = await runCli(['backup', backupDir], { ACCORD_DATA_DIR: s.dir });
  });
  afterAll(async () => {
    await s.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('backs up the running service: a snapshot, a bundle, the key and a manifest written last, all private', () => {
    expect(backupRun.stderr).toBe('');
    expect(backupRun.code).toBe(0);
    expect(backupRun.stdout).toContain(`Backed up ${s.dir} to ${backupDir}:`);
    expect(backupRun.stdout).toMatch(/accord\.db .* sha256 [0-9a-f]{16}… .*tables/);
    expect(backupRun.stdout).toMatch(/manifest\.json\s+written last/);
    expect(fs.readdirSync(backupDir).sort()).toEqual(['accord.db', 'audit.key', 'manifest.json', 'registry.bundle']);
    expect(mode(backupDir)).toBe(0o700);
    for (const name of fs.readdirSync(backupDir)) expect(mode(path.join(backupDir, name)), name).toBe(0o600);
    const manifest = JSON.parse(fs.readFileSync(path.join(backupDir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ format: 'accord-backup/1', accordVersion: accordVersion(), audit: { key: 'file' } });
    expect(manifest.database.tables.contract_versions).toBe(8);
    expect(manifest.database.tables.change_requests).toBe(1);
    expect(manifest.audit.count).toBeGreaterThanOrEqual(auditAtBackup);
    expect(manifest.registry.refs['refs/tags/northwind-health/p2p-exchange/v2.2.0']).toMatch(/^[0-9a-f]{40}$/);
    expect(Object.keys(manifest.files).sort()).toEqual(['accord.db', 'audit.key', 'registry.bundle']);
  });

  it('restores into a fresh data dir that a new service opens with the same versions, changes, audit log and history', async () => {
    const target = path.join(work, 'restored', 'data');
    const run = await runCli(['restore', backupDir], { ACCORD_DATA_DIR: target });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('3 files match their size and SHA-256');
    expect(run.stdout).toMatch(/database: {2}SQLite integrity ok; \d+ tables and \d+ rows match the manifest/);
    expect(run.stdout).toMatch(/registry: {2}git fsck clean; 19 refs match the manifest; 17 indexed versions name their tagged commits/);
    expect(run.stdout).toMatch(/audit log: intact, \d+ entries up to entry \d+ as in the manifest/);
    expect(mode(target)).toBe(0o700);
    expect(mode(path.join(target, 'accord.db'))).toBe(0o600);
    expect(mode(path.join(target, 'audit.key'))).toBe(0o600);
    expect(fs.readFileSync(path.join(target, 'audit.key'))).toEqual(fs.readFileSync(path.join(s.dir, 'audit.key')));
    expect(restoreLeftovers(target)).toEqual([]);

    const manifest = JSON.parse(fs.readFileSync(path.join(backupDir, 'manifest.json'), 'utf8'));
    const registry = path.join(target, 'registry');
    // Git history: the same refs and the same commits (hashes cover content, authors and times).
    const refs = Object.fromEntries(git(registry, 'for-each-ref', '--format=%(refname) %(objectname)').trim().split('\n').map((l) => l.split(' ')));
    expect(refs).toEqual(manifest.registry.refs);
    for (const [ref, object] of Object.entries(refs)) if (ref.startsWith('refs/tags/')) expect(git(s.deps.registry.dir, 'rev-parse', ref).trim(), ref).toBe(object);
    const main = manifest.registry.refs['refs/heads/main'];
    expect(git(registry, 'log', '--format=%H %T %an %at %s', 'main')).toBe(git(s.deps.registry.dir, 'log', '--format=%H %T %an %at %s', main));
    expect(git(registry, 'log', '--format=%H', 'refs/accord/audit')).toBe(git(s.deps.registry.dir, 'log', '--format=%H', manifest.registry.refs['refs/accord/audit']));

    const restored = await startTestService({ dir: target });
    try {
      const state = await visibleState(restored);
      expect(Object.keys(state.documents)).toHaveLength(8);
      expect(state.changeViews).toEqual([expect.objectContaining({ partner: 'northwind-health', version: '2.2.0' })]);
      expect(state).toEqual(await visibleState(s));
      await restored.expectIndexMatchesTags();
      // The audit log as it was at the backup: the same entries, byte for byte.
      const entries = async (svc: TestService) => (await svc.deps.db.$sql.all('SELECT * FROM audit_log WHERE seq <= ? ORDER BY seq', [manifest.audit.head.seq]));
      expect(await entries(restored)).toEqual(await entries(s));
      expect(await entries(restored)).toHaveLength(manifest.audit.count);
    } finally {
      await restored.close();
    }
    const verify = await runCli(['audit', 'verify'], { ACCORD_DATA_DIR: target });
    expect(verify.stdout).toContain('Audit log intact');
    expect(verify.code).toBe(0);
  });

  it('takes a consistent backup while the service keeps registering versions and anchoring its audit log', async () => {
    let writing = true;
    let minor = 0;
    const writer = (async () => {
      while (writing) {
        minor++;
        await registerVersion(s, 'bluestem-mutual', 'p2p-exchange', '1.2.0', `1.${minor + 2}.0`, (doc) => (doc.info.description = `Revision ${minor}.`));
      }
    })();
    const dir = path.join(work, 'busy-backup');
    const run = await runCli(['backup', dir], { ACCORD_DATA_DIR: s.dir });
    writing = false;
    await writer;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(minor).toBeGreaterThan(1);

    const target = path.join(work, 'busy-restored');
    const restoreRun = await runCli(['restore', dir], { ACCORD_DATA_DIR: target });
    expect(restoreRun.stderr).toBe('');
    expect(restoreRun.code).toBe(0);
    const restored = await startTestService({ dir: target });
    try {
      await restored.expectIndexMatchesTags();
      const rows = (await restored.deps.db.$sql.all('SELECT partner, api, version, sha256, "commit" FROM contract_versions ORDER BY partner, api, version'));
      const original = (await s.deps.db.$sql.all('SELECT partner, api, version, sha256, "commit" FROM contract_versions ORDER BY partner, api, version'));
      expect(original).toEqual(expect.arrayContaining(rows));
      const { documents } = await visibleState(restored);
      for (const [key, text] of Object.entries(documents)) {
        const [name, version] = key.split('@');
        expect(await (await s.call('GET', `/v1/contracts/${name}/versions/${version}/document`)).text(), key).toBe(text);
      }
    } finally {
      await restored.close();
    }
  });

  it('keeps the refs that agree with the snapshot: a version registered and an anchor written after it are left out', async () => {
    const registry = s.deps.registry.dir;
    await s.deps.audit.settled();
    const anchorBefore = await readRef(registry, 'refs/accord/audit');
    const mainBefore = await readRef(registry, 'refs/heads/main');
    const snapshot = path.join(work, 'pinned.db');
    await snapshotDatabase(path.join(s.dir, 'accord.db'), snapshot);
    await registerVersion(s, 'bluestem-mutual', 'p2p-exchange', '1.2.0', '9.0.0', (doc) => (doc.info.description = 'After the snapshot.'));
    await s.deps.audit.settled();
    const after = await readRefs(registry);
    expect(after.get('refs/accord/audit')!.object).not.toBe(anchorBefore);

    await withDatabaseAsIs(snapshot, async (db) => {
      const pinned = await refsMatchingSnapshot(registry, after, anchorBefore, (await databaseFacts(db)).indexedTags);
      expect(pinned.has('refs/tags/bluestem-mutual/p2p-exchange/v9.0.0')).toBe(false);
      expect(after.has('refs/tags/bluestem-mutual/p2p-exchange/v9.0.0')).toBe(true);
      expect(pinned.get('refs/heads/main')).toBe(mainBefore);
      expect(pinned.get('refs/accord/audit')).toBe(anchorBefore);
      // The anchor written after the snapshot covers entries the snapshot lacks: with it the log would look truncated.
      const anchorAt = (commit: string) => parseStoredAnchor({ commit, text: git(registry, 'cat-file', 'blob', `${commit}:audit-anchor.json`) });
      const key = fs.readFileSync(path.join(s.dir, 'audit.key'), 'utf8').trim();
      expect((await verifyAudit(db, Buffer.from(key, 'hex'), anchorAt(anchorBefore!))).ok).toBe(true);
      expect((await verifyAudit(db, Buffer.from(key, 'hex'), anchorAt(after.get('refs/accord/audit')!.object))).problems).toEqual([expect.objectContaining({ kind: 'truncated' })]);
    });
  });

  it('refuses a target that is not empty, writing nothing', async () => {
    const occupied = path.join(work, 'occupied');
    fs.mkdirSync(occupied);
    fs.writeFileSync(path.join(occupied, 'notes.txt'), 'mine');
    const backupInto = await runCli(['backup', occupied], { ACCORD_DATA_DIR: s.dir });
    expect(backupInto.code).toBe(3);
    expect(backupInto.stderr).toContain(`accord: ${occupied} is not empty: a backup goes into a new or empty directory`);
    expect(listing(occupied)).toEqual(['notes.txt 4']);

    // The running service's own data dir: a restore never writes over it.
    const names = fs.readdirSync(s.dir).sort();
    const key = fs.readFileSync(path.join(s.dir, 'audit.key'));
    const restoreOver = await runCli(['restore', backupDir], { ACCORD_DATA_DIR: s.dir });
    expect(restoreOver.code).toBe(3);
    expect(restoreOver.stderr).toContain(`accord: ${s.dir} is not empty: restore only into a new or empty data dir`);
    expect(fs.readdirSync(s.dir).sort()).toEqual(names);
    expect(fs.readFileSync(path.join(s.dir, 'audit.key'))).toEqual(key);
    expect(restoreLeftovers(s.dir)).toEqual([]);
    await expect(createBackup(s.config, path.join(s.dir, 'inside'))).rejects.toThrow(/is inside the data dir/);
  });

  it('refuses a backup with a changed byte in any file before writing anything (exit 1)', async () => {
    for (const name of ['accord.db', 'registry.bundle', 'audit.key']) {
      const copy = path.join(work, `tampered-${name}`);
      fs.cpSync(backupDir, copy, { recursive: true });
      const file = path.join(copy, name);
      const bytes = fs.readFileSync(file);
      const at = Math.floor(bytes.length / 2);
      bytes[at] = bytes[at]! ^ 0x01;
      fs.writeFileSync(file, bytes);
      const target = path.join(work, `from-tampered-${name}`);
      const run = await runCli(['restore', copy], { ACCORD_DATA_DIR: target });
      expect(run.code, name).toBe(1);
      expect(run.stderr).toContain(`accord: ${file} does not match the manifest`);
      expect(run.stdout).toBe('');
      expect(fs.existsSync(target)).toBe(false);
      expect(restoreLeftovers(target)).toEqual([]);
    }
  });

  it('refuses a backup without its manifest (unfinished) and one whose restored copy disagrees with the manifest, leaving nothing', async () => {
    const unfinished = path.join(work, 'unfinished');
    fs.cpSync(backupDir, unfinished, { recursive: true });
    fs.rmSync(path.join(unfinished, 'manifest.json'));
    const target = path.join(work, 'from-unfinished');
    const run = await runCli(['restore', unfinished], { ACCORD_DATA_DIR: target });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`accord: ${unfinished} has no manifest.json: it is not an Accord backup, or one that did not finish (the manifest is written last)\n`);
    expect(fs.existsSync(target)).toBe(false);

    // The files match their hashes, but the manifest's counts do not: caught after the restore, before the rename.
    const edited = path.join(work, 'edited-manifest');
    fs.cpSync(backupDir, edited, { recursive: true });
    const manifest = JSON.parse(fs.readFileSync(path.join(edited, 'manifest.json'), 'utf8'));
    manifest.database.tables.change_requests += 1;
    fs.writeFileSync(path.join(edited, 'manifest.json'), JSON.stringify(manifest));
    const emptyTarget = path.join(work, 'empty-target');
    fs.mkdirSync(emptyTarget);
    const error = await restoreBackup({ dataDir: emptyTarget, auditKey: undefined }, edited).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackupError);
    expect(error).toMatchObject({ reason: 'unusable-backup', message: expect.stringContaining('table change_requests has 1 rows, the manifest says 2') });
    expect(fs.readdirSync(emptyTarget)).toEqual([]);
    expect(restoreLeftovers(emptyTarget)).toEqual([]);
  });

  it('refuses a key that is not the one the backup was sealed with (exit 3)', async () => {
    const target = path.join(work, 'wrong-key');
    const run = await runCli(['restore', backupDir], { ACCORD_DATA_DIR: target, ACCORD_AUDIT_KEY: 'ab'.repeat(32) });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/ACCORD_AUDIT_KEY \(key id [0-9a-f]{16}\) is not the key the backup's audit log is sealed with/);
    expect(fs.existsSync(target)).toBe(false);
  });
});

describe('a backup of a data dir whose audit key is ACCORD_AUDIT_KEY', () => {
  it('leaves the key out, and restores only with that key', async () => {
    const key = 'cd'.repeat(32);
    const s = await startTestService({ env: { ACCORD_AUDIT_KEY: key } });
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-backup-envkey-'));
    try {
      expect((await s.call('POST', '/v1/tokens', { body: JSON.stringify({ role: 'ci', name: 'pipeline' }), type: 'application/json' })).status).toBe(201);
      const backup = await createBackup(s.config, path.join(work, 'backup'));
      expect(Object.keys(backup.manifest.files).sort()).toEqual(['accord.db', 'registry.bundle']);
      expect(backup.manifest.audit.key).toBe('ACCORD_AUDIT_KEY');
      await expect(restoreBackup({ dataDir: path.join(work, 'no-key'), auditKey: undefined }, backup.dir)).rejects.toThrow(/sealed with ACCORD_AUDIT_KEY .* set ACCORD_AUDIT_KEY to that key/);
      expect(fs.existsSync(path.join(work, 'no-key'))).toBe(false);
      const restored = await restoreBackup({ dataDir: path.join(work, 'data'), auditKey: s.config.auditKey }, backup.dir);
      expect(restored).toMatchObject({ keySource: 'ACCORD_AUDIT_KEY', audit: { ok: true } });
      expect(fs.existsSync(path.join(work, 'data', 'audit.key'))).toBe(false);
    } finally {
      await s.cleanup();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
