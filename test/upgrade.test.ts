import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restoreBackup } from '../src/backup/restore.ts';
import { minimalSpec, REPO_ROOT, runCli, startTestService, type TestService } from './harness.ts';

/**
 * A data directory made by an earlier release must open with today's code with everything in it
 * (issue 15). Each release keeps one in test/fixtures/release-<version>/ as a backup, made by
 * test/fixtures/make-release-backup.ts, with what a client saw in it (expected.json).
 */
const FIXTURES = path.join(REPO_ROOT, 'test/fixtures');
const releases = fs.readdirSync(FIXTURES).filter((name) => name.startsWith('release-'));

describe.each(releases)('the data dir of %s', (release) => {
  const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, release, 'expected.json'), 'utf8'));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-upgrade-'));
  const dataDir = path.join(work, 'data');
  let s: TestService;
  let closed = false;
  const get = async (url: string) => {
    const res = await s.call('GET', url, { token: expected.adminToken });
    expect(res.status, url).toBe(200);
    return res.json();
  };

  beforeAll(async () => {
    // A checkout does not keep file modes; the backup's key must be private, as it was when made.
    const backup = path.join(work, 'backup');
    fs.cpSync(path.join(FIXTURES, release), backup, { recursive: true });
    fs.chmodSync(path.join(backup, 'audit.key'), 0o600);
    await restoreBackup({ dataDir, auditKey: undefined }, backup);
    s = await startTestService({ dir: dataDir });
  });
  afterAll(async () => {
    if (s && !closed) await s.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('opens with every contract version as it was: state, content hash and commit', async () => {
    for (const [key, versions] of Object.entries(expected.contracts)) {
      const now = (await get(`/v1/contracts/${key}/versions`)) as Array<{ version: string; state: string; sha256: string; commit: string }>;
      expect(now.map(({ version, state, sha256, commit }) => ({ version, state, sha256, commit })), key).toEqual(versions);
    }
  });

  it('keeps its change request with its diff, reviews and acknowledgements', async () => {
    const change = await get(`/v1/changes/${expected.changeId}`);
    for (const field of ['id', 'partner', 'api', 'version', 'baseVersion', 'breaking', 'bump', 'diffSummary', 'diffHash', 'summary', 'flows', 'requires', 'createdAt', 'createdBy', 'diff', 'reviews', 'acknowledgements']) {
      expect(change[field], field).toEqual(expected.change[field]);
    }
  });

  it('keeps an audit log that verifies, and goes on writing', async () => {
    const before = (await get('/v1/audit?limit=1000')) as unknown[];
    expect(before.length).toBeGreaterThanOrEqual(expected.auditEntries);
    const registered = await s.call('POST', '/v1/contracts/acme/upgrade-check/versions?version=1.0.0', { token: expected.adminToken, body: minimalSpec(), type: 'application/yaml' });
    expect(registered.status).toBe(201);
    await s.close();
    closed = true;
    const verify = await runCli(['audit', 'verify'], { ACCORD_DATA_DIR: dataDir });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });
});
