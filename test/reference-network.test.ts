import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateOpenApi, type OpenApiDocument } from '../src/contracts/document.ts';
import { findContractFiles } from '../src/contracts/files.ts';
import { ContractSchemas } from '../src/contracts/schema.ts';
import { escapeSegment as pointerSegment } from '../src/lib/json.ts';
import { parseYaml } from '../src/lib/yaml.ts';
import { changedOperations } from '../src/changes/changes.ts';
import { diffContracts } from '../src/diff/contract-diff.ts';
import { coveredOperationIds } from '../src/lint/coverage.ts';
import { lintDocument } from '../src/lint/linter.ts';
import { compiledRuleset } from '../src/lint/ruleset.ts';
import type { FlowEntry } from '../src/matrix/checks.ts';
import { findMatrixFiles } from '../src/matrix/files.ts';
import { REPO_ROOT, startTestService, type TestService } from './harness.ts';

const files = await findContractFiles(REPO_ROOT);
const docs = new Map<string, OpenApiDocument>();
for (const f of files) docs.set(`${f.partner}/${f.api}@${f.version}`, parseYaml(fs.readFileSync(f.file, 'utf8'), { maxAliases: 0 }) as OpenApiDocument);

type Operation = { method: string; path: string; op: Record<string, any> };
function operations(doc: OpenApiDocument): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) if (item[method]) out.push({ method, path, op: item[method] });
  }
  return out;
}

describe('reference network', () => {
  it('has at least two partners with at least two versions each, in OpenAPI 3.0 and 3.1', () => {
    const partners = new Map<string, string[]>();
    for (const f of files) partners.set(f.partner, [...(partners.get(f.partner) ?? []), f.version]);
    expect(partners.size).toBeGreaterThanOrEqual(2);
    for (const versions of partners.values()) expect(versions.length).toBeGreaterThanOrEqual(2);
    const dialects = new Set([...docs.values()].map((d) => d.openapi.slice(0, 3)));
    expect(dialects).toEqual(new Set(['3.0', '3.1']));
  });

  it.each([...docs.keys()])('%s is valid OpenAPI and covers the payer-to-payer flow', async (key) => {
    const doc = docs.get(key)!;
    await expect(validateOpenApi(structuredClone(doc))).resolves.toBeTruthy();
    const ids = operations(doc).map((o) => o.op.operationId);
    for (const id of ['memberMatch', 'captureConsent', 'requestDataExport', 'getExportStatus', 'cancelExport', 'acknowledgeReceipt', 'finalizeExchange']) {
      expect(ids).toContain(id);
    }
    expect(Object.keys(doc.paths as object)).toContain('/Patient/$member-match');
  });

  it.each([...docs.keys()])('every request body in %s carries an example valid against its schema', (key) => {
    const doc = docs.get(key)!;
    const schemas = new ContractSchemas(doc);
    let checked = 0;
    for (const { method, path, op } of operations(doc)) {
      if (!op.requestBody) continue;
      for (const [media, content] of Object.entries(op.requestBody.content as Record<string, any>)) {
        expect(content.example, `${method.toUpperCase()} ${path} ${media} has no example`).toBeDefined();
        const pointer = `/paths/${pointerSegment(path)}/${method}/requestBody/content/${pointerSegment(media)}/schema`;
        const validate = schemas.validator(pointer);
        expect(validate(content.example), `${method.toUpperCase()} ${path}: ${JSON.stringify(validate.errors)}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(5);
  });

  it('the example validators really reject bad bodies (3.0 nullable honoured)', () => {
    const doc = docs.get('bluestem-mutual/p2p-exchange@1.0.0')!;
    const schemas = new ContractSchemas(doc);
    const consent = schemas.validator('/components/schemas/Consent');
    const example = (doc.paths as any)['/Consent'].post.requestBody.content['application/fhir+json'].example;
    expect(consent(example)).toBe(true);
    expect(consent({ ...example, status: 'maybe' })).toBe(false);
    const period = schemas.validator('/components/schemas/Period');
    expect(period({ start: '2026-01-01', end: null })).toBe(true);
    expect(period({ start: 'not a date' })).toBe(false);
  });

  it('later versions carry a non-breaking addition, a breaking change and a deprecation with a sunset', () => {
    const opsOf = (key: string) => new Set(operations(docs.get(key)!).map((o) => `${o.method} ${o.path}`));
    const nw10 = opsOf('northwind-health/p2p-exchange@1.0.0');
    const nw11 = opsOf('northwind-health/p2p-exchange@1.1.0');
    const nw20 = opsOf('northwind-health/p2p-exchange@2.0.0');
    // 1.1.0 only adds
    for (const op of nw10) expect(nw11).toContain(op);
    expect(nw11.size).toBeGreaterThan(nw10.size);
    // 2.0.0 removes an operation and makes a request property required
    expect([...nw11].some((op) => !nw20.has(op))).toBe(true);
    const ack = (key: string) => ((docs.get(key)!.components as any).schemas.Acknowledgement.required as string[]);
    expect(ack('northwind-health/p2p-exchange@1.1.0')).not.toContain('exchangeId');
    expect(ack('northwind-health/p2p-exchange@2.0.0')).toContain('exchangeId');
    // bluestem 1.1.0 deprecates an operation with a sunset date and adds its successor
    const deprecated = operations(docs.get('bluestem-mutual/p2p-exchange@1.1.0')!).filter((o) => o.op.deprecated === true);
    expect(deprecated).toHaveLength(1);
    expect(deprecated[0]!.op['x-sunset']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});

const matrixFiles = await findMatrixFiles(REPO_ROOT);

describe('reference network under its own rules', () => {
  const flows = matrixFiles.filter((f) => f.kind === 'flow').map((f) => parseYaml(fs.readFileSync(f.file, 'utf8'), { maxAliases: 0 }) as FlowEntry);
  const rulesetFile = matrixFiles.find((f) => f.kind === 'ruleset')!.file;
  const ruleset = compiledRuleset('reference-ruleset-test', 'control-matrix/ruleset.yaml', () => parseYaml(fs.readFileSync(rulesetFile, 'utf8'), { maxAliases: 0 }));
  const byApi = new Map<string, typeof files>();
  for (const f of files) byApi.set(`${f.partner}/${f.api}`, [...(byApi.get(`${f.partner}/${f.api}`) ?? []), f]);
  const lintOf = (f: (typeof files)[number]) =>
    lintDocument({ text: fs.readFileSync(f.file, 'utf8'), format: 'yaml', source: f.file, ruleset, coveredOperationIds: coveredOperationIds(flows, f.partner, f.api, f.version) });

  it('control-matrix/ruleset.yaml is the ruleset, not a flow', () => {
    expect(matrixFiles.map((f) => `${f.kind}:${f.name}`).filter((k) => !k.startsWith('flow:'))).toEqual(['policy:policy', 'ruleset:ruleset']);
  });

  it.each([...byApi.keys()])('the newest version of %s passes the reference ruleset with 0 errors', async (key) => {
    const newest = byApi.get(key)!.at(-1)!;
    const findings = await lintOf(newest);
    expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
  });

  it('the seeded versions before them break it (no security declared, cancelExport without Idempotency-Key): why they are reported as warnings', async () => {
    const older = files.find((f) => f.partner === 'northwind-health' && f.version === '2.0.0')!;
    const rules = new Set((await lintOf(older)).filter((f) => f.severity === 'error').map((f) => f.rule));
    expect(rules).toEqual(new Set(['security-schemes-declared', 'security-applied', 'idempotency-key-on-covered-writes']));
  });

  it('every operation a seeded version changes is covered by a control-matrix flow that governs it', () => {
    const uncovered: string[] = [];
    for (const versions of byApi.values()) {
      for (let i = 1; i < versions.length; i++) {
        const [base, revision] = [versions[i - 1]!, versions[i]!];
        const changes = diffContracts(docs.get(`${base.partner}/${base.api}@${base.version}`)!, docs.get(`${revision.partner}/${revision.api}@${revision.version}`)!).changes;
        const covered = coveredOperationIds(flows, revision.partner, revision.api, revision.version);
        for (const op of changedOperations(changes)) if (!covered.has(op)) uncovered.push(`${revision.partner}/${revision.api}@${revision.version} ${op}`);
      }
    }
    expect(uncovered).toEqual([]);
  });
});

describe('importing the reference network', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ seed: true });
  });
  afterAll(async () => {
    await s.expectIndexMatchesTags();
    await s.cleanup();
  });

  it('seeds an empty registry at start-up, released, one commit and tag per version', async () => {
    const list = await (await s.call('GET', '/v1/contracts')).json();
    expect(list).toEqual([
      { partner: 'bluestem-mutual', api: 'p2p-exchange', latestVersion: '1.2.0', versionCount: 3 },
      { partner: 'northwind-health', api: 'p2p-exchange', latestVersion: '2.1.0', versionCount: 4 },
    ]);
    const versions = await (await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/versions')).json();
    expect(versions.every((v: { state: string }) => v.state === 'released')).toBe(true);
    expect(s.git('tag', '--list', '*/p2p-exchange/*').split('\n').filter(Boolean)).toHaveLength(files.length);
  });

  it('importing again changes nothing, and a restart does not re-seed', async () => {
    const head = s.git('rev-parse', 'HEAD');
    const { importContracts } = await import('../src/contracts/import.ts');
    const { SYSTEM } = await import('../src/auth/principal.ts');
    const results = await importContracts(s.deps, SYSTEM, REPO_ROOT);
    expect(results.map((r) => r.created)).toEqual(files.map(() => false));
    expect(s.git('rev-parse', 'HEAD')).toBe(head);
    await s.close();
    s = await startTestService({ seed: true, dir: s.dir });
    expect(s.git('rev-parse', 'HEAD')).toBe(head);
  });
});
