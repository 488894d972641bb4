import fs from 'node:fs';
import path from 'node:path';
import jsyaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM } from '../src/auth/principal.ts';
import { createToken } from '../src/auth/tokens.ts';
import { registerContractVersion } from '../src/contracts/register.ts';
import type { Change, DiffResult } from '../src/diff/types.ts';
import { summarise } from '../src/diff/types.ts';
import { ACCORD_API_DOCUMENT } from '../src/http/api.ts';
import { ApiReference } from '../src/web/components/api-reference.tsx';
import { DiffView } from '../src/web/components/diff-view.tsx';
import { signIn, type ConsoleUser } from './console-helpers.ts';
import { ADMIN_TOKEN, REPO_ROOT, startTestService, type TestService } from './harness.ts';

const NW = '/console/contracts/northwind-health/p2p-exchange';

/** The text a reader sees: tags dropped, entities decoded, whitespace collapsed. */
function textOf(html: string): string {
  return html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

/** The rows of the versions table: version, then the rest of the row's text. */
function versionRows(html: string): Array<{ version: string; text: string }> {
  const body = html.slice(html.indexOf('id="versions-heading"'));
  return [...body.matchAll(/<tr><th scope="row"><a href="[^"]+">([^<]+)<\/a><\/th>([\s\S]*?)<\/tr>/g)].map((m) => ({ version: m[1]!, text: textOf(m[2]!).trim() }));
}

async function render(node: unknown): Promise<string> {
  return String(await node);
}

describe('console contracts pages', () => {
  let s: TestService;
  let admin: ConsoleUser;
  const json = (method: string, p: string, body: unknown, token?: string) => s.call(method, p, { body: JSON.stringify(body), type: 'application/json', ...(token ? { token } : {}) });

  beforeAll(async () => {
    s = await startTestService({ seed: true });
    admin = await signIn(s, ADMIN_TOKEN);
    // A draft of northwind-health (visible to staff and northwind-health only).
    const draft = fs.readFileSync(path.join(REPO_ROOT, 'contracts/northwind-health/p2p-exchange/2.1.0/openapi.yaml'), 'utf8').replace('version: 2.1.0', 'version: 2.2.0').replace('Record the member', 'Record a member');
    expect((await s.call('POST', '/v1/contracts/northwind-health/p2p-exchange/versions', { body: draft, type: 'application/yaml', token: await s.token('author') })).status).toBe(201);
    // 1.0.0 released to production (break-glass: the gate's other requirements are not the point here), then deprecated.
    expect((await json('POST', '/v1/gate/check', { partner: 'northwind-health', api: 'p2p-exchange', version: '1.0.0', environment: 'production', breakGlass: 'restore the known-good baseline' })).status).toBe(200);
    expect((await json('POST', '/v1/releases', { partner: 'northwind-health', api: 'p2p-exchange', version: '1.0.0', environment: 'production' })).status).toBe(201);
    expect((await json('POST', '/v1/contracts/northwind-health/p2p-exchange/versions/1.0.0/deprecation', { sunset: '2027-06-30', successor: '2.0.0', reason: 'replaced by 2.0.0' })).status).toBe(201);
  });
  afterAll(async () => await s.cleanup());

  it('lists partners and their APIs, grouped by partner, with the latest version and how many there are', async () => {
    const res = await admin.get('/console/contracts');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html.match(/<h1>/g)).toHaveLength(1);
    const bluestem = html.indexOf('>bluestem-mutual</h2>');
    const northwind = html.indexOf('>northwind-health</h2>');
    expect(bluestem).toBeGreaterThan(0);
    expect(northwind).toBeGreaterThan(bluestem);
    expect(textOf(html.slice(northwind))).toContain('p2p-exchange 2.2.0 5');
    expect(html).toContain(`href="${NW}"`);
    expect(textOf(html.slice(bluestem, northwind))).toContain('p2p-exchange 1.2.0 3');
    const filtered = await (await admin.get('/console/contracts?partner=bluestem-mutual')).text();
    expect(filtered).not.toContain('>northwind-health</h2>');
  });

  it('shows an API’s versions newest first with state, environment releases, deprecation and sunset, and a compare form', async () => {
    const html = await (await admin.get(NW)).text();
    const rows = versionRows(html);
    expect(rows.map((r) => r.version)).toEqual(['2.2.0', '2.1.0', '2.0.0', '1.1.0', '1.0.0']);
    expect(rows[0]!.text).toMatch(/^Draft Not released to an environment Not deprecated/);
    expect(rows[0]!.text).toContain('Changes since 2.1.0');
    expect(rows[1]!.text).toMatch(/^Released /);
    expect(rows[4]!.text).toMatch(/^Deprecated production on 2026-11-27 \d\d:\d\d UTC by .+ Deprecated on 2026-11-27 \d\d:\d\d UTC ; sunset 2027-06-30 00:00 UTC ; successor 2\.0\.0/);
    expect(rows[4]!.text).toContain('First version');
    expect(html).toContain(`<a href="${NW}/versions/2.0.0">2.0.0</a>`);
    // The compare form: two labelled selects, sent with GET to the compare page.
    expect(html).toContain(`<form method="get" action="${NW}/compare" class="compare">`);
    expect(html).toMatch(/<label for="compare-from">[^<]+<\/label><select id="compare-from" name="from">/);
    expect(html).toMatch(/<label for="compare-to">[^<]+<\/label><select id="compare-to" name="to">/);
    expect(html).toContain('<option value="2.1.0" selected="">2.1.0</option>');
    expect(html).toContain('<option value="2.2.0" selected="">2.2.0</option>');
  });

  it('pages through an API with many versions', async () => {
    for (let i = 0; i < 52; i++) {
      const res = await s.call('POST', `/v1/contracts/acme/many/versions?version=1.${i}.0`, { body: `openapi: 3.1.0\ninfo: {title: t, version: 1.${i}.0}\npaths: {}\nsecurity: [{bearerAuth: []}]\ncomponents: {securitySchemes: {bearerAuth: {type: http, scheme: bearer}}}\n`, type: 'application/yaml' });
      expect(res.status).toBe(201);
    }
    const first = await (await admin.get('/console/contracts/acme/many')).text();
    expect(versionRows(first)).toHaveLength(50);
    expect(versionRows(first)[0]!.version).toBe('1.51.0');
    // The last row of a page still links to the changes since its predecessor on the next page.
    expect(versionRows(first)[49]).toMatchObject({ version: '1.2.0', text: expect.stringContaining('Changes since 1.1.0') });
    expect(textOf(first)).toContain('Page 1 of 2');
    expect(first).toContain('href="/console/contracts/acme/many?page=2"');
    const second = await (await admin.get('/console/contracts/acme/many?page=2')).text();
    expect(versionRows(second).map((r) => r.version)).toEqual(['1.1.0', '1.0.0']);
    expect(versionRows(second)[1]!.text).toContain('First version');
    expect((await admin.get('/console/contracts/acme/many?page=3')).status).toBe(404);
    expect((await admin.get('/console/contracts/acme/many?page=zero')).status).toBe(400);
  });

  it('shows a partner only what the API shows it: another partner’s draft is neither listed nor reachable', async () => {
    const bluestem = await signIn(s, await s.token('partner', 'bluestem-mutual'));
    const list = await (await bluestem.get('/console/contracts')).text();
    expect(textOf(list)).toContain('p2p-exchange 2.1.0 4');
    const versions = await (await bluestem.get(NW)).text();
    expect(versionRows(versions).map((r) => r.version)).toEqual(['2.1.0', '2.0.0', '1.1.0', '1.0.0']);
    expect(versions).not.toContain('2.2.0');
    const notFound = await (await bluestem.get('/console/contracts/northwind-health/p2p-exchange/versions/9.9.9')).text();
    for (const p of [`${NW}/versions/2.2.0`, `${NW}/versions/2.2.0/openapi.yaml`, `${NW}/versions/2.2.0/openapi.json`, `${NW}/compare?from=2.1.0&to=2.2.0`]) {
      const res = await bluestem.get(p);
      expect(res.status).toBe(404);
      const html = await res.text();
      expect(html).toContain('No contract version northwind-health/p2p-exchange@2.2.0');
      expect(html.replace('2.2.0', '9.9.9')).toBe(notFound);
    }
    // The owner sees its own draft.
    const northwind = await signIn(s, await s.token('partner', 'northwind-health'));
    expect((await northwind.get(`${NW}/versions/2.2.0`)).status).toBe(200);
    expect(versionRows(await (await northwind.get(NW)).text())[0]!.version).toBe('2.2.0');
    // A token limited to other scopes reads no contracts, as on the API.
    const feedOnly = (await createToken(s.deps, 'test', { role: 'partner', partner: 'bluestem-mutual', name: 'feed reader', scopes: ['notices:read'] })).token;
    const limited = await signIn(s, feedOnly);
    const refused = await limited.get('/console/contracts');
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('contracts:read');
  });

  it('shows a version’s facts and an API reference rendered from its document, with no script', async () => {
    const res = await admin.get(`${NW}/versions/2.0.0`);
    expect(res.status).toBe(200);
    const html = await res.text();
    const meta = await (await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/versions/2.0.0')).json();
    const text = textOf(html);
    expect(text).toContain(`SHA-256 ${meta.sha256}`);
    expect(text).toContain('State Released');
    expect(text).toContain(`by ${meta.createdBy}`);
    expect(html).not.toMatch(/<script|style="/);
    // Overview, servers, operations grouped by tag with parameters, request body and responses.
    expect(text).toContain('Title Northwind Health payer-to-payer exchange');
    expect(text).toContain('https://fhir.northwind-health.example/p2p');
    expect(html).toMatch(/<h3 id="ref-tag-member-match">member-match<\/h3>/);
    expect(text).toContain('POST /Patient/$member-match Match a member from a previous payer (HRex $member-match) operationId memberMatch');
    expect(text).toMatch(/Idempotency-Key \( IdempotencyKey \) header required string min length 8 max length 128 Unique key per logical request/);
    expect(text).toContain('422 ( NoUniqueMatch ) No member or more than one member matched');
    // Schemas as nested lists, $refs linking to anchors in Components.
    expect(html).toContain('<a href="#ref-schemas-MemberMatchRequest">MemberMatchRequest</a>');
    expect(html).toContain('<h4 id="ref-schemas-MemberMatchRequest">');
    const ack = html.slice(html.indexOf('<h4 id="ref-schemas-Acknowledgement">'));
    expect(textOf(ack.slice(0, ack.indexOf('</section>')))).toMatch(/^ Acknowledgement object exchangeId string required Exchange the acknowledgement belongs to \(required from 2\.0\.0\) exportJobId string required/);
    expect(text).toContain('status string required one of: received, rejected');
    // Deprecation facts on a deprecated version.
    const old = textOf(await (await admin.get(`${NW}/versions/1.0.0`)).text());
    expect(old).toMatch(/Released to production on 2026-11-27 \d\d:\d\d UTC/);
    expect(old).toContain('sunset 2027-06-30 00:00 UTC ; successor 2.0.0 Reason: replaced by 2.0.0');
  });

  it('downloads the stored YAML byte for byte and the document as JSON, as attachments', async () => {
    const stored = await (await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/versions/2.0.0/document')).text();
    const yaml = await admin.get(`${NW}/versions/2.0.0/openapi.yaml`);
    expect(yaml.status).toBe(200);
    expect(yaml.headers.get('content-type')).toBe('application/yaml; charset=utf-8');
    expect(yaml.headers.get('content-disposition')).toBe('attachment; filename="northwind-health-p2p-exchange-2.0.0.openapi.yaml"');
    expect(await yaml.text()).toBe(stored);
    const asJson = await admin.get(`${NW}/versions/2.0.0/openapi.json`);
    expect(asJson.headers.get('content-type')).toBe('application/json');
    expect(asJson.headers.get('content-disposition')).toBe('attachment; filename="northwind-health-p2p-exchange-2.0.0.openapi.json"');
    expect(JSON.parse(await asJson.text())).toEqual(jsyaml.load(stored));
  });

  it('compares two versions: breaking findings first, with their consequence and the changed fragments side by side', async () => {
    const res = await admin.get(`${NW}/compare?from=1.1.0&to=2.0.0`);
    expect(res.status).toBe(200);
    const html = await res.text();
    const text = textOf(html);
    expect(text).toContain('Breaking: needs a major version');
    expect(text).toContain('2 breaking, 0 warnings, 1 info — requires a major version');
    const groups = [...html.matchAll(/<h3 id="diff-group-\d+"><code>([^<]+)<\/code>/g)].map((m) => m[1]);
    expect(groups).toEqual(['POST /acknowledgements', 'POST /finalizations', 'POST /exchanges/{exchangeId}/$finalize']);
    const badges = [...html.matchAll(/<span class="badge (?:breaking|warn|neutral)">(Breaking|Warning|Info)<\/span>/g)].map((m) => m[1]);
    expect(badges).toEqual(['Breaking', 'Breaking', 'Info']);
    expect(text).toContain('property Acknowledgement.exchangeId became required What it means: Clients that do not send Acknowledgement.exchangeId will be refused.');
    expect(text).toContain('POST /finalizations removed without deprecation What it means: Clients that call POST /finalizations will get an error (404): they had no deprecation notice.');
    // The object schema holding the property, before and after; what only the after side has is marked.
    const pair = html.slice(html.indexOf('<div class="side-by-side"'));
    expect(pair).toMatch(/^<div class="side-by-side" id="diff-fragment-1" role="group" aria-label="Before and after at \/components\/schemas\/Acknowledgement"><figure><figcaption>Before \(from 1\.1\.0\)<\/figcaption><pre class="fragment">type: object\nrequired:\n  - exportJobId/);
    expect(pair).toContain('<figcaption>After (to 2.0.0)</figcaption><pre class="fragment">type: object\nrequired:\n<ins>  - exchangeId</ins>\n  - exportJobId');
    // The removed operation exists only before.
    expect(text).toContain('After (to 2.0.0) Not in 2.0.0 at this location.');
    // Accord's rules only, unless openapi-diff's second opinion is asked for.
    expect(text).not.toContain('Second opinion');
    const second = await (await admin.get(`${NW}/compare?from=1.1.0&to=2.0.0&secondOpinion=on`)).text();
    expect(textOf(second)).toMatch(/Second opinion: openapi-diff (answered in \d+ ms and added \d+ findings?|did not answer|failed|was skipped)/);
    expect(second).toContain('name="secondOpinion" type="checkbox" value="on" checked=""');
  });

  it('answers bad compare input with a 4xx page', async () => {
    const missing = await admin.get(`${NW}/compare?from=1.0.0`);
    expect(missing.status).toBe(400);
    expect(await missing.text()).toContain('Pass both ?from= and ?to= versions');
    const unknown = await admin.get(`${NW}/compare?from=1.0.0&to=7.0.0`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('No contract version northwind-health/p2p-exchange@7.0.0');
    expect((await admin.get('/console/contracts/nobody/nothing/compare?from=1.0.0&to=2.0.0')).status).toBe(404);
    expect((await admin.get('/console/contracts/nobody/nothing')).status).toBe(404);
  });

  it('keeps the reference of a hostile document bounded: deep nesting cut, huge lists and texts counted', async () => {
    let deep: unknown = { type: 'string' };
    for (let i = 0; i < 100; i++) deep = { type: 'object', properties: { [`level${i}`]: deep } };
    const schemas: Record<string, unknown> = { Deep: deep, Wide: { type: 'string', enum: Array.from({ length: 50_000 }, (_, i) => `v${i}`) } };
    for (let i = 0; i < 1_500; i++) schemas[`S${i}`] = { type: 'object', properties: Object.fromEntries(Array.from({ length: 10 }, (_, j) => [`p${j}`, { type: 'string', description: `property ${j} of S${i}` }])) };
    const doc = {
      openapi: '3.1.0',
      info: { title: 'Hostile', version: '1.0.0', description: 'x'.repeat(300_000) },
      paths: {
        '/deep': { post: { operationId: 'deep', requestBody: { content: { 'application/json': { schema: deep } } }, responses: { '200': { description: 'ok' } } } },
        '/media': { get: { operationId: 'media', tags: ['media'], responses: { '200': { description: 'ok', content: Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`application/x-${i}+json`, { schema: { type: 'string' } }])) } } } },
        ...Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`/tagged/${i}`, { get: { operationId: `tagged${i}`, tags: [`tag-${i}`], responses: { '200': { description: 'ok' } } } }])),
      },
      components: { schemas },
    };
    // Registered as the seed registers contracts older than the network's style rules: this one is about rendering bounds, not style.
    expect((await registerContractVersion(s.deps, SYSTEM, { partner: 'acme', api: 'hostile', body: JSON.stringify(doc), format: 'json', lintErrorsAsWarnings: true })).created).toBe(true);
    const res = await admin.get('/console/contracts/acme/hostile/versions/1.0.0');
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html.length).toBeLessThan(1_500_000);
    const text = textOf(html);
    expect(text).toContain('… nested deeper than 10 levels; not shown');
    expect(text).toContain('… (298500 more characters not shown)');
    expect(text).toContain('one of: v0, v1, v2');
    expect(text).toContain('… 49980 more');
    expect(text).toContain('… 1002 more schemas not shown (the reference is bounded)');
    expect(text).toContain('Not shown (the reference is bounded).');
    expect(text).toMatch(/… \d+ more media types not shown/);
    expect(text).toContain('… 52 more tags with 52 operations not shown');
  });
});

describe('the API reference component', () => {
  it('renders any OpenAPI 3.x document, Accord’s own included (for /docs)', async () => {
    const html = await render(ApiReference({ document: ACCORD_API_DOCUMENT, idPrefix: 'docs' }));
    const text = textOf(html);
    expect(text).toContain('Title Accord');
    expect(text).toContain('GET /v1/contracts APIs with their latest visible version');
    expect(html).toContain('<a href="#docs-schemas-Problem">Problem</a>');
    expect(html).toContain('<h4 id="docs-schemas-Problem">');
    expect(new Set([...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1])).size).toBe([...html.matchAll(/ id="/g)].length);
  });

  it('renders what is not a document as an empty reference instead of failing', async () => {
    const text = textOf(await render(ApiReference({ document: 'not a document' })));
    expect(text).toContain('Title untitled');
    expect(text).toContain('The document defines no operations.');
  });
});

describe('the diff view', () => {
  const change = (over: Partial<Change>): Change => ({ rule: 'response-property-added', level: 'info', direction: 'response', method: 'GET', path: '/a', operationId: 'getA', location: '/paths/~1a/get', message: 'm', ...over });

  it('puts groups with breaking findings first and, within a group, breaking → warning → info', async () => {
    const result = summarise([
      change({ message: 'info on A' }),
      change({ method: 'GET', path: '/b', operationId: 'getB', level: 'warning', rule: 'response-links-changed', message: 'warning on B' }),
      change({ level: 'warning', rule: 'request-parameter-serialization-changed', direction: 'request', message: 'warning on A' }),
      change({ level: 'breaking', rule: 'response-property-removed', message: 'breaking on A' }),
      change({ method: undefined, path: undefined, operationId: undefined, rule: 'api-servers-changed', level: 'warning', direction: 'request', location: '/servers', message: 'servers' }),
    ]);
    const html = await render(DiffView({ result, fromVersion: '1.1.0', toVersion: '1.2.0' }));
    const text = textOf(html);
    const at = (m: string) => text.indexOf(m);
    expect(at('breaking on A')).toBeGreaterThan(0);
    expect(at('warning on A')).toBeGreaterThan(at('breaking on A'));
    expect(at('info on A')).toBeGreaterThan(at('warning on A'));
    expect(at('warning on B')).toBeGreaterThan(at('info on A'));
    expect(at('servers What it means')).toBeGreaterThan(at('info on A'));
    expect(text).toContain('Document-level changes');
    expect(text).toContain('breaking on A What it means: Clients that read this property will no longer find it.');
    expect(text).toContain('servers What it means: Clients configured with the old server address may stop reaching the API.');
    expect(text).toContain('The version number is a minor step, but these changes need a major version.');
    // In 0.x a minor step is a major one, as registration reads it: no warning there.
    const zeroX = textOf(await render(DiffView({ result, fromVersion: '0.1.0', toVersion: '0.2.0' })));
    expect(zeroX).toContain('breaking on A');
    expect(zeroX).not.toContain('The version number is a');
    // Without the documents there are no fragments.
    expect(html).not.toContain('side-by-side');
  });

  it('stays bounded with thousands of findings: long groups fold into <details>, the rest is counted', async () => {
    const many = Array.from({ length: 3_000 }, (_, i) => change({ level: i % 3 === 0 ? 'breaking' : 'info', rule: i % 3 === 0 ? 'response-property-removed' : 'response-property-added', location: `/components/schemas/S${i}/properties/p`, message: `finding ${i}` }));
    const result: DiffResult = summarise(many);
    const base = { components: { schemas: Object.fromEntries(many.map((_, i) => [`S${i}`, { type: 'object', properties: { p: { type: 'string' } } }])) } };
    const html = await render(DiffView({ result, base, revision: base, fromVersion: '1.0.0', toVersion: '2.0.0' }));
    expect(html.match(/<li class="finding">/g)).toHaveLength(200);
    expect(textOf(html)).toContain('Show 190 more findings for GET /a');
    expect(textOf(html)).toContain('… 2800 more findings for GET /a not shown.');
    expect(html.match(/<div class="side-by-side"/g)).toHaveLength(40);
    expect(textOf(html)).toContain('Before and after not shown: this view shows at most 40 fragments.');
    // Breaking findings come before the folded remainder.
    const firstTen = html.slice(0, html.indexOf('<details>'));
    expect(firstTen.match(/>Breaking<\/span>/g)).toHaveLength(10);
  });

  it('cuts a long fragment with a note, and links a fragment already shown instead of repeating it', async () => {
    const big = { type: 'object', properties: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`p${i}`, { type: 'string' }])) };
    const result = summarise([
      change({ rule: 'response-property-removed', level: 'breaking', location: '/components/schemas/Big/properties/p1', message: 'first' }),
      change({ method: 'GET', path: '/b', rule: 'response-property-removed', level: 'breaking', location: '/components/schemas/Big/properties/p1', message: 'second' }),
    ]);
    const html = await render(DiffView({ result, base: { components: { schemas: { Big: big } } }, revision: { components: { schemas: { Big: big } } } }));
    const text = textOf(html);
    expect(text).toContain('Cut: showing 80 of');
    expect(html).toContain('Before and after: <a href="#diff-fragment-1">the fragment at /components/schemas/Big, shown above</a>');
    expect(html.match(/<div class="side-by-side"/g)).toHaveLength(1);
  });
});
