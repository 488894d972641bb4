import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/main.ts';
import { parseYaml } from '../src/lib/yaml.ts';
import { REPO_ROOT, startTestService, type TestService } from './harness.ts';

/** `format` takes the same names everywhere (md = markdown, txt = text), and Accept chooses wherever format does. */

const OUTPUTS = path.join(REPO_ROOT, 'test/fixtures/diff/outputs');
const posted = () => JSON.stringify({ base: parseYaml(fs.readFileSync(path.join(OUTPUTS, 'base.yaml'), 'utf8'), { maxAliases: 0 }), revision: parseYaml(fs.readFileSync(path.join(OUTPUTS, 'revision.yaml'), 'utf8'), { maxAliases: 0 }) });

describe('format names and Accept negotiation', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ seed: true });
  });
  afterAll(async () => await s.cleanup());
  const get = (url: string, accept?: string) => s.call('GET', url, accept ? { headers: { Accept: accept } } : {});
  const type = (res: Response) => res.headers.get('content-type')!.split(';')[0];

  it('the control-matrix table: md and markdown alike, or Accept; 406 when Accept takes none of them', async () => {
    const md = await get('/v1/control-matrix?format=md');
    const markdown = await get('/v1/control-matrix?format=markdown');
    expect([md.status, type(md), markdown.status, type(markdown)]).toEqual([200, 'text/markdown', 200, 'text/markdown']);
    const table = await markdown.text();
    expect(await md.text()).toBe(table);
    const byAccept = await get('/v1/control-matrix', 'text/markdown');
    expect(type(byAccept)).toBe('text/markdown');
    expect(await byAccept.text()).toBe(table);
    expect(byAccept.headers.get('vary')).toBe('Accept');
    expect(type(await get('/v1/control-matrix', 'text/csv;q=0.9, application/json;q=0.5'))).toBe('text/csv');
    expect(type(await get('/v1/control-matrix', 'text/html,application/xhtml+xml,*/*;q=0.8'))).toBe('application/json');
    expect(type(await get('/v1/control-matrix'))).toBe('application/json');
    const refused = await get('/v1/control-matrix', 'application/xml');
    expect(refused.status).toBe(406);
    expect((await refused.json()).detail).toContain('text/markdown');
    // ?format= wins over Accept; an unknown name is a 400 naming the accepted ones.
    expect(type(await get('/v1/control-matrix?format=csv', 'application/json'))).toBe('text/csv');
    const bad = await get('/v1/control-matrix?format=xml');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('json, csv, markdown, md');
  });

  it('diffs: ?format=md, txt and Accept (Markdown, text, SARIF) on the posted, registered and matrix diffs', async () => {
    const diff = (query: string, accept?: string) => s.call('POST', `/v1/diff${query}`, { body: posted(), type: 'application/json', ...(accept ? { headers: { Accept: accept } } : {}) });
    const markdown = await (await diff('?format=markdown')).text();
    expect(await (await diff('?format=md')).text()).toBe(markdown);
    expect(await (await diff('', 'text/markdown')).text()).toBe(markdown);
    expect(type(await diff('?format=txt'))).toBe('text/plain');
    expect(type(await diff('', 'text/plain'))).toBe('text/plain');
    const sarif = await diff('', 'application/sarif+json');
    expect(type(sarif)).toBe('application/sarif+json');
    expect((await sarif.json()).version).toBe('2.1.0');
    expect((await diff('', 'image/png')).status).toBe(406);

    const compare = await get('/v1/contracts/northwind-health/p2p-exchange/diff?from=1.0.0&to=1.1.0&format=md');
    expect([compare.status, type(compare)]).toEqual([200, 'text/markdown']);
    expect(type(await get('/v1/contracts/northwind-health/p2p-exchange/diff?from=1.0.0&to=1.1.0', 'text/plain'))).toBe('text/plain');
    const matrix = await get('/v1/control-matrix/payer-data-export/diff?from=1&to=1', 'text/markdown');
    expect([matrix.status, type(matrix)]).toEqual([200, 'text/markdown']);
  });

  it('an incident: ?format=md or Accept: text/markdown', async () => {
    const opened = await (await s.call('POST', '/v1/incidents', { body: JSON.stringify({ title: 'Exports slow at northwind', severity: 'sev3', partner: 'northwind-health' }), type: 'application/json' })).json();
    const md = await get(`/v1/incidents/${opened.id}?format=md`);
    expect([md.status, type(md)]).toEqual([200, 'text/markdown']);
    expect(await md.text()).toContain('Exports slow at northwind');
    expect(type(await get(`/v1/incidents/${opened.id}`, 'text/markdown'))).toBe('text/markdown');
    expect(type(await get(`/v1/incidents/${opened.id}`))).toBe('application/json');
  });
});

describe('the CLI takes the same format names', () => {
  it('accord diff --format md prints the Markdown that --format markdown prints', async () => {
    const run = async (format: string) => {
      const out: string[] = [];
      const code = await main(['diff', path.join(OUTPUTS, 'base.yaml'), path.join(OUTPUTS, 'revision.yaml'), '--format', format, '--no-openapi-diff'], { out: (l) => out.push(l), err: () => undefined });
      return { code, out: out.join('\n') };
    };
    const markdown = await run('markdown');
    expect(markdown.out).toMatch(/^## .*base.yaml/m);
    expect(await run('md')).toEqual(markdown);
    expect((await run('txt')).out).toBe((await run('text')).out);
  });
});
