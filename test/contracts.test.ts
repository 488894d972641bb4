import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import jsyaml from 'js-yaml';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { canonicalYaml } from '../src/contracts/document.ts';
import { minimalSpec, NORTHWIND_1_0, startTestService, type TestService } from './harness.ts';

const BASE = '/v1/contracts/acme/member-api/versions';

describe('contract registration', () => {
  let s: TestService;
  beforeEach(async () => {
    s = await startTestService();
  });
  afterEach(async () => {
    await s.expectIndexMatchesTags();
    await s.cleanup();
  });

  it('registers a version, commits canonical YAML with a tag, and reads it back byte for byte', async () => {
    const body = fs.readFileSync(NORTHWIND_1_0, 'utf8');
    const author = await s.token('author');
    const res = await s.call('POST', BASE, { body, type: 'application/yaml', token: author });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`${s.config.publicUrl}${BASE}/1.0.0`);
    const created = await res.json();
    expect(created).toMatchObject({ partner: 'acme', api: 'member-api', version: '1.0.0', state: 'draft', createdBy: expect.stringMatching(/^author-/) });
    expect(created.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(created.commit).toMatch(/^[0-9a-f]{40}$/);

    const expected = canonicalYaml(jsyaml.load(body));
    const doc = await s.call('GET', `${BASE}/1.0.0/document`);
    expect(doc.status).toBe(200);
    expect(doc.headers.get('content-type')).toContain('application/yaml');
    expect(doc.headers.get('etag')).toBe(`"${created.sha256}"`);
    expect(await doc.text()).toBe(expected);

    // the committed file is the same bytes, at the documented path, in the tagged commit
    expect(s.git('show', `acme/member-api/v1.0.0:contracts/acme/member-api/1.0.0/openapi.yaml`)).toBe(expected);
    expect(s.git('cat-file', '-t', 'acme/member-api/v1.0.0').trim()).toBe('tag');
    expect(s.git('rev-list', '-n', '1', 'acme/member-api/v1.0.0').trim()).toBe(created.commit);
    expect(s.git('log', '-1', '--format=%an|%s', created.commit).trim()).toBe(`${created.createdBy}|Register contract acme/member-api 1.0.0`);
    expect(s.git('show', '--stat', '--format=', created.commit).trim()).toMatch(/^contracts\/acme\/member-api\/1\.0\.0\/openapi\.yaml \| \d+ \+*\n 1 file changed/);

    const notModified = await s.call('GET', `${BASE}/1.0.0/document`, { headers: { 'If-None-Match': `"${created.sha256}"` } });
    expect(notModified.status).toBe(304);
    const asJson = await s.call('GET', `${BASE}/1.0.0/document`, { headers: { Accept: 'application/json' } });
    expect(asJson.headers.get('content-type')).toContain('application/json');
    expect(await asJson.json()).toEqual(jsyaml.load(body));
    expect((await s.call('GET', `${BASE}/1.0.0/document`, { headers: { Accept: 'text/html' } })).status).toBe(406);

    const history = await (await s.call('GET', '/v1/contracts/acme/member-api/history')).json();
    expect(history).toEqual([expect.objectContaining({ sha: created.commit, author: created.createdBy, message: expect.stringContaining('Register contract acme/member-api 1.0.0') })]);

    // The registration also answered the style rules' warnings (spectral:oas: no network ruleset stored).
    const { lint, ...view } = created;
    expect(lint).toMatchObject({ ruleset: 'spectral:oas', olderVersion: false, errors: 0 });
    expect(lint.warnings.length).toBeGreaterThan(0);
    const meta = await (await s.call('GET', `${BASE}/1.0.0`)).json();
    expect(meta).toEqual(view);
  });

  it('takes the version from ?version= before info.version and lists versions in semver order', async () => {
    for (const v of ['1.10.0', '1.2.0', '1.2.0-rc.1', '2.0.0', '1.9.3']) {
      const res = await s.call('POST', `${BASE}?version=${v}`, { body: minimalSpec('0.0.1'), type: 'application/yaml' });
      expect(res.status).toBe(201);
    }
    const versions = await (await s.call('GET', BASE)).json();
    expect(versions.map((v: { version: string }) => v.version)).toEqual(['1.2.0-rc.1', '1.2.0', '1.9.3', '1.10.0', '2.0.0']);
    expect(Object.keys(versions[0]).sort()).toEqual(['api', 'commit', 'createdAt', 'createdBy', 'partner', 'sha256', 'state', 'version']);
    const list = await (await s.call('GET', '/v1/contracts')).json();
    expect(list).toEqual([{ partner: 'acme', api: 'member-api', latestVersion: '2.0.0', versionCount: 5 }]);
  });

  it('is idempotent for identical content (YAML or JSON) and refuses different content for the same version', async () => {
    const first = await (await s.call('POST', BASE, { body: minimalSpec(), type: 'application/yaml' })).json();
    const again = await s.call('POST', BASE, { body: minimalSpec(), type: 'application/yaml' });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(first);
    const asJson = await s.call('POST', BASE, { body: JSON.stringify(jsyaml.load(minimalSpec())), type: 'application/json' });
    expect(asJson.status).toBe(200);
    const head = s.git('rev-parse', 'HEAD');

    const changed = minimalSpec().replace('title: Test API', 'title: Changed API');
    const conflict = await s.call('POST', BASE, { body: changed, type: 'application/yaml' });
    expect(conflict.status).toBe(409);
    expect(conflict.headers.get('content-type')).toBe('application/problem+json');
    expect(await conflict.json()).toMatchObject({ code: 'conflict', existing: { sha256: first.sha256 } });
    expect(s.git('rev-parse', 'HEAD')).toBe(head);
  });

  it('hides nothing from the history: each registration is one commit touching one file', async () => {
    await s.call('POST', BASE, { body: minimalSpec('1.0.0'), type: 'application/yaml' });
    await s.call('POST', BASE, { body: minimalSpec('1.1.0'), type: 'application/yaml' });
    await s.call('POST', '/v1/contracts/other/member-api/versions', { body: minimalSpec('1.0.0'), type: 'application/yaml' });
    const history = await (await s.call('GET', '/v1/contracts/acme/member-api/history')).json();
    expect(history.map((h: { message: string }) => h.message.split('\n')[0])).toEqual(['Register contract acme/member-api 1.1.0', 'Register contract acme/member-api 1.0.0']);
    expect((await s.call('GET', '/v1/contracts/nobody/member-api/history')).status).toBe(404);
  });

  it('serialises 20 concurrent registrations: all succeed and git fsck is clean', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => s.call('POST', `${BASE}?version=1.${i}.0`, { body: minimalSpec('1.0.0'), type: 'application/yaml' })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect(s.git('tag', '--list').split('\n').filter(Boolean)).toHaveLength(20);
    expect(() => s.git('fsck', '--full', '--strict', '--no-dangling')).not.toThrow();
    expect(s.git('fsck', '--dangling')).toBe('');
    const commits = new Set((await Promise.all(results.map((r) => r.json()))).map((r: { commit: string }) => r.commit));
    expect(commits.size).toBe(20);
  });

  it('undoes the commit and the tag when the index write fails (no orphans)', async () => {
    const head = s.git('rev-parse', 'HEAD');
    const sql = s.deps.db.$sql;
    if (sql.dialect === 'sqlite') await sql.run(`CREATE TEMP TRIGGER refuse BEFORE INSERT ON contract_versions BEGIN SELECT RAISE(ABORT, 'disk says no'); END`);
    else {
      await sql.run(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk says no'; END $$`);
      await sql.run('CREATE TRIGGER refuse BEFORE INSERT ON contract_versions FOR EACH ROW EXECUTE FUNCTION refuse()');
    }
    const res = await s.call('POST', BASE, { body: minimalSpec(), type: 'application/yaml' });
    expect(res.status).toBe(500);
    expect(s.git('rev-parse', 'HEAD')).toBe(head);
    expect(s.git('tag', '--list')).toBe('');
    expect(s.git('fsck', '--dangling', '--unreachable')).toBe('');
    await sql.run(sql.dialect === 'sqlite' ? 'DROP TRIGGER refuse' : 'DROP TRIGGER refuse ON contract_versions');
    expect((await s.call('POST', BASE, { body: minimalSpec(), type: 'application/yaml' })).status).toBe(201);
  });

  it('removes a commit and tag left unindexed by a crash when the service starts again', async () => {
    expect((await s.call('POST', BASE, { body: minimalSpec('1.0.0'), type: 'application/yaml' })).status).toBe(201);
    const head = s.git('rev-parse', 'HEAD');
    // What a crash between the Git write and the index insert leaves behind: a tagged commit on main.
    const id = ['-c', 'user.name=crash', '-c', 'user.email=crash@example.invalid'];
    const orphan = s.git(...id, 'commit-tree', 'HEAD^{tree}', '-p', 'HEAD', '-m', 'Register contract acme/member-api 9.9.9').trim();
    s.git('update-ref', 'refs/heads/main', orphan);
    s.git(...id, 'tag', '-a', 'acme/member-api/v9.9.9', '-m', 'orphan', orphan);
    await s.close();
    const reopened = await startTestService({ dir: s.dir });
    s = reopened;
    expect(s.git('rev-parse', 'HEAD')).toBe(head);
    expect(s.git('tag', '--list').trim()).toBe('acme/member-api/v1.0.0');
    expect((await s.call('POST', BASE, { body: minimalSpec('9.9.9'), type: 'application/yaml' })).status).toBe(201);
  });
});

describe('bad input changes nothing', () => {
  let s: TestService;
  let head: string;
  beforeEach(async () => {
    s = await startTestService({ env: { ACCORD_BODY_LIMIT: '65536' } });
    head = s.git('rev-parse', 'HEAD');
  });
  afterEach(async () => {
    expect(s.git('rev-parse', 'HEAD')).toBe(head);
    expect(s.git('tag', '--list')).toBe('');
    expect((await s.deps.db.$sql.value('SELECT count(*) FROM contract_versions'))).toBe(0);
    await s.cleanup();
  });

  async function expectProblem(res: Response, status: number, code: string): Promise<Record<string, any>> {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const body = await res.json();
    expect(body).toMatchObject({ status, code, type: `urn:accord:problem:${code}`, title: expect.any(String), detail: expect.any(String), requestId: expect.any(String) });
    return body;
  }

  it.each([
    ['partner with capitals', '/v1/contracts/Acme/member-api/versions'],
    ['partner starting with a dash', '/v1/contracts/-acme/member-api/versions'],
    ['api with an underscore', '/v1/contracts/acme/member_api/versions'],
    ['api too long', `/v1/contracts/acme/${'a'.repeat(64)}/versions`],
  ])('refuses an invalid id (%s) with 400', async (_, url) => {
    await expectProblem(await s.call('POST', url, { body: minimalSpec(), type: 'application/yaml' }), 400, 'bad_request');
  });

  it.each([
    ['v-prefixed ?version', '?version=v1.0.0', minimalSpec()],
    ['partial ?version', '?version=1.0', minimalSpec()],
    ['non-semver info.version', '', minimalSpec('2024-01-01')],
  ])('refuses a version that is not semver (%s) with 422', async (_, query, body) => {
    const problem = await expectProblem(await s.call('POST', `${BASE}${query}`, { body, type: 'application/yaml' }), 422, 'invalid_document');
    expect(problem.errors[0].location).toBe(query ? 'version' : '/info/version');
  });

  it('refuses Swagger 2.0, non-objects and invalid OpenAPI with locations', async () => {
    await expectProblem(await s.call('POST', BASE, { body: 'swagger: "2.0"\ninfo: {title: x, version: 1.0.0}\npaths: {}\n', type: 'application/yaml' }), 422, 'invalid_document');
    await expectProblem(await s.call('POST', BASE, { body: '[1, 2]', type: 'application/json' }), 422, 'invalid_document');
    const broken = minimalSpec().replace("        '200':\n          description: ok\n", "        '200': 17\n");
    const problem = await expectProblem(await s.call('POST', BASE, { body: broken, type: 'application/yaml' }), 422, 'invalid_document');
    expect(problem.errors.map((e: { location: string }) => e.location)).toContain('/paths/~1members~1{id}/get/responses/200');
    const missingPathParam = minimalSpec().replace('/members/{id}:', '/members:');
    await expectProblem(await s.call('POST', BASE, { body: missingPathParam, type: 'application/yaml' }), 422, 'invalid_document');
    const danglingRef = minimalSpec().replace('type: string', "$ref: '#/components/schemas/Missing'");
    await expectProblem(await s.call('POST', BASE, { body: danglingRef, type: 'application/yaml' }), 422, 'invalid_document');
  });

  it('refuses external $refs (http, https, file, relative) without fetching or reading them', async () => {
    let hits = 0;
    const server = http.createServer((_, res) => {
      hits++;
      res.end('{"type":"string"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const secret = path.join(s.dir, 'secret.yaml');
    fs.writeFileSync(secret, 'type: string\n');
    try {
      for (const ref of [`http://127.0.0.1:${port}/schema.json`, `https://127.0.0.1:${port}/schema.json`, `file://${secret}`, secret, 'other.yaml#/Member']) {
        const body = minimalSpec().replace('type: string', `$ref: '${ref}'`);
        const problem = await expectProblem(await s.call('POST', BASE, { body, type: 'application/yaml' }), 422, 'invalid_document');
        expect(problem.errors[0]).toMatchObject({ location: '/paths/~1members~1{id}/get/parameters/0/schema/$ref', message: expect.stringContaining(ref) });
      }
    } finally {
      server.close();
    }
    expect(hits).toBe(0);
  });

  it('refuses a body over the limit with 413', async () => {
    const big = minimalSpec() + `x-padding: "${'x'.repeat(70_000)}"\n`;
    await expectProblem(await s.call('POST', BASE, { body: big, type: 'application/yaml' }), 413, 'payload_too_large');
  });

  it('refuses a YAML alias bomb with 422 instead of expanding it', async () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
    const bomb = `${minimalSpec()}x-bomb:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
    const started = Date.now();
    const problem = await expectProblem(await s.call('POST', BASE, { body: bomb, type: 'application/yaml' }), 422, 'invalid_document');
    expect(problem.detail).toMatch(/alias/i);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('refuses deeply nested JSON with 422 instead of exhausting the stack', async () => {
    const deep = `{"openapi":"3.1.0","info":{"title":"x","version":"1.0.0"},"paths":{},"x-deep":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    const problem = await expectProblem(await s.call('POST', BASE, { body: deep, type: 'application/json' }), 422, 'invalid_document');
    expect(problem.detail).toMatch(/nested deeper/);
  });

  it('refuses malformed YAML, malformed JSON and unsupported media types', async () => {
    const yamlProblem = await expectProblem(await s.call('POST', BASE, { body: 'openapi: 3.1.0\n  info: [\n', type: 'application/yaml' }), 422, 'invalid_document');
    expect(yamlProblem.errors[0].location).toMatch(/^line \d+, column \d+$/);
    await expectProblem(await s.call('POST', BASE, { body: '{"openapi": ', type: 'application/json' }), 422, 'invalid_document');
    await expectProblem(await s.call('POST', BASE, { body: 'dup: 1\ndup: 2\n', type: 'application/yaml' }), 422, 'invalid_document');
    await expectProblem(await s.call('POST', BASE, { body: minimalSpec(), type: 'text/plain' }), 415, 'unsupported_media_type');
    await expectProblem(await s.call('POST', BASE, { body: minimalSpec() }), 415, 'unsupported_media_type');
  });

  it('answers unknown routes and versions with problem+json 404', async () => {
    await expectProblem(await s.call('GET', `${BASE}/1.0.0`), 404, 'not_found');
    await expectProblem(await s.call('GET', `${BASE}/1.0.0/document`), 404, 'not_found');
    await expectProblem(await s.call('GET', BASE), 404, 'not_found');
    await expectProblem(await s.call('GET', '/v1/nothing-here'), 404, 'not_found');
  });
});

describe('input the operation definitions refuse (locations as before)', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ seed: true });
  });
  afterAll(async () => await s.cleanup());

  const send = (method: string, url: string, body: unknown) => s.call(method, url, { body: JSON.stringify(body), type: 'application/json' });
  async function problemOf(res: Response, status: number, code: string): Promise<{ detail: string; errors: Array<{ location: string; message: string }> }> {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = await res.json();
    expect(problem.code).toBe(code);
    return problem;
  }
  const CONSUMERS = '/v1/contracts/northwind-health/p2p-exchange/consumers';

  it('a consumer list is an array of partner ids, never the provider itself', async () => {
    const missing = await problemOf(await send('PUT', CONSUMERS, {}), 422, 'invalid_document');
    expect(missing.errors).toEqual([{ location: '/consumers', message: 'must be an array of partner ids' }]);
    const bad = await problemOf(await send('PUT', CONSUMERS, { consumers: ['Bad', 7, 'control-matrix'] }), 422, 'invalid_document');
    expect(bad.detail).toBe('Invalid consumer list');
    expect(bad.errors.map((e) => e.location)).toEqual(['/consumers/0', '/consumers/1', '/consumers/2']);
    expect(bad.errors[2]!.message).toBe('"control-matrix" is reserved');
    const own = await problemOf(await send('PUT', CONSUMERS, { consumers: ['northwind-health'] }), 422, 'invalid_document');
    expect(own.errors).toEqual([{ location: '/consumers', message: 'a partner does not consume its own API' }]);
    expect((await (await send('PUT', CONSUMERS, { consumers: ['bluestem-mutual', 'bluestem-mutual'] })).json()).consumers).toEqual(['bluestem-mutual']);
    const restored = await (await send('PUT', CONSUMERS, { consumers: [] })).json();
    expect(restored.consumers).toContain('bluestem-mutual');
    expect(restored.consumers).not.toContain('northwind-health');
  });

  it('a deprecation needs an ISO 8601 sunset, a reason and a registered successor', async () => {
    const url = '/v1/contracts/northwind-health/p2p-exchange/versions/1.0.0/deprecation';
    const shape = await problemOf(await send('POST', url, { sunset: 'soon', reason: ' x ', successor: 2 }), 422, 'invalid_document');
    expect(shape.detail).toBe('Invalid deprecation');
    expect(shape.errors.map((e) => e.location).sort()).toEqual(['/reason', '/successor', '/sunset']);
    const unknown = await problemOf(await send('POST', url, { sunset: '2099-01-01', reason: 'replaced', successor: '9.9.9' }), 422, 'invalid_document');
    expect(unknown.errors).toEqual([{ location: '/successor', message: 'must be a registered version of the same API' }]);
  });

  it('a diff of registered versions needs both versions and a known format', async () => {
    const diff = '/v1/contracts/northwind-health/p2p-exchange/diff';
    expect((await problemOf(await s.call('GET', `${diff}?from=1.0.0`), 400, 'bad_request')).errors).toEqual([{ location: 'to', message: 'required' }]);
    expect((await problemOf(await s.call('GET', `${diff}?from=1.0.0&to=`), 400, 'bad_request')).errors).toEqual([{ location: 'to', message: 'required' }]);
    expect((await problemOf(await s.call('GET', `${diff}?from=1.0.0&to=2.0.0&format=toString`), 400, 'bad_request')).errors).toEqual([{ location: 'format', message: 'must be one of json, markdown, md, text, txt, sarif' }]);
  });

  it('a stateless diff needs two documents (objects)', async () => {
    const problem = await problemOf(await send('POST', '/v1/diff', { base: [], revision: 'x' }), 422, 'invalid_document');
    expect(problem.detail).toBe('Post {"base": <OpenAPI document>, "revision": <OpenAPI document>} without external $refs');
    expect(problem.errors.map((e) => e.location)).toEqual(['/base', '/revision']);
  });

  it('control-matrix versions are positive integers and the table has three formats', async () => {
    expect((await problemOf(await s.call('GET', '/v1/control-matrix/member-match?version=0'), 400, 'bad_request')).errors).toEqual([{ location: 'version', message: 'positive integer' }]);
    expect((await problemOf(await s.call('GET', '/v1/policy?version=x'), 400, 'bad_request')).errors).toEqual([{ location: 'version', message: 'positive integer' }]);
    expect((await problemOf(await s.call('GET', '/v1/control-matrix/member-match/diff?from=1'), 400, 'bad_request')).errors).toEqual([{ location: 'to', message: 'required' }]);
    expect((await problemOf(await s.call('GET', '/v1/control-matrix?format=xml'), 400, 'bad_request')).errors).toEqual([{ location: 'format', message: 'must be one of json, csv, markdown, md' }]);
  });
});
