import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SYSTEM } from '../src/auth/principal.ts';
import { registerContractVersion, type RegisterResult } from '../src/contracts/register.ts';
import type { Deps } from '../src/deps.ts';
import { AccordError } from '../src/errors.ts';
import { putMatrixDocument } from '../src/matrix/store.ts';
import { GitRegistry } from '../src/registry/git-registry.ts';
import { minimalSpec, REPO_ROOT, runCli, startTestService, TEST_AUDIT_KEY, type TestService } from './harness.ts';
import { freshPostgresDatabase, type PostgresDatabase } from './postgres.ts';
import { gitIn, initBareRemote } from './git-remote.ts';

/**
 * Replicas on one registry remote and one database: registrations and matrix versions racing
 * across replicas (function level, several GitRegistry instances sharing one service's database),
 * and two real services over HTTP on one PostgreSQL database. Real git, real databases.
 */

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A new empty bare repository, as an operator would create the remote. */
function bareRemote(): string {
  return initBareRemote(tempDir('accord-remote-'));
}

/** A service on the remote, and `count` more replicas' registries sharing its database: the deps of each. */
async function replicas(count: number): Promise<{ s: TestService; remote: string; deps: Deps[] }> {
  const remote = bareRemote();
  const s = await startTestService({ env: { ACCORD_REGISTRY_REMOTE: remote } });
  cleanups.push(() => s.cleanup());
  const deps = [s.deps];
  for (let i = 1; i < count; i++) {
    const registry = await GitRegistry.open(path.join(tempDir('accord-replica-'), 'registry'), undefined, { remote, fetchIntervalMs: 0 });
    deps.push({ ...s.deps, registry });
  }
  return { s, remote, deps };
}

const register = (deps: Deps, body: string, version = '1.0.0') => registerContractVersion(deps, SYSTEM, { partner: 'acme', api: 'member-api', version, body, format: 'yaml' });
const rowCount = async (s: TestService) => (await s.deps.db.$sql.value('SELECT count(*) FROM contract_versions')) as number;

/** The index (contracts and matrix) lists exactly the remote's tags, each on the commit the tag names. */
async function expectIndexMatchesRemote(s: TestService, remote: string): Promise<void> {
  const tags = gitIn(remote, 'tag', '--list').split('\n').filter(Boolean).sort();
  const rows = (await s.deps.db.$sql.all('SELECT tag, "commit" FROM contract_versions UNION ALL SELECT tag, "commit" FROM matrix_versions')) as Array<{ tag: string; commit: string }>;
  expect(rows.map((r) => r.tag).sort()).toEqual(tags);
  for (const row of rows) expect(gitIn(remote, 'rev-parse', `${row.tag}^{commit}`).trim()).toBe(row.commit);
}

/** The same registry with `beforePublish` run between the registration's index check and its publication. */
function racing(registry: GitRegistry, beforePublish: () => Promise<unknown>): GitRegistry {
  const wrapped = Object.create(registry) as GitRegistry;
  wrapped.transaction = (fn) => registry.transaction((tx) => fn({ publish: async (request, index) => (await beforePublish(), tx.publish(request, index)) }));
  return wrapped;
}

describe('replicas sharing a registry remote and a database', () => {
  it('50 concurrent registrations of one version over 3 replicas: exactly one is created', async () => {
    const { s, remote, deps } = await replicas(3);
    const body = minimalSpec('1.0.0');
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => register(deps[i % 3]!, body)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.version.commit)).size).toBe(1);
    expect(await rowCount(s)).toBe(1);
    expect(gitIn(remote, 'tag', '--list').trim()).toBe('acme/member-api/v1.0.0');
    expect(gitIn(remote, 'rev-parse', 'acme/member-api/v1.0.0^{commit}').trim()).toBe(results[0]!.version.commit);
  });

  it('the same version with different content on two replicas at once: one 201, one 409', async () => {
    const { s, remote, deps } = await replicas(2);
    for (const version of ['1.0.0', '1.1.0', '1.2.0']) {
      const outcomes = await Promise.allSettled([register(deps[0]!, minimalSpec(version), version), register(deps[1]!, minimalSpec(version, '  /other:\n    get:\n      responses:\n        "200":\n          description: ok\n'), version)]);
      expect(outcomes.filter((o) => o.status === 'fulfilled' && o.value.created)).toHaveLength(1);
      const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(refused).toHaveLength(1);
      expect(refused[0]!.reason).toBeInstanceOf(AccordError);
      expect(refused[0]!.reason).toMatchObject({ code: 'conflict', status: 409 });
    }
    expect(await rowCount(s)).toBe(3);
    await expectIndexMatchesRemote(s, remote);
  });

  it('another replica indexing the version between the check and the publication is a 200 (identical) or 409 (different), not a 500', async () => {
    const { s, deps } = await replicas(2);
    const [a, b] = deps as [Deps, Deps];
    const body = minimalSpec('2.0.0');
    const late = { ...a, registry: racing(a.registry, () => register(b, body, '2.0.0')) };
    const same = await register(late, body, '2.0.0');
    expect(same.created).toBe(false);

    const differentLate = { ...a, registry: racing(a.registry, () => register(b, minimalSpec('3.0.0'), '3.0.0')) };
    const error = await register(differentLate, minimalSpec('3.0.0', '  /late:\n    get:\n      responses:\n        "200":\n          description: ok\n'), '3.0.0').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'conflict', extra: { existing: { version: '3.0.0' } } });
    expect(await rowCount(s)).toBe(2);
  });

  it('a replica that stopped between its push and its index row does not make the version unregistrable', async () => {
    const { s, remote, deps } = await replicas(2);
    const sql = s.deps.db.$sql;
    await sql.run(`CREATE TEMP TRIGGER refuse BEFORE INSERT ON contract_versions BEGIN SELECT RAISE(ABORT, 'the process died here'); END`);
    const died = await register(deps[1]!, minimalSpec('4.0.0'), '4.0.0').catch((e: unknown) => e);
    expect(String((died as Error).cause)).toMatch(/the process died here/);
    await sql.run('DROP TRIGGER refuse');
    // The remote (the record) has it; the index does not.
    const pushed = gitIn(remote, 'rev-parse', 'acme/member-api/v4.0.0^{commit}').trim();
    expect(await rowCount(s)).toBe(0);
    const other = await register(deps[0]!, minimalSpec('4.0.0', '  /x:\n    get:\n      responses:\n        "200":\n          description: ok\n'), '4.0.0').catch((e: unknown) => e);
    expect(other).toMatchObject({ code: 'conflict', extra: { tag: 'acme/member-api/v4.0.0', commit: pushed } });
    const again: RegisterResult = await register(deps[0]!, minimalSpec('4.0.0'), '4.0.0');
    expect(again).toMatchObject({ created: true, version: { commit: pushed } });
    await expectIndexMatchesRemote(s, remote);
  });

  it('matrix versions racing on two replicas are both stored, in order; a number a stopped replica took is skipped', async () => {
    const { s, remote, deps } = await replicas(3);
    const policy = (breaking: number) => `approvals: {breaking: ${breaking}, non-breaking: 1}\nevidence: {breaking: [contract-test], non-breaking: [contract-test]}\n`;
    const put = (d: Deps, breaking: number) => putMatrixDocument(d, SYSTEM, { kind: 'policy', name: 'policy', body: policy(breaking), format: 'yaml' });
    const results = await Promise.all([put(deps[0]!, 2), put(deps[1]!, 3)]);
    expect(results.every((r) => r.created)).toBe(true);
    expect(results.map((r) => r.version.version).sort()).toEqual([1, 2]);
    // A third replica pushes version 3 and dies before indexing it.
    await expect(
      deps[2]!.registry.transaction((tx) =>
        tx.publish({ path: 'control-matrix/policy.yaml', content: 'orphan\n', message: 'orphan', tag: 'control-matrix/policy/v3', tagMessage: 'orphan', author: { name: 'x', email: 'x@example.invalid' }, at: new Date() }, () => {
          throw new Error('died');
        }),
      ),
    ).rejects.toThrow('died');
    const next = await put(deps[0]!, 4);
    expect(next).toMatchObject({ created: true, version: { version: 4 } });
    expect(gitIn(remote, 'tag', '--list', 'control-matrix/*').split('\n').filter(Boolean)).toEqual(['control-matrix/policy/v1', 'control-matrix/policy/v2', 'control-matrix/policy/v3', 'control-matrix/policy/v4']);
    expect(await s.deps.db.$sql.column('SELECT version FROM matrix_versions ORDER BY version')).toEqual([1, 2, 4]);
  });
});

describe('services on one PostgreSQL database and one registry remote', () => {
  it('three replicas starting at once on a new database and remote seed the reference network once and share one audit anchor', async () => {
    const remote = bareRemote();
    const database = await freshPostgresDatabase({ migrated: false });
    cleanups.push(() => database.drop());
    const env = { ACCORD_DATABASE_URL: database.url, ACCORD_AUDIT_KEY: TEST_AUDIT_KEY, ACCORD_REGISTRY_REMOTE: remote };
    const started = await Promise.allSettled([1, 2, 3].map(() => startTestService({ env, seed: true })));
    for (const result of started) if (result.status === 'fulfilled') cleanups.push(() => result.value.cleanup());
    expect(started.map((r) => (r.status === 'rejected' ? String(r.reason) : 'started'))).toEqual(['started', 'started', 'started']);
    const services = started.map((r) => (r as PromiseFulfilledResult<TestService>).value);
    await expectIndexMatchesRemote(services[0]!, remote);
    expect(await rowCount(services[0]!)).toBe(fs.readdirSync(path.join(REPO_ROOT, 'contracts'), { recursive: true }).filter((f) => String(f).endsWith('openapi.yaml')).length);
    for (const s of services) expect((await s.deps.audit.anchor()).problem).toBeUndefined();
  });


  it('register on one, read on the other; racing registrations get one 201; audit verify sees the remote anchor anywhere', async () => {
    const remote = bareRemote();
    const database: PostgresDatabase = await freshPostgresDatabase({ migrated: true });
    cleanups.push(() => database.drop());
    const env = { ACCORD_DATABASE_URL: database.url, ACCORD_AUDIT_KEY: TEST_AUDIT_KEY, ACCORD_REGISTRY_REMOTE: remote };
    const s1 = await startTestService({ env });
    cleanups.push(() => s1.cleanup());
    const s2 = await startTestService({ env });
    cleanups.push(() => s2.cleanup());
    const BASE = '/v1/contracts/acme/member-api';

    const created = await s1.call('POST', `${BASE}/versions`, { body: minimalSpec('1.0.0'), type: 'application/yaml' });
    expect(created.status).toBe(201);
    const { commit } = (await created.json()) as { commit: string };
    const doc = await s2.call('GET', `${BASE}/versions/1.0.0/document`);
    expect(doc.status).toBe(200);
    expect(await doc.text()).toBe(gitIn(remote, 'cat-file', 'blob', `${commit}:contracts/acme/member-api/1.0.0/openapi.yaml`));
    const history = (await (await s2.call('GET', `${BASE}/history`)).json()) as Array<{ sha: string }> | { items: Array<{ sha: string }> };
    expect(JSON.stringify(history)).toContain(commit);

    const post = (s: TestService, body: string) => s.call('POST', `${BASE}/versions`, { body, type: 'application/yaml' }).then((r) => r.status);
    expect((await Promise.all([post(s1, minimalSpec('1.1.0')), post(s2, minimalSpec('1.1.0'))])).sort()).toEqual([200, 201]);
    const other = minimalSpec('1.2.0', '  /other:\n    get:\n      responses:\n        "200":\n          description: ok\n');
    expect((await Promise.all([post(s1, minimalSpec('1.2.0')), post(s2, other)])).sort()).toEqual([201, 409]);
    expect(gitIn(remote, 'tag', '--list').split('\n').filter(Boolean)).toEqual(['acme/member-api/v1.0.0', 'acme/member-api/v1.1.0', 'acme/member-api/v1.2.0']);

    // Both services anchor the shared log on the remote, each following the other's anchor.
    expect(await s1.deps.audit.anchor()).toEqual({ written: true });
    await s2.call('POST', `${BASE}/versions`, { body: minimalSpec('1.3.0'), type: 'application/yaml' });
    expect(await s2.deps.audit.anchor()).toEqual({ written: true });
    expect(await s1.deps.audit.anchor()).toEqual({ written: false });
    // The remote's anchor verifies from a data dir that never held it.
    const verify = await runCli(['audit', 'verify'], { ...env, ACCORD_DATA_DIR: tempDir('accord-elsewhere-') });
    expect(verify.stdout).toContain('Audit log intact');
    expect(verify.code).toBe(0);
  });
});
