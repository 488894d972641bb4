import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AccordError } from '../src/errors.ts';
import { GitRegistry } from '../src/registry/git-registry.ts';
import { TagTakenError } from '../src/registry/remote.ts';
import { gitIn, initBareRemote } from './git-remote.ts';

/**
 * ACCORD_REGISTRY_REMOTE at the registry level: several GitRegistry instances (each its own data
 * dir, as replicas have) on one real bare remote, real git, nothing mocked.
 */

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A new empty bare repository, as an operator would create the remote. */
function bareRemote(): string {
  return initBareRemote(tempDir('accord-remote-'));
}

function replica(remote: string, options: { dir?: string; isIndexed?: (tag: string) => boolean } = {}): Promise<GitRegistry> {
  return GitRegistry.open(options.dir ?? path.join(tempDir('accord-replica-'), 'registry'), options.isIndexed, { remote, fetchIntervalMs: 0 });
}

/** Publishes one file with its tag; `index` gets the commit (and may throw, as a failed insert does). */
function publish(registry: GitRegistry, n: string, content = `content of ${n}\n`, index: (commit: string) => string = (c) => c): Promise<string> {
  return registry.transaction((tx) =>
    tx.publish(
      { path: `contracts/t/api/${n}/openapi.yaml`, content, message: `Register ${n}`, tag: `t/api/v${n}`, tagMessage: `tag ${n}`, author: { name: 'tester', email: 'tester@example.invalid' }, at: new Date('2026-12-01T00:00:00Z') },
      index,
    ),
  );
}

const tags = (dir: string) => gitIn(dir, 'tag', '--list').split('\n').filter(Boolean).sort();

describe('registry remote', () => {
  it('a new replica with an empty data dir gets everything the remote holds', async () => {
    const remote = bareRemote();
    const a = await replica(remote);
    expect(a.created).toBe(true);
    const first = await publish(a, '1.0.0');
    await a.writeAuditAnchor({ text: '{"n":1}', parent: undefined, message: 'anchor', at: new Date() });
    expect(gitIn(remote, 'rev-parse', 'main').trim()).toBe(first);
    expect(tags(remote)).toEqual(['t/api/v1.0.0']);

    const b = await replica(remote);
    expect(b.created).toBe(false);
    expect(gitIn(b.dir, 'rev-parse', 'main').trim()).toBe(first);
    expect(tags(b.dir)).toEqual(['t/api/v1.0.0']);
    expect(await b.read(first, 'contracts/t/api/1.0.0/openapi.yaml')).toBe('content of 1.0.0\n');
    expect((await b.readAuditAnchor())?.text).toBe('{"n":1}');
  });

  it('replicas publishing different versions at once all land on the remote, none lost', async () => {
    const remote = bareRemote();
    const [a, b, c] = [await replica(remote), await replica(remote), await replica(remote)];
    const names = Array.from({ length: 24 }, (_, i) => `1.${i}.0`);
    const commits = await Promise.all(names.map((n, i) => publish([a, b, c][i % 3]!, n)));
    expect(new Set(commits).size).toBe(24);
    expect(tags(remote)).toEqual(names.map((n) => `t/api/v${n}`).sort());
    // One linear history holding every file, and every tag on a commit of it.
    const files = gitIn(remote, 'ls-tree', '-r', '--name-only', 'main').split('\n').filter(Boolean);
    expect(files.sort()).toEqual(names.map((n) => `contracts/t/api/${n}/openapi.yaml`).sort());
    const onMain = new Set(gitIn(remote, 'rev-list', 'main').split('\n').filter(Boolean));
    for (const commit of commits) expect(onMain.has(commit)).toBe(true);
    expect(onMain.size).toBe(25); // the first commit and one per version
    // Each replica's history shows what the others pushed (history fetches).
    expect((await a.history('contracts/t/api/')).length).toBe(24);
    // Attempts that lost a race left no objects behind.
    for (const r of [a, b, c]) expect(gitIn(r.dir, 'fsck', '--unreachable', '--no-reflogs')).toBe('');
  });

  it('one tag published by two replicas at once: identical content is adopted, different content is refused', async () => {
    const remote = bareRemote();
    const [a, b] = [await replica(remote), await replica(remote)];
    const same = await Promise.all([publish(a, '2.0.0'), publish(b, '2.0.0')]);
    expect(same[0]).toBe(same[1]); // the loser indexes the winner's commit
    expect(tags(remote)).toEqual(['t/api/v2.0.0']);

    const outcomes = await Promise.allSettled([publish(a, '3.0.0', 'one\n'), publish(b, '3.0.0', 'two\n')]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toBeInstanceOf(TagTakenError);
    expect((lost[0]!.reason as TagTakenError).status).toBe(409);
    expect((lost[0]!.reason as TagTakenError).commit).toBe((won[0] as PromiseFulfilledResult<string>).value);
    // The loser kept nothing of its own: its tag is the remote's.
    for (const r of [a, b]) expect(gitIn(r.dir, 'rev-parse', 't/api/v3.0.0^{commit}').trim()).toBe(gitIn(remote, 'rev-parse', 't/api/v3.0.0^{commit}').trim());
  });

  it('reads what another replica pushed after it opened (fetch on a miss), and its history', async () => {
    const remote = bareRemote();
    const [a, b] = [await replica(remote), await replica(remote)];
    const commit = await publish(a, '4.0.0', 'pushed by a\n');
    expect(() => gitIn(b.dir, 'cat-file', '-e', commit)).toThrow(); // not fetched yet
    expect(await b.read(commit, 'contracts/t/api/4.0.0/openapi.yaml')).toBe('pushed by a\n');
    expect((await b.history('contracts/t/api/')).map((h) => h.sha)).toEqual([commit]);
    await expect(b.read(commit, 'contracts/nothing-here.yaml')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('a push the remote refuses leaves no local tag, commit or object, indexes nothing, and answers 503', async () => {
    const remote = bareRemote();
    const a = await replica(remote);
    const head = gitIn(a.dir, 'rev-parse', 'main').trim();
    fs.writeFileSync(path.join(remote, 'hooks/pre-receive'), '#!/bin/sh\necho "registry frozen for maintenance" >&2\nexit 1\n', { mode: 0o755 });
    let indexed = false;
    const error = await publish(a, '5.0.0', 'x\n', (c) => ((indexed = true), c)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccordError);
    expect(error).toMatchObject({ code: 'unavailable', status: 503 });
    expect((error as Error).message).toMatch(/refused t\/api\/v5\.0\.0.*registry frozen for maintenance/);
    expect(indexed).toBe(false);
    expect(gitIn(a.dir, 'rev-parse', 'main').trim()).toBe(head);
    expect(tags(a.dir)).toEqual([]);
    expect(gitIn(a.dir, 'for-each-ref')).not.toMatch(/scratch/);
    expect(gitIn(a.dir, 'fsck', '--unreachable', '--no-reflogs')).toBe('');
    expect(tags(remote)).toEqual([]);
    // Once the remote accepts again, so does the registry.
    fs.rmSync(path.join(remote, 'hooks/pre-receive'));
    expect(await publish(a, '5.0.0', 'x\n')).toMatch(/^[0-9a-f]{40}$/);
  });

  it('a version pushed but never indexed (a replica stopped in between) is adopted by the next identical publication', async () => {
    const remote = bareRemote();
    const [a, b] = [await replica(remote), await replica(remote)];
    await expect(publish(a, '6.0.0', 'six\n', () => { throw new Error('the process died here'); })).rejects.toThrow('the process died here');
    // It is on the remote (the record) and stays there.
    const orphan = gitIn(remote, 'rev-parse', 't/api/v6.0.0^{commit}').trim();
    await expect(publish(b, '6.0.0', 'something else\n')).rejects.toBeInstanceOf(TagTakenError);
    expect(await publish(b, '6.0.0', 'six\n')).toBe(orphan);
  });

  it('moves an embedded registry to an empty remote, and refuses a remote with another history', async () => {
    const dir = path.join(tempDir('accord-embedded-'), 'registry');
    const embedded = await GitRegistry.open(dir);
    const commit = await publish(embedded, '7.0.0');
    const remote = bareRemote();
    const joined = await replica(remote, { dir });
    expect(joined.created).toBe(false); // it holds a version: not a new registry
    expect(gitIn(remote, 'rev-parse', 'main').trim()).toBe(commit);
    expect(tags(remote)).toEqual(['t/api/v7.0.0']);

    const other = await GitRegistry.open(path.join(tempDir('accord-other-'), 'registry'));
    await publish(other, '8.0.0');
    await expect(replica(remote, { dir: other.dir })).rejects.toThrow(/different histories/);
  });

  it('an unreachable remote: history stays as last fetched, a read it cannot serve and a publication are 503', async () => {
    const remote = bareRemote();
    const [a, b] = [await replica(remote), await replica(remote)];
    const commit = await publish(a, '10.0.0');
    const elsewhere = `${remote}-moved`;
    fs.renameSync(remote, elsewhere);
    dirs.push(elsewhere);
    expect((await a.history('contracts/t/api/')).map((h) => h.sha)).toEqual([commit]);
    await expect(b.read(commit, 'contracts/t/api/10.0.0/openapi.yaml')).rejects.toMatchObject({ code: 'unavailable' });
    await expect(publish(a, '10.1.0')).rejects.toMatchObject({ code: 'unavailable', status: 503 });
    expect(tags(a.dir)).toEqual(['t/api/v10.0.0']);
  });

  it('a remote that refuses the first push: the replica does not open, and says why', async () => {
    const remote = bareRemote();
    fs.writeFileSync(path.join(remote, 'hooks/pre-receive'), '#!/bin/sh\necho "no pushes here" >&2\nexit 1\n', { mode: 0o755 });
    await expect(replica(remote)).rejects.toMatchObject({ code: 'unavailable', message: expect.stringContaining('no pushes here') });
  });

  it('cleans up at open what a publication cut short left locally', async () => {
    const remote = bareRemote();
    const a = await replica(remote);
    const published = await publish(a, '9.0.0');
    // A crash after fast-import, before the push: a scratch ref and a tag the remote never saw.
    const id = ['-c', 'user.name=crash', '-c', 'user.email=crash@example.invalid'];
    const stray = gitIn(a.dir, ...id, 'commit-tree', 'main^{tree}', '-p', 'main', '-m', 'never pushed').trim();
    gitIn(a.dir, 'update-ref', 'refs/accord-scratch/publish', stray);
    gitIn(a.dir, ...id, 'tag', '-a', 't/api/v9.9.9', '-m', 'never pushed', stray);
    const reopened = await replica(remote, { dir: a.dir, isIndexed: () => true });
    expect(tags(reopened.dir)).toEqual(['t/api/v9.0.0']);
    expect(gitIn(reopened.dir, 'for-each-ref', 'refs/accord-scratch')).toBe('');
    expect(gitIn(reopened.dir, 'rev-parse', 'main').trim()).toBe(published);
    expect(await publish(reopened, '9.9.9')).not.toBe(stray);
  });

  it('pushes the audit anchor only over the parent it names; every replica and the CLI read the remote one', async () => {
    const remote = bareRemote();
    const [a, b] = [await replica(remote), await replica(remote)];
    const first = await a.writeAuditAnchor({ text: 'one', parent: undefined, message: 'anchor 1', at: new Date() });
    expect((await b.readAuditAnchor())?.commit).toBe(first);
    const second = await b.writeAuditAnchor({ text: 'two', parent: first, message: 'anchor 2', at: new Date() });
    // a still believes `first` is the tip: the remote refuses, nothing moves.
    await expect(a.writeAuditAnchor({ text: 'stale', parent: undefined, message: 'stale', at: new Date() })).rejects.toMatchObject({ code: 'conflict' });
    await expect(a.writeAuditAnchor({ text: 'stale', parent: first, message: 'stale', at: new Date() })).rejects.toMatchObject({ code: 'conflict' });
    expect(gitIn(remote, 'rev-parse', 'refs/accord/audit').trim()).toBe(second);
    expect(await GitRegistry.readAuditAnchorAt(path.join(tempDir('accord-cli-'), 'registry'), remote)).toEqual({ commit: second, text: 'two' });
    expect(await GitRegistry.readAuditAnchorAt(a.dir, `file://${remote}`)).toEqual({ commit: second, text: 'two' });
  });
});
