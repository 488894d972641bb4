import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consequenceOf, consequenceParts, type RuleLookup } from '../../src/diff/consequence.ts';
import { diffContracts } from '../../src/diff/contract-diff.ts';
import { toGitHubAnnotations } from '../../src/diff/githubactions.ts';
import { changeLocator, sourceLines } from '../../src/diff/lines.ts';
import { isOpenApi31, runOpenApiDiff } from '../../src/diff/openapi-diff.ts';
import { renderDiff, renderMarkdown, renderText } from '../../src/diff/render.ts';
import { toSarif } from '../../src/diff/sarif.ts';
import { summarise, type Change } from '../../src/diff/types.ts';
import { newAjvDraft04 } from '../../src/lib/ajv.ts';
import { parseYaml } from '../../src/lib/yaml.ts';
import { ADMIN_TOKEN, REPO_ROOT, runCli, startTestService, type TestService } from '../harness.ts';

const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/diff/outputs');
const BASE_FILE = path.join(FIXTURES, 'base.yaml');
const REVISION_FILE = path.join(FIXTURES, 'revision.yaml');
const baseText = fs.readFileSync(BASE_FILE, 'utf8');
const revisionText = fs.readFileSync(REVISION_FILE, 'utf8');
const load = (text: string) => parseYaml(text, { maxAliases: 0 }) as Record<string, any>;
/** The 1-based line of the first line of `text` that equals `line`. */
const lineOf = (text: string, line: string) => text.split('\n').indexOf(line) + 1;

/** The official SARIF 2.1.0 JSON Schema (draft-04), as shipped in @microsoft/jest-sarif. */
const SARIF_SCHEMA = createRequire(import.meta.url)('@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json') as Record<string, unknown>;
const validateSarif = (() => {
  // The schema's `language` pattern has a stray `]` that only non-unicode regular expressions accept.
  const ajv = newAjvDraft04({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: false });
  return ajv.compile(SARIF_SCHEMA);
})();
const expectValidSarif = (log: unknown) => {
  const valid = validateSarif(log);
  expect(validateSarif.errors ?? []).toEqual([]);
  expect(valid).toBe(true);
};

/** A rule table of this test's own: rows are the rule table's shape, ids that no engine emits. */
const TABLE: Record<string, { consequence: string }> = {
  'test-request-property-removed': { consequence: 'Clients that still send {subject} will be rejected.' },
  'test-response-property-removed': { consequence: 'Clients that read {subject} will no longer find it.' },
  'test-operation-gone': { consequence: 'Clients that call this operation will get an error.' },
};
const lookup: RuleLookup = (id) => TABLE[id];

const change = (c: Partial<Change> & Pick<Change, 'rule' | 'level'>): Change => ({ direction: 'request', location: '', message: c.rule, ...c });

describe('consequences come from the rule table', () => {
  it('fills {subject} from the finding, as inline code', () => {
    const c = change({ rule: 'test-request-property-removed', level: 'breaking', subject: 'status' });
    expect(consequenceOf(c, { lookup })).toBe('Clients that still send `status` will be rejected.');
    expect(consequenceOf(c, { lookup, code: (s) => `“${s}”` })).toBe('Clients that still send “status” will be rejected.');
    expect(consequenceParts(c, lookup)).toEqual([{ text: 'Clients that still send ' }, { text: 'status', subject: true }, { text: ' will be rejected.' }]);
    // A subject with backticks is fenced with more of them, so it stays one code span.
    expect(consequenceOf({ ...c, subject: 'a`b' }, { lookup })).toBe('Clients that still send ``a`b`` will be rejected.');
  });

  it('uses a sentence without {subject} as it is', () => {
    expect(consequenceOf(change({ rule: 'test-operation-gone', level: 'breaking' }), { lookup })).toBe('Clients that call this operation will get an error.');
  });

  it('falls back to the family or level sentence for rules not in the table, or a finding without the subject its sentence needs', () => {
    expect(consequenceOf(change({ rule: 'openapi-diff/request.body.scope', level: 'warning' }), { lookup })).toMatch(/^A second diff tool flagged this/);
    expect(consequenceOf(change({ rule: 'matrix-dedupe-window-shortened', level: 'breaking' }), { lookup })).toBe('Clients that send the old shape will be refused.');
    expect(consequenceOf(change({ rule: 'test-response-property-removed', level: 'breaking', direction: 'response' }), { lookup })).toBe('Clients that read this will miss or misread it.');
  });
});

/** A diff a board reads: a shared schema reaching two operations, one operation's own findings, a document-wide one. */
function boardDiff() {
  return summarise([
    change({ rule: 'test-operation-gone', level: 'breaking', method: 'GET', path: '/legacy', summary: 'List members the old way', location: '/paths/~1legacy/get', message: 'GET /legacy removed' }),
    change({ rule: 'test-request-property-removed', level: 'breaking', method: 'POST', path: '/members', summary: 'Enrol a member', subject: 'Member.status', location: '/components/schemas/Member/properties/status', message: 'request body application/json: property Member.status removed' }),
    change({ rule: 'test-request-property-removed', level: 'breaking', method: 'PUT', path: '/members/{id}', summary: 'Replace a member', subject: 'Member.status', location: '/components/schemas/Member/properties/status', message: 'request body application/json: property Member.status removed' }),
    change({ rule: 'test-servers-changed', level: 'warning', location: '/servers', message: 'servers changed' }),
    change({ rule: 'test-response-property-removed', level: 'warning', direction: 'response', method: 'POST', path: '/members', summary: 'Enrol a member', subject: 'nickname', location: '/paths/~1members/post/responses/201/content/application~1json/schema/properties/nickname', message: 'response 201 application/json: optional property nickname removed' }),
    change({ rule: 'test-parameter-added', level: 'info', method: 'POST', path: '/members', summary: 'Enrol a member', subject: 'dryRun', location: '/paths/~1members/post', message: 'optional query parameter dryRun added' }),
    change({ rule: 'test-parameter-added', level: 'info', method: 'POST', path: '/members', summary: 'Enrol a member', subject: 'trace', location: '/paths/~1members/post', message: 'optional query parameter trace added' }),
  ]);
}

describe('text and Markdown: grouped by operation, each finding once, breaking first', () => {
  const result = boardDiff();

  it('Markdown: operation headings with their summary, consequences, shared changes once with the operations they affect', () => {
    const md = renderMarkdown(result, 'members 1.0.0 → 2.0.0', { lookup });
    const headings = md.split('\n').filter((l) => l.startsWith('### '));
    expect(headings).toEqual([
      '### Shared schema `Member` — used by several operations',
      '### `GET /legacy` — List members the old way',
      '### Whole document',
      '### `POST /members` — Enrol a member',
    ]);
    expect(md).toContain('- **Breaking** — Clients that still send `Member.status` will be rejected.');
    expect(md).toContain('<sub>Affects `POST /members` (Enrol a member), `PUT /members/{id}` (Replace a member) · request body application/json: property Member.status removed · `test-request-property-removed`</sub>');
    expect(md.match(/Member\.status removed/g)).toHaveLength(1);
    // The operation's own section points at the shared change instead of repeating it.
    expect(md).toContain('_Also affected by the changes to shared schema `Member` (listed there)._');
    // Within an operation, what needs review comes before what is compatible; two parameters on one operation are two findings.
    const post = md.slice(md.indexOf('### `POST /members`'));
    expect(post.indexOf('**Needs review** — Clients that read `nickname` will no longer find it.')).toBeLessThan(post.indexOf('**Compatible**'));
    expect(post).toContain('dryRun added');
    expect(post).toContain('trace added');
    // The path is not repeated on every line any more.
    expect(md.match(/`POST \/members`/g)).toHaveLength(2);
  });

  it('text: the verdict first, then each operation once with its findings and their consequences', () => {
    const text = renderText(result, { lookup });
    const lines = text.split('\n');
    expect(lines[0]).toBe('3 breaking, 2 warnings, 2 info — requires a major version');
    expect(lines.filter((l) => /^\S/.test(l)).slice(1)).toEqual(['Shared schema Member — used by several operations', 'GET /legacy — List members the old way', 'Whole document', 'POST /members — Enrol a member']);
    expect(text).toContain('  BREAKING  request body application/json: property Member.status removed  [test-request-property-removed] /components/schemas/Member/properties/status\n            Clients that still send `Member.status` will be rejected.\n            affects POST /members (Enrol a member), PUT /members/{id} (Replace a member)\n');
  });

  it('one change reached by several statuses is one finding; two values added at one place are two', () => {
    const at = '/components/schemas/Invoice/properties/reason';
    const text = renderText(
      summarise([
        change({ rule: 'test-enum-value-added', level: 'breaking', direction: 'response', method: 'GET', path: '/invoices', location: at, message: 'response 200 application/json Invoice.reason: enum value "a" added' }),
        change({ rule: 'test-enum-value-added', level: 'breaking', direction: 'response', method: 'POST', path: '/invoices', location: at, message: 'response 201 application/json Invoice.reason: enum value "a" added' }),
        change({ rule: 'test-enum-value-added', level: 'breaking', direction: 'response', method: 'GET', path: '/invoices', location: at, message: 'response 200 application/json Invoice.reason: enum value "b" added' }),
      ]),
      { lookup },
    );
    expect(text.match(/enum value "a" added/g)).toHaveLength(1);
    expect(text).toContain('enum value "b" added');
    expect(text).toContain('affects GET /invoices, POST /invoices');
  });

  it('a summary or subject from the document cannot forge a line or Markdown', () => {
    const hostile = summarise([change({ rule: 'test-request-property-removed', level: 'breaking', method: 'POST', path: '/x', summary: 'Enrol\n### PASS <img src=x>', subject: 'a\nb', location: '/paths/~1x/post', message: 'removed' })]);
    const md = renderMarkdown(hostile, 'x', { lookup });
    expect(md.split('\n').filter((l) => l.startsWith('###'))).toEqual(['### `POST /x` — Enrol\\n\\#\\#\\# PASS \\<img src=x\\>']);
    expect(md).toContain('`a\\nb`');
    expect(renderText(hostile, { lookup }).split('\n').some((l) => l.startsWith('###'))).toBe(false);
  });

  it('JSON gives every change its consequence, and the result itself stays as computed', () => {
    const json = JSON.parse(renderDiff(result, 'json', { lookup }));
    expect(json.changes[1]).toMatchObject({ subject: 'Member.status', summary: 'Enrol a member', consequence: 'Clients that still send `Member.status` will be rejected.' });
    expect(json.changes.every((c: { consequence?: string }) => typeof c.consequence === 'string' && c.consequence.length > 0)).toBe(true);
    expect(result.changes.some((c) => 'consequence' in c)).toBe(false);
  });
});

describe('pointers to lines', () => {
  it('finds keys, sequence items and escaped segments in YAML; the nearest ancestor for what is not there', () => {
    const lines = sourceLines(baseText);
    expect(lines.locate('/paths/~1members~1{id}/put')).toEqual({ line: lineOf(baseText, '    put:'), column: 5, exact: true });
    expect(lines.locate('/paths/~1members~1{id}/put/parameters/0/in')).toMatchObject({ line: lineOf(baseText, '          in: path'), exact: true });
    expect(lines.locate('/components/schemas/Member/properties/status')).toMatchObject({ line: lineOf(baseText, '        status:'), exact: true });
    expect(lines.locate('/components/schemas/Member/properties/nickname')).toEqual({ line: lineOf(baseText, '      properties:'), column: 7, exact: false });
    expect(lines.locate('')).toEqual({ line: 1, column: 1, exact: true });
  });

  it('reads JSON as well, and a key with ~ and /', () => {
    const text = JSON.stringify({ paths: { '/a~b/{c}': { get: { responses: { '200': { description: 'ok' } } } } } }, null, 2);
    expect(sourceLines(text).locate('/paths/~1a~0b~1{c}/get/responses/200')).toEqual({ line: 6, column: 11, exact: true });
  });

  it('places a finding in the revision, or in the base for what the revision removed', () => {
    const locate = changeLocator({ base: { uri: 'base.yaml', text: baseText }, revision: { uri: 'revision.yaml', text: revisionText } });
    expect(locate({ location: '/paths/~1legacy-members/get' })).toMatchObject({ side: 'base', position: { line: lineOf(baseText, '  /legacy-members:') + 1 } });
    expect(locate({ location: '/components/schemas/Member/properties/status' })).toMatchObject({ side: 'revision', position: { line: lineOf(revisionText, '        status:') } });
    // openapi-diff's findings carry its own location syntax: their operation's line.
    expect(locate({ location: 'openapi-diff:paths./members.post', method: 'POST', path: '/members' })).toMatchObject({ side: 'revision', position: { line: lineOf(revisionText, '    post:') } });
  });

  it('stays linear: a document with 5 000 operations, every one changed, annotates in seconds', () => {
    const paths = (description: string) => Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`/items${i}`, { get: { operationId: `get${i}`, responses: { '200': { description }, ...(description === 'a' ? { '404': { description: 'gone' } } : {}) } } }]));
    const doc = (description: string) => ({ openapi: '3.0.3', info: { title: 't', version: '1' }, paths: paths(description) });
    const base = doc('a');
    const revision = doc('b');
    const result = diffContracts(base, revision);
    expect(result.changes.length).toBe(5000);
    const started = performance.now();
    const out = toGitHubAnnotations(result, { artifacts: { base: { uri: 'a.json', text: JSON.stringify(base, null, 2) }, revision: { uri: 'b.json', text: JSON.stringify(revision, null, 2) } } });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(out.split('\n').filter((l) => l.startsWith('::notice file=a.json,line='))).toHaveLength(5000);
  });
});

describe('SARIF 2.1.0 and GitHub Actions annotations', () => {
  const base = load(baseText);
  const revision = load(revisionText);
  const result = diffContracts(base, revision);
  const artifacts = { base: { uri: 'test/fixtures/diff/outputs/base.yaml', text: baseText }, revision: { uri: 'test/fixtures/diff/outputs/revision.yaml', text: revisionText } };

  it('SARIF is valid against the SARIF 2.1.0 JSON Schema, each finding once, on its line', () => {
    const log = toSarif(result, { artifacts, toolVersion: '0.1.0' }) as any;
    expectValidSarif(log);
    const run = log.runs[0];
    expect(run.tool.driver).toMatchObject({ name: 'accord-diff', version: '0.1.0' });
    expect(run.artifacts.map((a: any) => a.location.uri)).toEqual([artifacts.revision.uri, artifacts.base.uri]);
    // The shared schema's change reaches two operations and is one result with both.
    const distinct = result.summary.distinct;
    expect(run.results).toHaveLength(distinct.breaking + distinct.warning + distinct.info);
    const shared = run.results.find((r: any) => r.properties.pointer === '/components/schemas/Member/properties/status');
    expect(shared.level).toBe('error');
    expect(shared.locations[0].physicalLocation).toEqual({ artifactLocation: { uri: artifacts.revision.uri, index: 0 }, region: { startLine: lineOf(revisionText, '        status:'), startColumn: 9 } });
    expect(shared.locations[0].logicalLocations.filter((l: any) => l.kind === 'function').map((l: any) => l.fullyQualifiedName)).toEqual(['POST /members', 'PUT /members/{id}']);
    const removed = run.results.find((r: any) => r.properties.pointer === '/paths/~1legacy-members/get');
    expect(removed.locations[0].physicalLocation).toEqual({ artifactLocation: { uri: artifacts.base.uri, index: 1 }, region: { startLine: lineOf(baseText, '    get:'), startColumn: 5 } });
    for (const r of run.results) expect(run.tool.driver.rules[r.ruleIndex].id).toBe(r.ruleId);
    expect(run.properties).toMatchObject({ verdict: 'breaking', bump: 'major' });
  });

  it('SARIF without document texts (registry refs, posted documents) is valid too, with no regions', () => {
    const log = toSarif(result, { artifacts: { base: { uri: 'acme/members@1.0.0' }, revision: { uri: 'acme/members@2.0.0' } } }) as any;
    expectValidSarif(log);
    expect(log.runs[0].results[0].locations[0].physicalLocation).toEqual({ artifactLocation: { uri: 'acme/members@2.0.0', index: 0 } });
    expectValidSarif(toSarif(summarise([]), {}));
  });

  it('GitHub Actions: one workflow command per finding, on the file and line of the change', () => {
    const out = toGitHubAnnotations(result, { artifacts });
    const lines = out.trimEnd().split('\n');
    expect(lines.at(-1)).toBe(`${result.summary.breaking} breaking, ${result.summary.warning} warning${result.summary.warning === 1 ? '' : 's'}, ${result.summary.info} info — requires a major version`);
    const commands = lines.slice(0, -1);
    expect(commands.every((l) => /^::(error|warning|notice) file=[^,]+,line=\d+,col=\d+,title=[^:]*::\S/.test(l))).toBe(true);
    expect(commands).toHaveLength(result.summary.distinct.breaking + result.summary.distinct.warning + result.summary.distinct.info);
    expect(commands).toContainEqual(expect.stringMatching(new RegExp(`^::error file=test/fixtures/diff/outputs/revision\\.yaml,line=${lineOf(revisionText, '        status:')},col=9,title=Breaking change in 2 operations \\[.+\\]::.*Affects POST /members, PUT /members/\\{id\\}\\.$`)));
    expect(commands).toContainEqual(expect.stringMatching(new RegExp(`^::error file=test/fixtures/diff/outputs/base\\.yaml,line=${lineOf(baseText, '    get:')},col=5,title=Breaking change in GET /legacy-members \\(List members the old way\\) \\[`)));
  });

  it('GitHub Actions: a shared change names ten operations, then how many more', () => {
    const wide = summarise(Array.from({ length: 12 }, (_, i) => change({ rule: 'test-request-property-removed', level: 'breaking', method: 'GET', path: `/r${i}`, subject: 'id', location: '/components/schemas/R/properties/id', message: 'property R.id removed' })));
    const [line] = toGitHubAnnotations(wide, { lookup }).split('\n');
    expect(line).toBe('::error title=Breaking change in 12 operations [test-request-property-removed]::Clients that still send `id` will be rejected. property R.id removed. Affects GET /r0, GET /r1, GET /r2, GET /r3, GET /r4, GET /r5, GET /r6, GET /r7, GET /r8, GET /r9 and 2 more.');
  });

  it('GitHub Actions: text from the document cannot end a command or add one', () => {
    const hostile = summarise([change({ rule: 'test-request-property-removed', level: 'breaking', method: 'POST', path: '/a,b:c', summary: 'x\n::error::forged', subject: '100%\r\n::error::forged', location: '/x', message: 'm\n::error::forged' })]);
    const out = toGitHubAnnotations(hostile, { artifacts: { revision: { uri: 'dir,1/odd:name.yaml', text: 'x: 1\n' } }, lookup });
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('::error file=dir%2C1/odd%3Aname.yaml,line=1,col=1,title=Breaking change in POST /a%2Cb%3Ac (x%0A%3A%3Aerror%3A%3Aforged) [test-request-property-removed]::Clients that still send `100%25%0D%0A::error::forged` will be rejected. m%0A::error::forged.');
  });
});

describe('openapi-diff and OpenAPI 3.1', () => {
  const doc = (openapi: string, extra: Record<string, unknown> = {}) => ({ openapi, info: { title: 't', version: '1' }, paths: { '/a': { get: { responses: { '200': { description: 'ok' } } } } }, ...extra });

  it('knows a 3.1 document', () => {
    expect(['3.1.0', '3.1.1', '3.2.0', ' 3.1.0'].map((v) => isOpenApi31({ openapi: v }))).toEqual([true, true, true, true]);
    expect(['3.0.3', '3.0.0', '2.0', '3'].map((v) => isOpenApi31({ openapi: v }))).toEqual([false, false, false, false]);
    expect([{ swagger: '2.0' }, null, 'openapi: 3.1.0', { openapi: 3.1 }].map(isOpenApi31)).toEqual([false, false, false, false]);
  });

  it('skips 3.1 documents (either side) and still runs on 3.0', async () => {
    expect(await runOpenApiDiff(doc('3.1.0'), doc('3.1.0'), { timeoutMs: 30_000 })).toEqual({ status: 'skipped', reason: 'openapi-3.1' });
    expect(await runOpenApiDiff(doc('3.0.3'), doc('3.1.0'), { timeoutMs: 30_000 })).toEqual({ status: 'skipped', reason: 'openapi-3.1' });
    expect(await runOpenApiDiff(doc('3.0.3'), doc('3.0.3'), { timeoutMs: 30_000 })).toMatchObject({ status: 'ok' });
  });
});

describe('over HTTP and in the CLI', () => {
  let s: TestService;
  let url: string;
  beforeAll(async () => {
    s = await startTestService({ seed: true });
    url = await s.listen();
  });
  afterAll(async () => await s.cleanup());

  it('POST /v1/diff: 3.1 documents skip the second opinion; changes carry their consequence; SARIF on request', async () => {
    const body = JSON.stringify({ base: load(baseText), revision: load(revisionText) });
    const res = await s.call('POST', '/v1/diff', { body, type: 'application/json' });
    expect(res.status).toBe(200);
    const json = await res.json();
    expect(json.openapiDiff).toEqual({ status: 'skipped', reason: 'openapi-3.1' });
    expect(json.changes.every((c: { consequence?: string }) => typeof c.consequence === 'string')).toBe(true);
    const sarif = await s.call('POST', '/v1/diff?format=sarif', { body, type: 'application/json' });
    expect(sarif.headers.get('content-type')).toBe('application/sarif+json');
    const log = await sarif.json();
    expectValidSarif(log);
    expect(log.runs[0].artifacts.map((a: any) => a.location.uri)).toEqual(['revision', 'base']);
  });

  it('GET /v1/contracts/{p}/{a}/diff?format=sarif names the versions by registry ref and points at their lines', async () => {
    const res = await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/diff?from=1.1.0&to=2.0.0&format=sarif');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/sarif+json');
    const log = await res.json();
    expectValidSarif(log);
    const run = log.runs[0];
    expect(run.artifacts.map((a: any) => a.location.uri)).toEqual(['northwind-health/p2p-exchange@2.0.0', 'northwind-health/p2p-exchange@1.1.0']);
    // The registry stores a canonical YAML: the lines are those of the stored document.
    const stored = await (await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/versions/1.1.0/document', { headers: { Accept: 'application/yaml' } })).text();
    const removed = run.results.find((r: any) => r.properties.pointer === '/paths/~1finalizations/post');
    expect(removed.locations[0].physicalLocation).toEqual({ artifactLocation: { uri: 'northwind-health/p2p-exchange@1.1.0', index: 1 }, region: { startLine: lineOf(stored, '  /finalizations:') + 1, startColumn: 5 } });
    // A 3.0 API still gets openapi-diff's second opinion.
    const json = await (await s.call('GET', '/v1/contracts/bluestem-mutual/p2p-exchange/diff?from=1.0.0&to=1.1.0')).json();
    expect(json.openapiDiff.status).toMatch(/^(ok|timeout)$/);
    expect((await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/diff?from=1.1.0&to=2.0.0&format=githubactions')).status).toBe(400);
  });

  it('accord diff --format sarif | githubactions | json', async () => {
    const accord = (args: string[]) => runCli(['diff', BASE_FILE, REVISION_FILE, ...args], { ACCORD_URL: url, ACCORD_TOKEN: ADMIN_TOKEN });
    const sarif = await accord(['--format', 'sarif']);
    expect(sarif.code).toBe(1);
    const log = JSON.parse(sarif.stdout);
    expectValidSarif(log);
    expect(log.runs[0].artifacts.map((a: any) => a.location.uri)).toEqual([REVISION_FILE, BASE_FILE]);

    const gha = await accord(['--format', 'githubactions']);
    expect(gha.code).toBe(1);
    expect(gha.stdout).toContain(`::error file=${BASE_FILE},line=${lineOf(baseText, '    get:')},col=5,title=Breaking change in GET /legacy-members`);

    const json = await accord(['--format', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ openapiDiff: { status: 'skipped', reason: 'openapi-3.1' }, changes: expect.arrayContaining([expect.objectContaining({ consequence: expect.any(String) })]) });

    const bad = await accord(['--format', 'junit']);
    expect(bad).toMatchObject({ code: 3, stderr: expect.stringContaining('--format must be text, json, markdown, sarif or githubactions') });
  });
});
