import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { evaluateGate, type GateFacts } from '../src/gate/evaluate.ts';
import { lintDocument, lintRuns } from '../src/lint/linter.ts';
import { workerRequests } from '../src/lint/pool.ts';
import { compiledRuleset, defaultRuleset } from '../src/lint/ruleset.ts';
import { parseYaml } from '../src/lib/yaml.ts';
import { networkSpec, REPO_ROOT, runCli, startTestService, type TestService } from './harness.ts';

/**
 * Style rules (issue 16): the network ruleset stored like the policy, registration refusing
 * error-level findings with Spectral's positions, the gate's `lint` rule and `accord lint`.
 */

const REFERENCE_RULESET = fs.readFileSync(path.join(REPO_ROOT, 'control-matrix/ruleset.yaml'), 'utf8');
const BASE = '/v1/contracts/acme/member-api/versions';

const styledSpec = networkSpec;

/** The 1-based line of the first line of `text` containing `needle`. */
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
/** Where Spectral places a finding on a mapping key's value: the line of `key:`, the column after its colon. */
const afterKey = (text: string, keyLine: string) => ({ line: lineOf(text, keyLine), column: text.split('\n')[lineOf(text, keyLine) - 1]!.length + 1 });

const referenceRuleset = () => compiledRuleset('lint-test-reference', 'reference', () => parseYaml(REFERENCE_RULESET, { maxAliases: 0 }));

describe('the lint engine', () => {
  it('gives 0 findings for a contract that follows the reference ruleset', async () => {
    expect(await lintDocument({ text: styledSpec(), format: 'yaml', source: 'styled.yaml', ruleset: referenceRuleset() })).toEqual([]);
  });

  it('reports Spectral’s own positions, 1-based, with a JSON pointer', async () => {
    const text = styledSpec().replace('  /members/{memberId}:', '  /members/{memberId}/:');
    const [finding] = await lintDocument({ text, format: 'yaml', source: 'slash.yaml', ruleset: referenceRuleset() });
    expect(finding).toMatchObject({ rule: 'path-keys-no-trailing-slash', severity: 'error', location: '/paths/~1members~1{memberId}~1', ...afterKey(text, '  /members/{memberId}/:') });
    expect(finding).toMatchObject({ line: 16, column: 24 });
  });

  it('refuses external $refs as findings and never fetches them', async () => {
    let hits = 0;
    const server = http.createServer((_req, res) => {
      hits++;
      res.end('type: object\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/member.yaml`;
      const text = styledSpec().replace("$ref: '#/components/schemas/Member'", `$ref: '${url}'`).replace('              example:\n                memberId: m-1\n                birthDate: \'1970-01-01\'\n', '');
      const findings = await lintDocument({ text, format: 'yaml', source: 'external.yaml', ruleset: defaultRuleset() });
      const refused = findings.filter((f) => f.rule === 'invalid-ref');
      expect(refused).toEqual([expect.objectContaining({ severity: 'error', message: expect.stringContaining(`external $ref refused (http): ${url}`), line: lineOf(text, url) })]);
      const relative = await lintDocument({ text: text.replace(url, './member.yaml'), format: 'yaml', source: path.join(os.tmpdir(), 'relative.yaml'), ruleset: defaultRuleset() });
      expect(relative.filter((f) => f.rule === 'invalid-ref')).toEqual([expect.objectContaining({ message: expect.stringContaining('external $ref refused (file)') })]);
      expect(hits).toBe(0);
    } finally {
      server.close();
    }
  });

  it('keeps each concurrent run’s covered operations apart (one Spectral instance, per-run context)', async () => {
    const text = styledSpec().replace('paths:\n', `paths:
  /members:
    post:
      operationId: addMember
      summary: Add a member
      tags: [members]
      responses:
        '201':
          description: Added
`);
    const run = (covered: string[]) => lintDocument({ text, format: 'yaml', source: `covered-${covered.join()}.yaml`, ruleset: referenceRuleset(), coveredOperationIds: new Set(covered) });
    const [covered, uncovered] = await Promise.all([run(['addMember']), run(['somethingElse'])]);
    expect(covered.map((f) => f.rule)).toEqual(['idempotency-key-on-covered-writes']);
    expect(covered[0]).toMatchObject({ location: '/paths/~1members/post', message: expect.stringContaining('"addMember"') });
    expect(uncovered).toEqual([]);
  });

  it('reports a document that is not OpenAPI as an error, and YAML errors with their position', async () => {
    const notOpenApi = await lintDocument({ text: 'hello: world\n', format: 'yaml', source: 'x.yaml', ruleset: defaultRuleset() });
    expect(notOpenApi).toEqual([expect.objectContaining({ rule: 'unrecognized-format', severity: 'error' })]);
    const broken = await lintDocument({ text: `${styledSpec()}  bad: [unclosed\n`, format: 'yaml', source: 'broken.yaml', ruleset: defaultRuleset() });
    expect(broken.some((f) => f.rule === 'parser' && f.severity === 'error' && f.line > 1)).toBe(true);
  });

  it('says a document was not linted when Spectral itself cannot process it (a key named hasOwnProperty), instead of failing', async () => {
    const text = styledSpec().replace('        birthDate:\n', '        hasOwnProperty:\n          type: string\n        birthDate:\n');
    const findings = await lintDocument({ text, format: 'yaml', source: 'own.yaml', ruleset: referenceRuleset() });
    expect(findings).toEqual([expect.objectContaining({ rule: 'lint-engine', severity: 'warning', message: expect.stringContaining('not linted') })]);
  });

  it('checks enums for duplicates in linear time (Spectral’s own rule is quadratic and stays off)', async () => {
    const text = JSON.stringify({ openapi: '3.1.0', info: { title: 'Wide', version: '1.0.0' }, paths: {}, components: { schemas: { Wide: { type: 'string', enum: [...Array.from({ length: 50_000 }, (_, i) => `v${i}`), 'v7'] } } } });
    const findings = await lintDocument({ text, format: 'json', source: 'wide.json', ruleset: defaultRuleset() });
    expect(findings.filter((f) => f.rule.includes('enum'))).toEqual([expect.objectContaining({ rule: 'accord-duplicated-entry-in-enum', severity: 'warning', location: '/components/schemas/Wide/enum/50000', message: expect.stringContaining('first at index 7') })]);
    expect(() => compiledRuleset('enum-back-on', 'enum', () => ({ extends: 'spectral:oas', rules: { 'duplicated-entry-in-enum': 'error' } }))).toThrow(/stays off/);
  });

  it('answers the same content, ruleset and coverage from its cache', async () => {
    const input = { text: styledSpec('7.7.7'), format: 'yaml' as const, source: 'cached.yaml', ruleset: referenceRuleset() };
    await lintDocument(input);
    const runs = lintRuns.count;
    await lintDocument(input);
    expect(lintRuns.count).toBe(runs);
    await lintDocument({ ...input, coveredOperationIds: new Set(['getMember']) });
    expect(lintRuns.count).toBe(runs + 1);
  });

  it('the gate’s lint rule: failed on errors, met with the warnings named, absent from decisions stored before it', () => {
    const facts = {
      now: '2026-11-27T12:00:00.000Z',
      target: { partner: 'acme', api: 'member-api', version: '1.0.0', environment: 'staging', state: 'released', sha256: 'a'.repeat(64) },
      change: null,
      diff: { base: null, hash: 'h', summary: { breaking: 0, warning: 0, info: 0, total: 0, distinct: { breaking: 0, warning: 0, info: 0 } }, bump: 'none', changes: [] },
      reviews: [],
      acks: [],
      evidence: [],
      flows: [],
      changedOperations: [],
      freezes: [],
      previousRelease: null,
    } as unknown as GateFacts;
    expect(evaluateGate(facts).reasons.map((r) => r.rule)).not.toContain('lint');
    const lint = { ruleset: 'network ruleset v1', olderVersion: false, errors: 1, findings: [{ rule: 'path-keys-no-trailing-slash', location: '/paths/~1a~1', line: 9, column: 3, message: 'No trailing slash.' }], warnings: 2, warningRules: ['info-contact'] };
    const failed = evaluateGate({ ...facts, lint }).reasons.find((r) => r.rule === 'lint')!;
    expect(failed).toMatchObject({ status: 'failed', message: expect.stringContaining('path-keys-no-trailing-slash at /paths/~1a~1 (line 9, column 3)') });
    expect(failed.message).toContain('2 warnings (info-contact)');
    expect(evaluateGate({ ...facts, lint }).verdict).toBe('fail');
    expect(evaluateGate({ ...facts, lint: { ...lint, errors: 0, findings: [] } }).reasons.find((r) => r.rule === 'lint')).toMatchObject({ status: 'met', message: expect.stringContaining('2 warnings (info-contact)') });
  });
});

describe('the network ruleset over HTTP', () => {
  let s: TestService;
  beforeEach(async () => {
    s = await startTestService();
  });
  afterEach(async () => {
    await s.expectIndexMatchesTags();
    await s.cleanup();
  });

  const rows = async () => (await s.deps.db.$sql.all("SELECT version FROM matrix_versions WHERE name = 'ruleset'")).length;

  it('404 while none is stored, saying spectral:oas applies; admins store versions, everyone with matrix:read reads them', async () => {
    const none = await s.call('GET', '/v1/rulesets/network');
    expect(none.status).toBe(404);
    expect((await none.json()).detail).toContain('spectral:oas');
    const author = await s.token('author');
    expect((await s.call('PUT', '/v1/rulesets/network', { body: REFERENCE_RULESET, type: 'application/yaml', token: author })).status).toBe(403);
    const put = await s.call('PUT', '/v1/rulesets/network', { body: REFERENCE_RULESET, type: 'application/yaml' });
    expect(put.status).toBe(201);
    expect(await put.json()).toMatchObject({ name: 'ruleset', kind: 'ruleset', version: 1 });
    expect(s.git('show', 'control-matrix/ruleset/v1:control-matrix/ruleset.yaml')).toContain('idempotency-key-on-covered-writes');
    expect((await s.call('PUT', '/v1/rulesets/network', { body: REFERENCE_RULESET, type: 'application/yaml' })).status).toBe(200);
    const changed = REFERENCE_RULESET.replace('operation-description: off', 'operation-description: warn');
    expect((await s.call('PUT', '/v1/rulesets/network', { body: changed, type: 'application/yaml' })).status).toBe(201);
    const partner = await s.token('partner', 'acme');
    const latest = await (await s.call('GET', '/v1/rulesets/network', { token: partner })).json();
    expect(latest).toMatchObject({ version: 2, kind: 'ruleset' });
    expect(latest.yaml).toContain('operation-description: warn');
    expect(latest.entry.rules['operation-description']).toBe('warn');
    expect((await (await s.call('GET', '/v1/rulesets/network?version=1')).json()).yaml).toContain('operation-description: \'off\'');
    expect((await s.call('GET', '/v1/rulesets/network?version=9')).status).toBe(404);
    // Not a flow: the flow routes do not serve it, nor store under its name.
    expect((await s.call('PUT', '/v1/control-matrix/ruleset', { body: REFERENCE_RULESET, type: 'application/yaml' })).status).toBe(400);
  });

  it('refuses a ruleset that does not load with 422 and stores nothing', async () => {
    const head = s.git('rev-parse', 'HEAD');
    const attempts: Array<[string, string, { rule: string; location: string }]> = [
      ['remote extends', 'extends: https://rules.example/ruleset.yaml\n', { rule: 'ruleset/extends', location: '/extends' }],
      ['custom functions', 'functions: [evil]\nrules: {}\n', { rule: 'ruleset/schema', location: '/functions' }],
      ['unknown function', 'rules:\n  r:\n    given: $\n    then: {function: nope}\n', { rule: 'ruleset/function', location: '/rules/r/then/function' }],
      ['not JSONPath', 'rules:\n  r:\n    given: members\n    then: {function: truthy}\n', { rule: 'ruleset/schema', location: '/rules/r/given' }],
      // Spectral builds this one and only fails when it runs it: Accord runs a ruleset once before storing it.
      ['broken JSONPath', 'rules:\n  fine:\n    given: $.info\n    then: {function: truthy}\n  r:\n    given: "$[?("\n    then: {function: truthy}\n', { rule: 'ruleset/given', location: '/rules/r/given' }],
      ['bad severity', 'rules:\n  r:\n    given: $\n    severity: fatal\n    then: {function: truthy}\n', { rule: 'ruleset/schema', location: '/rules/r/severity' }],
    ];
    for (const [what, body, error] of attempts) {
      const res = await s.call('PUT', '/v1/rulesets/network', { body, type: 'application/yaml' });
      expect(res.status, what).toBe(422);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect((await res.json()).errors, what).toEqual(expect.arrayContaining([expect.objectContaining(error)]));
    }
    expect(s.git('rev-parse', 'HEAD')).toBe(head);
    expect(s.git('tag', '--list', 'control-matrix/*')).toBe('');
    expect(await rows()).toBe(0);
  });
});

describe('registration under the style rules', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService();
    expect((await s.call('PUT', '/v1/rulesets/network', { body: REFERENCE_RULESET, type: 'application/yaml' })).status).toBe(201);
  });
  afterAll(async () => {
    await s.expectIndexMatchesTags();
    await s.cleanup();
  });

  const register = (body: string, url = BASE) => s.call('POST', url, { body, type: 'application/yaml' });
  const versionRows = async () => (await s.deps.db.$sql.all('SELECT version FROM contract_versions')).length;

  it.each([
    ['a trailing-slash path', (t: string) => t.replace('  /members/{memberId}:', '  /members/{memberId}/:'), 'path-keys-no-trailing-slash', '/paths/~1members~1{memberId}~1', '/members/{memberId}/:'],
    ['a missing operationId', (t: string) => t.replace('      operationId: getMember\n', ''), 'operation-operationId', '/paths/~1members~1{memberId}/get', '    get:'],
    ['an example contradicting its schema', (t: string) => t.replace('memberId: m-1', 'memberId: 42'), 'oas3-valid-media-example', '/paths/~1members~1{memberId}/get/responses/200/content/application~1json/example/memberId', 'memberId: 42'],
  ])('refuses %s with 422: rule, location, line and column; nothing written', async (_what, change, rule, location, line) => {
    const head = s.git('rev-parse', 'HEAD');
    const before = await versionRows();
    const text = change(styledSpec('1.0.0'));
    const res = await register(text, '/v1/contracts/acme/refused-api/versions');
    expect(res.status).toBe(422);
    const problem = await res.json();
    expect(problem).toMatchObject({ code: 'invalid_document', ruleset: 'network ruleset v1' });
    expect(problem.errors).toEqual([{ rule, location, message: expect.any(String), line: lineOf(text, line), column: expect.any(Number) }]);
    expect(s.git('rev-parse', 'HEAD')).toBe(head);
    expect(s.git('tag', '--list', 'acme/refused-api/*')).toBe('');
    expect(await versionRows()).toBe(before);
  });

  it('returns warnings with the 201; a version below the newest keeps loading with its errors as warnings', async () => {
    const warned = styledSpec('2.0.0').replace('  contact:\n    name: Member team\n    email: members@acme.example\n', '');
    const res = await register(warned);
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body.lint).toEqual({ ruleset: 'network ruleset v1', olderVersion: false, errors: 0, warnings: [expect.objectContaining({ rule: 'info-contact', severity: 'warning', line: 2 })] });

    const older = styledSpec('1.5.0').replace('  /members/{memberId}:', '  /members/{memberId}/:');
    const accepted = await register(older);
    expect(accepted.status).toBe(201);
    expect((await accepted.json()).lint).toMatchObject({ olderVersion: true, errors: 0, warnings: [expect.objectContaining({ rule: 'path-keys-no-trailing-slash', severity: 'warning', line: lineOf(older, '/members/{memberId}/:') })] });
    // Registering the same content again is a no-op and lints nothing again.
    const runs = workerRequests.count;
    expect((await register(older)).status).toBe(200);
    expect(workerRequests.count).toBe(runs);
  });

  it('the gate fails a version with style errors under the ruleset in force, and says which', async () => {
    // Registered while spectral:oas applied (a trailing slash is a warning there), then the ruleset tightens.
    const fresh = await startTestService();
    try {
      const text = styledSpec('1.0.0').replace('  /members/{memberId}:', '  /members/{memberId}/:');
      expect((await fresh.call('POST', BASE, { body: text, type: 'application/yaml' })).status).toBe(201);
      const check = () => fresh.call('POST', '/v1/gate/check', { body: JSON.stringify({ partner: 'acme', api: 'member-api', version: '1.0.0', environment: 'staging' }), type: 'application/json' });
      const before = (await (await check()).json()).reasons.find((r: { rule: string }) => r.rule === 'lint');
      expect(before).toMatchObject({ status: 'met', message: expect.stringContaining('spectral:oas') });
      expect(before.message).toContain('path-keys-no-trailing-slash');
      expect((await fresh.call('PUT', '/v1/rulesets/network', { body: REFERENCE_RULESET, type: 'application/yaml' })).status).toBe(201);
      const decision = await (await check()).json();
      expect(decision.verdict).toBe('fail');
      expect(decision.reasons.find((r: { rule: string }) => r.rule === 'lint')).toMatchObject({
        status: 'failed',
        message: expect.stringContaining(`path-keys-no-trailing-slash at /paths/~1members~1{memberId}~1 (line ${lineOf(text, '/members/{memberId}/:')}, column 24)`),
      });
      const stored = await (await fresh.call('GET', `/v1/gate/decisions/${decision.decisionId}`)).json();
      expect(stored.inputs.lint).toMatchObject({ ruleset: 'network ruleset v1', errors: 1 });
      expect(stored.rederivation).toMatchObject({ inputsHashMatches: true, matches: true });
    } finally {
      await fresh.cleanup();
    }
  });
});

describe('the seeded reference network', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ seed: true });
  });
  afterAll(async () => {
    await s.expectIndexMatchesTags();
    await s.cleanup();
  });

  it('stores control-matrix/ruleset.yaml as the network ruleset', async () => {
    const ruleset = await (await s.call('GET', '/v1/rulesets/network')).json();
    expect(ruleset).toMatchObject({ name: 'ruleset', kind: 'ruleset', version: 1, createdBy: 'accord-system' });
    expect(ruleset.entry).toEqual(parseYaml(REFERENCE_RULESET, { maxAliases: 0 }));
  });

  it('refuses a new version that drops Idempotency-Key from a write a flow covers (cancelExport compensates requestDataExport)', async () => {
    const doc = parseYaml(fs.readFileSync(path.join(REPO_ROOT, 'contracts/northwind-health/p2p-exchange/2.1.0/openapi.yaml'), 'utf8'), { maxAliases: 0 }) as any;
    doc.info.version = '2.2.0';
    delete doc.paths['/export-status/{jobId}'].delete.parameters;
    const res = await s.call('POST', '/v1/contracts/northwind-health/p2p-exchange/versions', { body: JSON.stringify(doc, null, 2), type: 'application/json' });
    expect(res.status).toBe(422);
    expect((await res.json()).errors).toEqual([expect.objectContaining({ rule: 'idempotency-key-on-covered-writes', location: '/paths/~1export-status~1{jobId}/delete', message: expect.stringContaining('cancelExport') })]);
  });

  it('the gate’s lint rule is met for the newest seeded versions and for older ones (errors as warnings)', async () => {
    for (const [partner, version, older] of [['northwind-health', '2.1.0', false], ['bluestem-mutual', '1.2.0', false], ['northwind-health', '2.0.0', true]] as const) {
      const res = await s.call('POST', '/v1/gate/check', { body: JSON.stringify({ partner, api: 'p2p-exchange', version, environment: 'staging' }), type: 'application/json' });
      const decision = await res.json();
      expect(decision.reasons.find((r: { rule: string }) => r.rule === 'lint'), `${partner}@${version}`).toMatchObject({ status: 'met', message: expect.stringContaining('network ruleset v1') });
      expect(decision.inputs ?? (await (await s.call('GET', `/v1/gate/decisions/${decision.decisionId}`)).json()).inputs).toMatchObject({ lint: { errors: 0, olderVersion: older } });
    }
  });
});

describe('accord lint', () => {
  let dir: string;
  beforeAll(() => {
    // A registry-layout folder: control-matrix/ with the reference ruleset and a flow covering addMember.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-lint-'));
    fs.mkdirSync(path.join(dir, 'control-matrix'));
    fs.writeFileSync(path.join(dir, 'control-matrix/ruleset.yaml'), REFERENCE_RULESET);
    const flow = fs.readFileSync(path.join(REPO_ROOT, 'control-matrix/finalisation.yaml'), 'utf8').replace("partner: '*'", 'partner: acme').replace('api: p2p-exchange', 'api: member-api').replace('operationId: finalizeExchange', 'operationId: addMember');
    fs.writeFileSync(path.join(dir, 'control-matrix/add-member.yaml'), flow);
    for (const version of ['1.0.0', '1.1.0']) {
      fs.mkdirSync(path.join(dir, `contracts/acme/member-api/${version}`), { recursive: true });
      const text = styledSpec(version).replace('paths:\n', `paths:\n  /members:\n    post:\n      operationId: addMember\n      summary: Add a member\n      tags: [members]\n      responses:\n        '201':\n          description: Added\n`);
      fs.writeFileSync(path.join(dir, `contracts/acme/member-api/${version}/openapi.yaml`), text);
    }
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const file = (version: string) => path.join(dir, `contracts/acme/member-api/${version}/openapi.yaml`);

  it('exits 1 with file:line:column severity rule message for errors, using the layout’s ruleset and flows', async () => {
    const run = await runCli(['lint', file('1.1.0')]);
    expect(run.code).toBe(1);
    const { line, column } = afterKey(fs.readFileSync(file('1.1.0'), 'utf8'), '    post:');
    expect(run.stdout).toContain(`${file('1.1.0')}:${line}:${column} error idempotency-key-on-covered-writes Operation "addMember" is covered by a control-matrix flow`);
    expect(run.stdout).toMatch(/1 file linted with .*ruleset\.yaml: 1 errors, 0 warnings, 0 notes\.\n$/);
  });

  it('reports an older version’s errors as warnings (exit 0) unless --strict', async () => {
    const run = await runCli(['lint', file('1.0.0')]);
    expect(run).toMatchObject({ code: 0, stderr: expect.stringContaining('older than acme/member-api@1.1.0') });
    expect(run.stdout).toContain('warning idempotency-key-on-covered-writes');
    expect((await runCli(['lint', '--strict', file('1.0.0')])).code).toBe(1);
  });

  it('writes SARIF 2.1.0 and JSON', async () => {
    const sarif = await runCli(['lint', '--format', 'sarif', file('1.1.0')]);
    expect(sarif.code).toBe(1);
    const log = JSON.parse(sarif.stdout);
    expect(log).toMatchObject({ version: '2.1.0', $schema: expect.stringContaining('sarif-2.1.0') });
    const run = log.runs[0];
    expect(run.tool.driver).toMatchObject({ name: 'accord-lint', rules: [{ id: 'idempotency-key-on-covered-writes', shortDescription: { text: expect.stringContaining('Idempotency-Key') } }] });
    expect(run.artifacts).toEqual([{ location: { uri: file('1.1.0') } }]);
    expect(run.results).toEqual([
      {
        ruleId: 'idempotency-key-on-covered-writes',
        ruleIndex: 0,
        level: 'error',
        message: { text: expect.stringContaining('addMember') },
        locations: [
          {
            physicalLocation: { artifactLocation: { uri: file('1.1.0'), index: 0 }, region: { startLine: expect.any(Number), startColumn: 10, endLine: expect.any(Number), endColumn: expect.any(Number) } },
            logicalLocations: [{ fullyQualifiedName: '/paths/~1members/post', kind: 'member' }],
          },
        ],
      },
    ]);
    const json = JSON.parse((await runCli(['lint', '--format', 'json', '--ruleset', path.join(dir, 'control-matrix/ruleset.yaml'), file('1.1.0')])).stdout);
    expect(json).toMatchObject({ valid: false, errors: 1, files: [{ file: file('1.1.0'), contract: 'acme/member-api@1.1.0', olderVersion: false, findings: [expect.objectContaining({ rule: 'idempotency-key-on-covered-writes' })] }] });
  });

  it('outside a registry layout uses spectral:oas', async () => {
    const loose = path.join(dir, '..', `${path.basename(dir)}-loose.yaml`);
    fs.writeFileSync(loose, styledSpec().replace('  /members/{memberId}:', '  /members/{memberId}/:'));
    try {
      const run = await runCli(['lint', loose]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('warning path-keys-no-trailing-slash');
      expect(run.stdout).toContain('linted with spectral:oas');
    } finally {
      fs.rmSync(loose);
    }
  });

  it('exits 3 when it cannot run: unreadable file, unusable ruleset, bad usage', async () => {
    const missing = await runCli(['lint', path.join(dir, 'nope.yaml')]);
    expect(missing).toMatchObject({ code: 3, stderr: expect.stringContaining('Cannot read') });
    const badRuleset = path.join(dir, 'bad-ruleset.yaml');
    fs.writeFileSync(badRuleset, 'extends: https://rules.example/r.yaml\n');
    const bad = await runCli(['lint', '--ruleset', badRuleset, file('1.1.0')]);
    expect(bad).toMatchObject({ code: 3, stderr: expect.stringContaining('[ruleset/extends]') });
    expect((await runCli(['lint', '--format', 'xml', file('1.1.0')])).code).toBe(3);
  });

  it('accord matrix validate checks ruleset.yaml with the same loader', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-lint-matrix-'));
    try {
      fs.mkdirSync(path.join(folder, 'control-matrix'));
      fs.writeFileSync(path.join(folder, 'control-matrix/ruleset.yaml'), 'rules:\n  r:\n    given: $\n    then: {function: nope}\n');
      const run = await runCli(['matrix', 'validate', path.join(folder, 'control-matrix'), '--no-contracts']);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('/rules/r/then/function [ruleset/function]');
      fs.writeFileSync(path.join(folder, 'control-matrix/ruleset.yaml'), REFERENCE_RULESET);
      expect((await runCli(['matrix', 'validate', path.join(folder, 'control-matrix'), '--no-contracts'])).code).toBe(0);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});
