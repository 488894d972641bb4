import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { refFormatProblem } from '../src/registry/ref-format.ts';
import { createHash } from 'node:crypto';
import { minimalSpec, startTestService, type TestService } from './harness.ts';

describe('Git reference names', () => {
  it('follow git check-ref-format', () => {
    for (const ok of ['refs/tags/acme/api/v1.0.0', 'refs/tags/acme/api/v1.0.0-rc.1', 'refs/tags/a/b/v1.0.0-lock', 'refs/accord/audit']) expect(refFormatProblem(ok), ok).toBeUndefined();
    for (const bad of ['refs/tags/acme/api/v1.0.0-rc.lock', 'refs/tags/a/.hidden', 'refs/tags/a..b', 'refs/tags/a b', 'refs/tags/a~1', 'refs/tags/a^', 'refs/tags/a:b', 'refs/tags/a?', 'refs/tags/a*', 'refs/tags/a[', 'refs/tags/a\\b', 'refs/tags/a@{1}', 'refs/tags/a.', 'refs/tags/a/', 'refs/tags//a', 'refs/tags/a\x00b', 'refs/tags/a\x7fb', '@']) {
      expect(refFormatProblem(bad), JSON.stringify(bad)).toBeDefined();
    }
  });

  it('agree with the git binary', () => {
    const names = ['refs/tags/acme/api/v1.0.0-rc.1', 'refs/tags/acme/api/v1.0.0-rc.lock', 'refs/tags/a/.x', 'refs/tags/a..b', 'refs/tags/a@{b', 'refs/tags/a.', 'refs/tags/a\tb', 'refs/tags/a-b_c.d/e', 'refs/tags/a.lock/b'];
    for (const name of names) {
      const git = spawnSync('git', ['check-ref-format', name]).status === 0;
      expect(refFormatProblem(name) === undefined, name).toBe(git);
    }
  });
});

describe('versions that make an invalid Git tag', () => {
  let s: TestService;
  beforeEach(async () => {
    s = await startTestService();
  });
  afterEach(async () => await s.cleanup());

  it.each([
    ['?version=', '1.0.0-rc.lock', 'version'],
    ['', '2.0.0-x.lock', '/info/version'],
  ])('are refused with 422 before anything is written (%s%s)', async (query, version, location) => {
    const head = s.git('rev-parse', 'main').trim();
    const objects = s.git('count-objects', '-v');
    const res = await s.call('POST', `/v1/contracts/acme/member-api/versions${query ? `${query}${version}` : ''}`, { body: minimalSpec(version), type: 'application/yaml' });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = await res.json();
    expect(problem.detail).toContain('.lock');
    expect(problem.errors).toEqual([expect.objectContaining({ location, message: expect.stringContaining('Git tag') })]);
    // nothing written: no commit, no tag, no object, no index row
    expect(s.git('rev-parse', 'main').trim()).toBe(head);
    expect(s.git('tag', '--list')).toBe('');
    expect(s.git('count-objects', '-v')).toBe(objects);
    expect((await s.call('GET', '/v1/contracts')).status).toBe(200);
    expect(await (await s.call('GET', '/v1/contracts')).json()).toEqual([]);
    // a fine pre-release still registers
    expect((await s.call('POST', '/v1/contracts/acme/member-api/versions?version=1.0.0-rc.1', { body: minimalSpec('1.0.0-rc.1'), type: 'application/yaml' })).status).toBe(201);
    await s.expectIndexMatchesTags();
  });
});

describe('names Git cannot carry', () => {
  let s: TestService;
  beforeEach(async () => {
    s = await startTestService();
  });
  afterEach(async () => await s.cleanup());

  it('a token named before names were checked (control and bidi characters) still commits, with those characters replaced in the author line', async () => {
    const secret = 'acc_legacy-token-with-an-odd-name-000000';
    await s.deps.db.$sql.run("INSERT INTO tokens (id, name, role, partner, secret_hash, created_at, created_by) VALUES ('tok_legacy', ?, 'author', NULL, ?, '2026-01-01T00:00:00.000Z', 'test')", ['old\x00name\x07 \u202eeman', createHash('sha256').update(secret).digest('hex')]);
    const res = await s.call('POST', '/v1/contracts/acme/member-api/versions', { token: secret, body: minimalSpec(), type: 'application/yaml' });
    expect(res.status).toBe(201);
    expect(s.git('log', '-1', '--format=%an', 'main').trim()).toBe('old\ufffdname\ufffd \ufffdeman');
    await s.expectIndexMatchesTags();
  });
});
