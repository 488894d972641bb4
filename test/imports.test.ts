import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../src/auth/principal.ts';
import { findContractFiles } from '../src/contracts/files.ts';
import { registerContractVersion } from '../src/contracts/register.ts';
import { onSignal } from '../src/db/signals.ts';
import { importFiles } from '../src/imports/import.ts';
import { findMatrixFiles } from '../src/matrix/files.ts';
import { GitRegistry } from '../src/registry/git-registry.ts';
import { ADMIN_TOKEN, networkSpec, REPO_ROOT, runCli, startTestService, TEST_AUDIT_KEY, TEST_STORAGE, type TestService } from './harness.ts';
import { gitIn, initBareRemote } from './git-remote.ts';
import { freshPostgresDatabase } from './postgres.ts';

/**
 * POST /v1/imports (ADR 0019): a folder of the registry layout applied all or nothing — one Git
 * update, one database transaction — on a real service, real git (a local registry and a registry
 * remote) and the real database.
 */

interface File {
  path: string;
  content: string;
}

/** Every file of the registry layout under `root`, with its registry path. */
async function layoutFiles(root = REPO_ROOT): Promise<File[]> {
  const files: File[] = [];
  for (const f of await findContractFiles(root)) files.push({ path: `contracts/${f.partner}/${f.api}/${f.version}/${path.basename(f.file)}`, content: fs.readFileSync(f.file, 'utf8') });
  for (const f of await findMatrixFiles(root)) files.push({ path: `control-matrix/${path.basename(f.file)}`, content: fs.readFileSync(f.file, 'utf8') });
  return files;
}

const reference = (file: string) => fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');

async function post(s: TestService, body: unknown, token?: string) {
  const res = await s.call('POST', '/v1/imports', { body: JSON.stringify(body), type: 'application/json', ...(token ? { token } : {}) });
  return { status: res.status, type: res.headers.get('content-type'), json: (await res.json()) as any };
}

/** Everything an import could change: refs (but the audit anchor), main's history, index rows, the contracts list, unreachable objects. */
async function state(s: TestService, registry = path.join(s.dir, 'registry')) {
  return {
    refs: gitIn(registry, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads', 'refs/tags', 'refs/accord-scratch'),
    log: gitIn(registry, 'log', '--format=%H %s', 'main'),
    unreachable: gitIn(registry, 'fsck', '--unreachable', '--no-reflogs'),
    contracts: await s.deps.db.$sql.all('SELECT * FROM contract_versions ORDER BY partner, api, version_key'),
    matrix: await s.deps.db.$sql.all('SELECT * FROM matrix_versions ORDER BY name, version'),
    listed: await (await s.call('GET', '/v1/contracts')).json(),
  };
}

/** A flow entry of the reference network with one field changed (a valid new version). */
function changedFlow(name: string, title: string): string {
  return reference(`control-matrix/${name}.yaml`).replace(/^title: .*$/m, `title: ${title}`);
}

describe('POST /v1/imports', () => {
  let s: TestService;

  beforeAll(async () => {
    s = await startTestService();
  });
  afterAll(async () => await s.cleanup());

  it('imports the reference network in one Git update and one transaction; again, everything is unchanged', async () => {
    gitIn(path.join(s.dir, 'registry'), 'config', 'core.logAllRefUpdates', 'always');
    const files = await layoutFiles();
    const first = await post(s, { files });
    expect(first.status).toBe(201);
    expect(first.json.applied).toBe(true);
    // Contracts and the policy are stored; flows, like any matrix write but break-glass, are proposals (ADR 0018).
    expect(first.json.totals).toEqual({ files: files.length, created: 9, proposed: 7, unchanged: 0 });
    expect(new Set(first.json.files.filter((f: any) => f.kind === 'flow').map((f: any) => f.action))).toEqual(new Set(['proposed']));
    // Contracts first (each API in semver order), then the policy, then the flows.
    expect(first.json.files.map((f: any) => `${f.kind} ${f.name} ${f.version}`)).toEqual([
      'contract bluestem-mutual/p2p-exchange 1.0.0',
      'contract bluestem-mutual/p2p-exchange 1.1.0',
      'contract bluestem-mutual/p2p-exchange 1.2.0',
      'contract northwind-health/p2p-exchange 1.0.0',
      'contract northwind-health/p2p-exchange 1.1.0',
      'contract northwind-health/p2p-exchange 2.0.0',
      'contract northwind-health/p2p-exchange 2.1.0',
      'policy policy 1',
      'ruleset ruleset 1',
      'flow acknowledgement 1',
      'flow consent-capture 1',
      'flow consent-verification 1',
      'flow finalisation 1',
      'flow finalisation-by-id 1',
      'flow member-match 1',
      'flow payer-data-export 1',
    ]);
    const bluestem11 = first.json.files.find((f: any) => f.path === 'contracts/bluestem-mutual/p2p-exchange/1.1.0/openapi.yaml');
    expect(bluestem11).toMatchObject({ action: 'created', diff: { against: '1.0.0', bump: expect.any(String), summary: { breaking: expect.any(Number) } } });
    // One commit per version, but main moved once: one ref update for the whole import.
    const registry = path.join(s.dir, 'registry');
    expect(gitIn(registry, 'rev-list', '--count', 'main').trim()).toBe(String(files.length + 1));
    expect(gitIn(registry, 'reflog', 'show', '--format=%H', 'refs/heads/main').trim().split('\n')).toHaveLength(1);
    await s.expectIndexMatchesTags();
    expect(gitIn(registry, 'for-each-ref', 'refs/accord-scratch')).toBe('');

    const again = await post(s, { files });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ applied: false, totals: { created: 0, unchanged: files.length } });
    expect(gitIn(registry, 'reflog', 'show', '--format=%H', 'refs/heads/main').trim().split('\n')).toHaveLength(1);
  });

  it('one bad file among good ones: 422 listing every refused file, and nothing written', async () => {
    const before = await state(s);
    const auditBefore = (await s.deps.db.$sql.value('SELECT max(seq) FROM audit_log')) as number;
    const breaking = reference('contracts/northwind-health/p2p-exchange/2.1.0/openapi.yaml').replace(/^  \/acknowledgements:/m, '  /renamed-acknowledgements:');
    const res = await post(s, {
      files: [
        { path: 'contracts/acme/member-api/1.0.0/openapi.yaml', content: networkSpec('1.0.0') },
        { path: 'contracts/acme/member-api/1.1.0/openapi.yaml', content: networkSpec('1.1.0') },
        { path: 'contracts/acme/broken-api/1.0.0/openapi.yaml', content: 'openapi: 3.1.0\ninfo: {title: x, version: 1.0.0}\npaths:\n  /a:\n    get: {responses: 17}\n' },
        { path: 'contracts/northwind-health/p2p-exchange/1.0.0/openapi.yaml', content: networkSpec('1.0.0') },
        { path: 'contracts/northwind-health/p2p-exchange/2.2.0/openapi.yaml', content: breaking.replace(/^  version: .*$/m, '  version: 2.2.0') },
        { path: 'control-matrix/member-match.yaml', content: changedFlow('member-match', 'Member match, retitled') },
        { path: 'control-matrix/new-flow.yaml', content: 'flow: new-flow\ntitle: 17\n' },
        { path: 'contracts/acme/readme.md', content: '# not a contract' },
      ],
    });
    expect(res.status).toBe(422);
    expect(res.type).toBe('application/problem+json');
    expect(res.json.code).toBe('invalid_document');
    expect(res.json.detail).toMatch(/5 of 8 files.*nothing was written/);
    const refused = [...new Set(res.json.errors.map((e: any) => e.path))].sort();
    expect(refused).toEqual([
      'contracts/acme/broken-api/1.0.0/openapi.yaml',
      'contracts/acme/readme.md',
      'contracts/northwind-health/p2p-exchange/1.0.0/openapi.yaml',
      'contracts/northwind-health/p2p-exchange/2.2.0/openapi.yaml',
      'control-matrix/new-flow.yaml',
    ]);
    for (const e of res.json.errors) expect(Object.keys(e).sort()).toEqual(['location', 'message', 'path', 'rule']);
    const about = (p: string) => res.json.errors.filter((e: any) => e.path === p);
    expect(about('contracts/acme/readme.md')).toEqual([expect.objectContaining({ rule: 'unknown-path' })]);
    expect(about('contracts/acme/broken-api/1.0.0/openapi.yaml').some((e: any) => e.location.startsWith('/paths/~1a/get'))).toBe(true);
    // Immutable versions: different content for a registered version (409 on its own route) is a finding here.
    expect(about('contracts/northwind-health/p2p-exchange/1.0.0/openapi.yaml')[0]).toMatchObject({ rule: 'conflict', message: expect.stringMatching(/already registered with different content/) });
    // A breaking change without a major bump: why, then each breaking change with its rule.
    const notMajor = about('contracts/northwind-health/p2p-exchange/2.2.0/openapi.yaml');
    expect(notMajor[0]).toMatchObject({ rule: 'conflict', message: expect.stringMatching(/breaking change.*not a major version bump/) });
    expect(notMajor.length).toBeGreaterThan(1);
    expect(about('control-matrix/new-flow.yaml').length).toBeGreaterThan(0);

    expect(await state(s)).toEqual(before);
    // The refusal is audited like any refused request; nothing else was.
    const audit = (await s.deps.db.$sql.all('SELECT action, outcome, detail FROM audit_log WHERE seq > ?', [auditBefore])) as Array<{ action: string; outcome: string; detail: string }>;
    expect(audit.map((a) => [a.action, a.outcome])).toEqual([['POST /v1/imports', 'refused']]);
    expect(JSON.parse(audit[0]!.detail).status).toBe(422);
  });

  it('a dry run answers what would change and writes nothing', async () => {
    const before = await state(s);
    const res = await post(s, {
      dryRun: true,
      files: [
        { path: 'control-matrix/member-match.yaml', content: changedFlow('member-match', 'Member match, retitled') },
        { path: 'contracts/acme/member-api/1.0.0/openapi.yaml', content: networkSpec('1.0.0') },
        { path: 'control-matrix/acknowledgement.yaml', content: reference('control-matrix/acknowledgement.yaml') },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ dryRun: true, applied: false, totals: { files: 3, created: 1, proposed: 1, unchanged: 1 } });
    expect(res.json.files.map((f: any) => [f.path, f.action, f.version])).toEqual([
      ['contracts/acme/member-api/1.0.0/openapi.yaml', 'created', '1.0.0'],
      ['control-matrix/acknowledgement.yaml', 'unchanged', 1],
      ['control-matrix/member-match.yaml', 'proposed', 2],
    ]);
    expect(res.json.files[2].diff).toMatchObject({ against: 1, summary: { total: expect.any(Number) } });
    expect(await state(s)).toEqual(before);
  });

  it('refuses content equal to an older version of a matrix entry unless allowRevert', async () => {
    const v1 = reference('control-matrix/finalisation.yaml');
    const v2 = changedFlow('finalisation', 'Finalisation, second edition');
    expect((await s.call('PUT', '/v1/control-matrix/finalisation', { body: v2, type: 'application/yaml' })).status).toBe(201);
    const before = await state(s);
    const stale = await post(s, { files: [{ path: 'control-matrix/finalisation.yaml', content: v1 }, { path: 'control-matrix/consent-capture.yaml', content: reference('control-matrix/consent-capture.yaml') }] });
    expect(stale.status).toBe(422);
    expect(stale.json.errors).toEqual([{ path: 'control-matrix/finalisation.yaml', rule: 'revert', location: '', message: expect.stringMatching(/equals version 1 .*newest version 2.*--allow-revert/) }]);
    expect(await state(s)).toEqual(before);
    // The newest content is no revert: unchanged.
    expect((await post(s, { files: [{ path: 'control-matrix/finalisation.yaml', content: v2 }] })).json.files[0].action).toBe('unchanged');

    const allowed = await post(s, { allowRevert: true, files: [{ path: 'control-matrix/finalisation.yaml', content: v1 }] });
    expect(allowed.status).toBe(201);
    expect(allowed.json.files[0]).toMatchObject({ action: 'proposed', version: 3, diff: { against: 2 } });
    const stored = await (await s.call('GET', '/v1/control-matrix/finalisation?version=3')).json();
    expect(stored.sha256).toBe((await (await s.call('GET', '/v1/control-matrix/finalisation?version=1')).json()).sha256);
    await s.expectIndexMatchesTags();
  });

  it('needs an admin for the policy (403 for the whole import, nothing written); an author imports contracts and flows', async () => {
    const author = await s.token('author');
    const before = await state(s);
    const withPolicy = await post(s, { files: [{ path: 'contracts/acme/member-api/2.0.0/openapi.yaml', content: networkSpec('2.0.0') }, { path: 'control-matrix/policy.yaml', content: reference('control-matrix/policy.yaml') }] }, author);
    expect(withPolicy.status).toBe(403);
    expect(withPolicy.json.detail).toMatch(/policy/);
    expect((await post(s, { files: [{ path: 'control-matrix/ruleset.yaml', content: 'rules: {}\n' }] }, author)).status).toBe(403);
    expect((await post(s, { files: [{ path: 'contracts/acme/member-api/2.0.0/openapi.yaml', content: networkSpec('2.0.0') }] }, await s.token('approver'))).status).toBe(403);
    expect(await state(s)).toEqual(before);

    const ok = await post(s, { files: [{ path: 'contracts/acme/member-api/2.0.0/openapi.yaml', content: networkSpec('2.0.0') }] }, author);
    expect(ok.status).toBe(201);
    expect(ok.json.files[0]).toMatchObject({ kind: 'contract', name: 'acme/member-api', version: '2.0.0', action: 'created' });
    await s.expectIndexMatchesTags();
  });

  it('tells caches (the runtime\'s routes) of a change only once it is committed', async () => {
    let signalled = 0;
    const stop = onSignal('contracts', () => signalled++);
    try {
      const files = [{ path: 'contracts/acme/signal-api/1.0.0/openapi.yaml', content: networkSpec('1.0.0') }];
      expect((await post(s, { dryRun: true, files })).status).toBe(200);
      expect((await post(s, { files: [...files, { path: 'control-matrix/broken.yaml', content: 'flow: broken\n' }] })).status).toBe(422);
      expect(signalled).toBe(0);
      expect((await post(s, { files })).status).toBe(201);
      expect(signalled).toBeGreaterThan(0);
    } finally {
      stop();
    }
  });

  it('refuses a body that is not an import: no files, too many, a path twice', async () => {
    expect((await post(s, { files: [] })).status).toBe(422);
    expect((await post(s, { files: 'x' })).status).toBe(422);
    expect((await post(s, { files: Array.from({ length: 1001 }, (_, i) => ({ path: `control-matrix/f${i}.yaml`, content: '' })) })).status).toBe(422);
    const twice = await post(s, { files: [{ path: 'control-matrix/f.yaml', content: 'a: 1\n' }, { path: 'control-matrix/f.json', content: '{"a": 1}' }] });
    expect(twice.status).toBe(422);
    expect(twice.json.errors).toContainEqual(expect.objectContaining({ path: 'control-matrix/f.json', rule: 'duplicate' }));
  });
});

describe('POST /v1/imports on a registry remote', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function onRemote(): Promise<{ s: TestService; remote: string }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-remote-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const remote = initBareRemote(dir);
    const s = await startTestService({ env: { ACCORD_REGISTRY_REMOTE: remote } });
    cleanups.push(() => s.cleanup());
    return { s, remote };
  }

  it('a refused import leaves the remote as it was; an accepted one lands in one atomic push', async () => {
    const { s, remote } = await onRemote();
    gitIn(remote, 'config', 'core.logAllRefUpdates', 'always');
    const files = await layoutFiles();
    const remoteRefs = () => gitIn(remote, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads', 'refs/tags');
    const before = { remote: remoteRefs(), local: await state(s) };
    const bad = await post(s, { files: [...files, { path: 'control-matrix/broken.yaml', content: 'flow: broken\n' }] });
    expect(bad.status).toBe(422);
    expect(new Set(bad.json.errors.map((e: any) => e.path))).toEqual(new Set(['control-matrix/broken.yaml']));
    expect({ remote: remoteRefs(), local: await state(s) }).toEqual(before);

    const good = await post(s, { files });
    expect(good.status).toBe(201);
    expect(gitIn(remote, 'tag', '--list').trim().split('\n')).toHaveLength(files.length);
    expect(gitIn(remote, 'rev-parse', 'main').trim()).toBe(gitIn(path.join(s.dir, 'registry'), 'rev-parse', 'main').trim());
    // One push: the remote's main moved once (logged since the refused import).
    expect(gitIn(remote, 'reflog', 'show', '--format=%H', 'refs/heads/main').trim().split('\n')).toHaveLength(1);
    const rows = (await s.deps.db.$sql.all('SELECT tag, "commit" FROM contract_versions UNION ALL SELECT tag, "commit" FROM matrix_versions')) as Array<{ tag: string; commit: string }>;
    expect(rows).toHaveLength(files.length);
    for (const row of rows) expect(gitIn(remote, 'rev-parse', `${row.tag}^{commit}`).trim()).toBe(row.commit);
  });

  it('a remote that refuses the push: 503, nothing indexed, nothing left locally', async () => {
    const { s, remote } = await onRemote();
    const before = await state(s);
    fs.writeFileSync(path.join(remote, 'hooks/pre-receive'), '#!/bin/sh\necho "registry frozen" >&2\nexit 1\n', { mode: 0o755 });
    const res = await post(s, { files: await layoutFiles(path.join(REPO_ROOT, 'contracts')) });
    expect(res.status).toBe(503);
    expect(res.json.detail).toMatch(/registry frozen/);
    expect(await state(s)).toEqual(before);
    expect(gitIn(remote, 'tag', '--list')).toBe('');
  });
});

describe('POST /v1/imports on replicas sharing PostgreSQL and a registry remote', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('another replica registers a version of the import between its check and its insert: the import still applies, with that replica\'s version', async () => {
    const remoteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-remote-'));
    cleanups.push(() => fs.rmSync(remoteDir, { recursive: true, force: true }));
    const remote = initBareRemote(remoteDir);
    // The other replica's insert must commit while the import's transaction is open: PostgreSQL (in the sqlite project too).
    let env: Record<string, string> = { ACCORD_REGISTRY_REMOTE: remote };
    if (TEST_STORAGE !== 'postgres') {
      const database = await freshPostgresDatabase({ migrated: true });
      cleanups.push(() => database.drop());
      env = { ...env, ACCORD_DATABASE_URL: database.url, ACCORD_AUDIT_KEY: TEST_AUDIT_KEY };
    }
    const s = await startTestService({ env });
    cleanups.push(() => s.cleanup());
    expect(s.deps.db.$dialect).toBe('postgres');
    const other = { ...s.deps, registry: await GitRegistry.open(path.join(s.dir, 'other-replica'), undefined, { remote, fetchIntervalMs: 0 }) };

    // The import's registry, held at its first index insert until the other replica has registered.
    let runs = 0;
    let reached!: () => void;
    let proceed!: () => void;
    const atFirstIndex = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (proceed = resolve));
    const importing = Object.create(s.deps.registry) as GitRegistry;
    importing.batch = (fn, options) =>
      s.deps.registry.batch(async (batch) => (runs++, fn(batch)), {
        index: async (work) => {
          if (runs === 1) {
            reached();
            await released;
          }
          return options!.index!(work);
        },
      });
    const body = networkSpec('1.0.0');
    const result = importFiles({ ...s.deps, registry: importing }, SYSTEM, {
      files: [
        { path: 'contracts/acme/member-api/1.0.0/openapi.yaml', content: body },
        { path: 'contracts/acme/member-api/1.1.0/openapi.yaml', content: networkSpec('1.1.0') },
      ],
    });
    await atFirstIndex;
    const theirs = await registerContractVersion(other, SYSTEM, { partner: 'acme', api: 'member-api', version: '1.0.0', body, format: 'yaml' });
    proceed();

    // Its insert met the other replica's row (a unique violation, rolled back to its savepoint), its
    // push met the other replica's tag: it ran again on the new tip and found the version registered.
    const imported = await result;
    expect(runs).toBe(2);
    expect(imported.files.map((f) => [f.version, f.action])).toEqual([['1.0.0', 'unchanged'], ['1.1.0', 'created']]);
    const rows = (await s.deps.db.$sql.all('SELECT version, "commit" FROM contract_versions ORDER BY version_key')) as Array<{ version: string; commit: string }>;
    expect(rows).toEqual([{ version: '1.0.0', commit: theirs.version.commit }, { version: '1.1.0', commit: gitIn(remote, 'rev-parse', 'main').trim() }]);
    expect(gitIn(remote, 'rev-parse', `${rows[1]!.commit}^`).trim()).toBe(theirs.version.commit);
  });
});

describe('accord import (the CLI against a real server)', () => {
  let s: TestService;
  let env: Record<string, string>;
  let work: string;

  beforeAll(async () => {
    s = await startTestService();
    env = { ACCORD_URL: await s.listen(), ACCORD_TOKEN: ADMIN_TOKEN };
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-import-'));
    for (const folder of ['contracts', 'control-matrix']) fs.cpSync(path.join(REPO_ROOT, folder), path.join(work, folder), { recursive: true });
  });
  afterAll(async () => {
    await s.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('--dry-run prints what would change and writes nothing; then the import stores it all', async () => {
    const dry = await runCli(['import', work, '--dry-run'], env);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('would register bluestem-mutual/p2p-exchange@1.0.0\n');
    expect(dry.stdout).toMatch(/would register bluestem-mutual\/p2p-exchange@1\.1\.0 \(against 1\.0\.0: \d+ breaking changes?, /);
    expect(dry.stdout).toMatch(/would propose +control-matrix\/member-match v1/);
    expect(dry.stdout).toMatch(/would store +control-matrix\/policy v1/);
    expect(dry.stdout.trim().split('\n').pop()).toBe('Dry run: 9 would be registered, 7 would be proposed, 0 unchanged; nothing was written.');
    expect(s.git('tag', '--list')).toBe('');

    const run = await runCli(['import', work], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('registered northwind-health/p2p-exchange@2.0.0');
    expect(run.stdout).toMatch(/proposed +control-matrix\/payer-data-export v1/);
    expect(run.stdout.trim().split('\n').pop()).toBe('9 registered, 7 proposed, 0 unchanged.');
    await s.expectIndexMatchesTags();
  });

  it('a refused import exits 1 and names every problem with its file; nothing is written', async () => {
    // The server moved on (member-match v2) while this checkout still holds v1; and a new contract is broken.
    expect((await s.call('PUT', '/v1/control-matrix/member-match', { body: changedFlow('member-match', 'Member match, edited on the server'), type: 'application/yaml' })).status).toBe(201);
    fs.mkdirSync(path.join(work, 'contracts/acme/broken-api/1.0.0'), { recursive: true });
    fs.writeFileSync(path.join(work, 'contracts/acme/broken-api/1.0.0/openapi.yaml'), 'openapi: 3.1.0\ninfo: {title: x, version: 1.0.0}\npaths:\n  /a:\n    get: {responses: 17}\n');
    const head = s.git('rev-parse', 'main');
    const tags = s.git('tag', '--list');

    const refused = await runCli(['import', work], env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^accord: HTTP 422 Invalid document: The import was refused: 2 of 17 files cannot be stored; nothing was written\n/);
    expect(refused.stderr).toMatch(/\n {2}contracts\/acme\/broken-api\/1\.0\.0\/openapi\.yaml \/paths\/~1a\/get\S*: \[invalid\] /);
    expect(refused.stderr).toMatch(/\n {2}control-matrix\/member-match\.yaml: \[revert\] equals version 1 of control-matrix entry "member-match", older than its newest version 2.*--allow-revert/);
    const json = await runCli(['import', work, '--format', 'json'], env);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).error.problem).toMatchObject({ status: 422, errors: expect.arrayContaining([expect.objectContaining({ path: 'control-matrix/member-match.yaml', rule: 'revert' })]) });
    expect(s.git('rev-parse', 'main')).toBe(head);
    expect(s.git('tag', '--list')).toBe(tags);

    // The broken contract fixed (removed), the revert allowed: stored as a new version.
    fs.rmSync(path.join(work, 'contracts/acme'), { recursive: true });
    const reverted = await runCli(['import', work, '--allow-revert', '--format', 'json'], env);
    expect(reverted.code).toBe(0);
    const answer = JSON.parse(reverted.stdout);
    expect(answer.totals).toEqual({ files: 16, created: 0, proposed: 1, unchanged: 15 });
    expect(answer.files.find((f: any) => f.action === 'proposed')).toMatchObject({ path: 'control-matrix/member-match.yaml', version: 3, diff: { against: 2 } });
  });

  it('exits 1 when the server refuses the caller, 3 when it cannot run', async () => {
    const author = await runCli(['import', work], { ...env, ACCORD_TOKEN: await s.token('author') });
    expect(author.code).toBe(1);
    expect(author.stderr).toMatch(/^accord: HTTP 403 Forbidden: .*policy/);
    expect((await runCli(['import', work, '--format', 'xml'], env)).code).toBe(3);
    expect((await runCli(['import', path.join(work, 'nothing-here')], env)).code).toBe(3);
    const unreachable = await runCli(['import', work], { ...env, ACCORD_URL: 'http://127.0.0.1:9' });
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain('Cannot reach Accord');
  });
});
