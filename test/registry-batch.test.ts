import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GitRegistry, type PublishRequest } from '../src/registry/git-registry.ts';
import { TagTakenError } from '../src/registry/remote.ts';
import { gitIn, initBareRemote } from './git-remote.ts';

/**
 * Registry batches (ADR 0019) at the registry level: many publications, one ref update (a local
 * registry) or one atomic push (a registry remote), nothing left when the batch is not applied.
 * Real git, nothing mocked.
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

function request(n: string, content = `content of ${n}\n`): PublishRequest {
  return { path: `contracts/t/api/${n}/openapi.yaml`, content, message: `Register ${n}`, tag: `t/api/v${n}`, tagMessage: `tag ${n}`, author: { name: 'tester', email: 'tester@example.invalid' }, at: new Date('2026-12-01T00:00:00Z') };
}

/** A publication outside any batch. */
function publish(registry: GitRegistry, n: string, content?: string): Promise<string> {
  return registry.transaction((tx) => tx.publish(request(n, content), (commit) => commit));
}

const refs = (dir: string) => gitIn(dir, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads', 'refs/tags', 'refs/accord-scratch');
const tags = (dir: string) => gitIn(dir, 'tag', '--list').split('\n').filter(Boolean).sort();
const unreachable = (dir: string) => gitIn(dir, 'fsck', '--unreachable', '--no-reflogs');
const local = async () => GitRegistry.open(path.join(tempDir('accord-batch-'), 'registry'));

describe('registry batch', () => {
  it('moves nothing until apply, then main and every tag at once; pending commits chain and can be read', async () => {
    const registry = await local();
    await publish(registry, '0.9.0');
    const before = refs(registry.dir);
    gitIn(registry.dir, 'config', 'core.logAllRefUpdates', 'always');
    const commits = await registry.batch(async (batch) => {
      const a = await batch.publish(request('1.0.0'), (c) => c);
      const b = await batch.publish(request('1.1.0'), (c) => c);
      expect(refs(registry.dir).split('\n').filter((l) => !l.startsWith('refs/accord-scratch/')).join('\n')).toBe(before);
      expect(gitIn(registry.dir, 'rev-parse', `${b}^`).trim()).toBe(a);
      expect(await registry.read(b, 'contracts/t/api/1.0.0/openapi.yaml')).toBe('content of 1.0.0\n');
      await batch.apply();
      return [a, b];
    });
    expect(gitIn(registry.dir, 'rev-parse', 'main').trim()).toBe(commits[1]);
    expect(tags(registry.dir)).toEqual(['t/api/v0.9.0', 't/api/v1.0.0', 't/api/v1.1.0']);
    expect(gitIn(registry.dir, 'rev-parse', 't/api/v1.0.0^{commit}').trim()).toBe(commits[0]);
    expect(gitIn(registry.dir, 'cat-file', '-t', 't/api/v1.1.0').trim()).toBe('tag');
    expect(gitIn(registry.dir, 'reflog', 'show', '--format=%H', 'refs/heads/main').trim().split('\n')).toEqual([commits[1]]);
    expect(gitIn(registry.dir, 'for-each-ref', 'refs/accord-scratch')).toBe('');
    // The next publication builds on the batch.
    expect(gitIn(registry.dir, 'rev-parse', `${await publish(registry, '1.2.0')}^`).trim()).toBe(commits[1]);
  });

  it('leaves the registry as it was when the batch ends without apply, throws, or fails after apply', async () => {
    const registry = await local();
    await publish(registry, '0.9.0');
    const before = refs(registry.dir);
    await registry.batch(async (batch) => void (await batch.publish(request('1.0.0'), (c) => c)));
    expect(refs(registry.dir)).toBe(before);
    await expect(registry.batch(async (batch) => {
      await batch.publish(request('1.0.0'), (c) => c);
      throw new Error('refused');
    })).rejects.toThrow('refused');
    expect(refs(registry.dir)).toBe(before);
    // The database commit after apply failed: the refs move back.
    await expect(registry.batch(async (batch) => {
      await batch.publish(request('1.0.0'), (c) => c);
      await batch.apply();
      throw new Error('COMMIT failed');
    })).rejects.toThrow('COMMIT failed');
    expect(refs(registry.dir)).toBe(before);
    expect(unreachable(registry.dir)).toBe('');
    expect(gitIn(registry.dir, 'rev-parse', `${await publish(registry, '1.0.0')}^`).trim()).toBe(before.split('\n').find((l) => l.startsWith('refs/heads/main'))!.split(' ')[1]);
  });

  it('drops a publication whose index fails and what a savepoint published, keeping the rest', async () => {
    const registry = await local();
    const [a, c] = await registry.batch(async (batch) => {
      const a = await batch.publish(request('1.0.0'), (commit) => commit);
      await expect(batch.publish(request('1.1.0'), () => { throw new Error('unique violation'); })).rejects.toThrow('unique violation');
      await expect(batch.savepoint(async () => {
        await batch.publish(request('1.2.0'), (commit) => commit);
        throw new Error('file refused');
      })).rejects.toThrow('file refused');
      const c = await batch.publish(request('1.3.0'), (commit) => commit);
      await batch.apply();
      return [a, c];
    });
    expect(tags(registry.dir)).toEqual(['t/api/v1.0.0', 't/api/v1.3.0']);
    expect(gitIn(registry.dir, 'rev-parse', `${c}^`).trim()).toBe(a);
    expect(unreachable(registry.dir)).toBe('');
  });

  it('is joined by transaction() inside it (the write functions), instead of waiting behind it', async () => {
    const registry = await local();
    await registry.batch(async (batch) => {
      await registry.transaction((tx) => tx.publish(request('1.0.0'), (c) => c));
      expect(tags(registry.dir)).toEqual([]);
      await batch.apply();
    });
    expect(tags(registry.dir)).toEqual(['t/api/v1.0.0']);
  });

  it('a crash between apply and the index commit is undone at the next open, whole', async () => {
    const dir = path.join(tempDir('accord-batch-'), 'registry');
    const registry = await GitRegistry.open(dir);
    const indexed = new Set([await publish(registry, '0.9.0').then(() => 't/api/v0.9.0')]);
    const before = refs(dir);
    // apply, then the process "dies": the index rows were never committed.
    await registry.batch(async (batch) => {
      for (const n of ['1.0.0', '1.1.0', '1.2.0']) await batch.publish(request(n), (c) => c);
      await batch.apply();
    });
    expect(tags(dir)).toHaveLength(4);
    await GitRegistry.open(dir, (tag) => indexed.has(tag));
    expect(refs(dir)).toBe(before);
  });
});

describe('registry batch on a registry remote', () => {
  const remoteAnd = async (count: number) => {
    const remote = initBareRemote(tempDir('accord-remote-'));
    const replicas: GitRegistry[] = [];
    for (let i = 0; i < count; i++) replicas.push(await GitRegistry.open(path.join(tempDir('accord-replica-'), 'registry'), undefined, { remote, fetchIntervalMs: 0 }));
    return { remote, replicas };
  };

  it('pushes main and every tag in one atomic push; without apply the remote never hears of it', async () => {
    const { remote, replicas: [a] } = await remoteAnd(1);
    const before = refs(remote);
    await a!.batch(async (batch) => void (await batch.publish(request('1.0.0'), (c) => c)));
    expect(refs(remote)).toBe(before);
    expect(unreachable(a!.dir)).toBe('');
    gitIn(remote, 'config', 'core.logAllRefUpdates', 'always');
    const tip = await a!.batch(async (batch) => {
      await batch.publish(request('1.0.0'), (c) => c);
      const tip = await batch.publish(request('1.1.0'), (c) => c);
      await batch.apply();
      return tip;
    });
    expect(tags(remote)).toEqual(['t/api/v1.0.0', 't/api/v1.1.0']);
    expect(gitIn(remote, 'reflog', 'show', '--format=%H', 'refs/heads/main').trim().split('\n')).toEqual([tip]);
    expect(refs(a!.dir)).toBe(refs(remote));
  });

  it('runs again on the new tip when another replica pushed first; adopts a tag it published with identical content', async () => {
    const { remote, replicas: [a, b] } = await remoteAnd(2);
    let runs = 0;
    const indexed: string[] = [];
    await a!.batch(async (batch) => {
      runs++;
      indexed.push(await batch.publish(request('1.0.0'), (c) => c));
      // Meanwhile replica b publishes another version, and the very version a is publishing, identical.
      if (runs === 1) {
        await publish(b!, '9.0.0');
        await publish(b!, '1.1.0');
      }
      indexed.push(await batch.publish(request('1.1.0'), (c) => c));
      await batch.apply();
    });
    expect(runs).toBe(2);
    expect(tags(remote)).toEqual(['t/api/v1.0.0', 't/api/v1.1.0', 't/api/v9.0.0']);
    // The second run indexed b's commit of 1.1.0 (adopted) and built 1.0.0 on b's tip.
    expect(indexed[3]).toBe(gitIn(remote, 'rev-parse', 't/api/v1.1.0^{commit}').trim());
    expect(gitIn(remote, 'rev-parse', 'main').trim()).toBe(indexed[2]);
    expect(gitIn(remote, 'rev-list', '--count', 'main').trim()).toBe('4');
    expect(unreachable(a!.dir)).toBe('');
  });

  it('a tag another replica published with different content is a TagTakenError for the caller to answer', async () => {
    const { replicas: [a, b] } = await remoteAnd(2);
    await publish(b!, '1.0.0', 'theirs\n');
    await expect(a!.batch((batch) => batch.publish(request('1.0.0', 'mine\n'), (c) => c))).rejects.toBeInstanceOf(TagTakenError);
  });
});
