import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffContracts } from '../../src/diff/contract-diff.ts';
import { diffMatrixEntries } from '../../src/diff/matrix-diff.ts';
import { renderMarkdown, renderText } from '../../src/diff/render.ts';
import { parseYaml } from '../../src/lib/yaml.ts';
import type { FlowEntry } from '../../src/matrix/checks.ts';
import { ADMIN_TOKEN, REPO_ROOT, runCli, startTestService, type TestService } from '../harness.ts';
import { putApprovedMatrixEntry } from '../matrix-helpers.ts';

const contract = (partner: string, version: string) => path.join(REPO_ROOT, 'contracts', partner, 'p2p-exchange', version, 'openapi.yaml');
const load = (file: string) => parseYaml(fs.readFileSync(file, 'utf8'), { maxAliases: 100 }) as Record<string, any>;
const CORPUS = path.resolve(REPO_ROOT, '../shared/corpus/diff/data');

describe('diff outputs', () => {
  const result = diffContracts(load(contract('northwind-health', '1.1.0')), load(contract('northwind-health', '2.0.0')), { now: new Date('2026-11-27') });

  it('finds the reference network 2.0.0 breaking changes', () => {
    expect(result.bump).toBe('major');
    expect(result.changes.filter((c) => c.level === 'breaking').map((c) => c.rule).sort()).toEqual(['api-path-removed-without-deprecation', 'request-property-became-required']);
  });

  it('renders a Markdown changelog grouped by operation, breaking first', () => {
    expect(renderMarkdown(result, 'northwind-health/p2p-exchange 1.1.0 → 2.0.0')).toMatchSnapshot();
  });

  it('renders text with a one-line verdict first, then each operation once', () => {
    const text = renderText(result);
    const lines = text.split('\n');
    expect(lines[0]).toBe('2 breaking, 0 warnings, 1 info — requires a major version');
    const at = lines.findIndex((l) => /^POST \/acknowledgements( — .+)?$/.test(l));
    expect(at).toBeGreaterThan(0);
    expect(lines[at + 1]).toMatch(/^ {2}BREAKING {2}request body application\/json: property Acknowledgement\.exchangeId became required {2}\[request-property-became-required\] /);
    expect(lines[at + 2]).toMatch(/^ {12}Clients .+\.$/);
    expect(lines.filter((l) => l.includes('POST /acknowledgements'))).toHaveLength(1);
  });

  it('lists a change to a shared schema once, with the operations it affects', () => {
    const base = load(contract('northwind-health', '1.0.0'));
    const rev = structuredClone(base);
    rev.components.schemas.Identifier.required = ['system', 'value', 'assigner'];
    rev.components.schemas.Identifier.properties.assigner = { type: 'string' };
    const md = renderMarkdown(diffContracts(base, rev));
    const lines = md.split('\n');
    expect(lines).toContain('### Shared schema `Identifier` — used by several operations');
    // The finding once, with what it means, and once the operations it reaches.
    expect(lines.filter((l) => l.includes('Clients that do not send `Identifier.assigner` will be refused.'))).toHaveLength(1);
    const affects = lines.filter((l) => l.includes('Identifier.assigner') && l.includes('request body') && l.includes('Affects'));
    expect(affects).toHaveLength(1);
    expect(affects[0]).toMatch(/`POST \/Patient\/\$member-match`/);
    expect(affects[0]).toMatch(/`POST \/Consent`/);
  });
});

describe('control-matrix diff', () => {
  const entry = () => structuredClone(parseYaml(fs.readFileSync(path.join(REPO_ROOT, 'control-matrix/payer-data-export.yaml'), 'utf8'), { maxAliases: 0 })) as FlowEntry & Record<string, any>;
  const rules = (mutate: (e: any) => void, keyed?: (op: string) => boolean) => {
    const after = entry();
    mutate(after);
    return diffMatrixEntries(entry(), after, keyed ? { keyed } : {}).changes.map((c) => `${c.rule}:${c.level}`);
  };

  it.each([
    ['dedupe window shortened', (e: any) => (e.idempotency.dedupeWindow = 'PT1H'), 'matrix-dedupe-window-shortened:breaking'],
    ['replay policy changed', (e: any) => (e.idempotency.replayPolicy = 'reject'), 'matrix-replay-policy-changed:breaking'],
    ['compensation removed', (e: any) => (e.steps[1].compensation = { strategy: 'none', justification: 'we accept the risk of orphans' }), 'matrix-compensation-removed:breaking'],
    ['compensation weakened', (e: any) => (e.steps[2].compensation = { strategy: 'mark-inactive' }), 'matrix-compensation-weakened:breaking'],
    ['SLA loosened', (e: any) => (e.sla.timeToFinalize.target = 'PT6H'), 'matrix-sla-loosened:breaking'],
    ['escalation removed', (e: any) => e.escalation.pop(), 'matrix-escalation-removed:breaking'],
    ['owner changed', (e: any) => (e.owner.team = 'someone-else'), 'matrix-owner-changed:warning'],
    ['SLA tightened', (e: any) => (e.sla.timeToFinalize.target = 'PT1H'), 'matrix-sla-tightened:info'],
  ])('%s', (_, mutate, expected) => {
    expect(rules(mutate)).toEqual([expected]);
  });

  it('retries added to a step are breaking when its operation is not keyed, info when it is', () => {
    const base = entry();
    base.steps[5]!.retry.maxAttempts = 1;
    const after = entry();
    expect(diffMatrixEntries(base, after, { keyed: () => false }).changes[0]).toMatchObject({ rule: 'matrix-retries-added', level: 'breaking' });
    expect(diffMatrixEntries(base, after, { keyed: () => true }).changes[0]).toMatchObject({ rule: 'matrix-retries-added', level: 'info' });
    expect(diffMatrixEntries(base, after).changes[0]).toMatchObject({ rule: 'matrix-retries-added', level: 'warning' });
  });
});

describe('diff over HTTP, on registration and in the CLI', () => {
  let s: TestService;
  let url: string;
  beforeAll(async () => {
    s = await startTestService({ seed: true });
    url = await s.listen();
  });
  afterAll(async () => {
    await s.expectIndexMatchesTags();
    await s.cleanup();
  });

  it('GET /v1/contracts/{p}/{a}/diff classifies two registered versions (JSON, Markdown)', async () => {
    const res = await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/diff?from=1.1.0&to=2.0.0');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ partner: 'northwind-health', from: '1.1.0', to: '2.0.0', bump: 'major', summary: { breaking: 2 } });
    // openapi-diff cannot read OpenAPI 3.1 (northwind's contracts): skipped, not failed.
    expect(body.openapiDiff).toEqual({ status: 'skipped', reason: 'openapi-3.1' });
    expect(body.changes.every((c: { consequence?: unknown }) => typeof c.consequence === 'string')).toBe(true);
    const md = await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/diff?from=1.1.0&to=2.0.0&format=markdown');
    expect(md.headers.get('content-type')).toContain('text/markdown');
    const markdown = await md.text();
    expect(markdown).toMatch(/^### `POST \/finalizations`/m);
    expect(markdown).toContain('- **Breaking** — ');
    expect((await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/diff?from=1.1.0')).status).toBe(400);
    expect((await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/diff?from=1.1.0&to=9.9.9')).status).toBe(404);
    expect((await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/diff?from=1.1.0&to=2.0.0&format=toString')).status).toBe(400);
  });

  it('POST /v1/diff diffs two posted documents statelessly and refuses external refs', async () => {
    const base = load(path.join(CORPUS, 'checker/request_parameter_min_increased_base.yaml'));
    const revision = load(path.join(CORPUS, 'checker/request_parameter_min_increased_revision.yaml'));
    const res = await s.call('POST', '/v1/diff', { body: JSON.stringify({ base, revision }), type: 'application/json', token: await s.token('partner', 'bluestem-mutual') });
    expect(res.status).toBe(200);
    expect((await res.json()).changes.map((c: { rule: string }) => c.rule)).toContain('request-parameter-min-increased');
    const external = structuredClone(revision);
    external.paths[Object.keys(external.paths)[0]!].post = { $ref: 'https://example.invalid/op.json' };
    const refused = await s.call('POST', '/v1/diff', { body: JSON.stringify({ base, revision: external }), type: 'application/json' });
    expect(refused.status).toBe(422);
    expect((await s.call('POST', '/v1/diff', { body: JSON.stringify({ base }), type: 'application/json' })).status).toBe(422);
  });

  it('registration returns the diff against the previous version and refuses a breaking change without a major bump', async () => {
    const v21 = fs.readFileSync(contract('northwind-health', '2.1.0'), 'utf8');
    const head = s.git('rev-parse', 'HEAD');
    const author = await s.token('author');
    const refused = await s.call('POST', '/v1/contracts/bluestem-mutual/p2p-exchange/versions?version=1.3.0', { body: v21, type: 'application/yaml', token: author });
    expect(refused.status).toBe(409);
    const problem = await refused.json();
    expect(problem.detail).toContain('not a major version bump');
    expect(problem.errors.map((e: { rule: string }) => e.rule)).toContain('api-path-removed-before-sunset');
    expect(problem.diff).toMatchObject({ against: '1.2.0', bump: 'major' });
    expect(s.git('rev-parse', 'HEAD')).toBe(head);

    expect((await s.call('POST', '/v1/contracts/bluestem-mutual/p2p-exchange/versions?version=1.3.0&allowBreaking=true', { body: v21, type: 'application/yaml', token: author })).status).toBe(403);
    const forced = await s.call('POST', '/v1/contracts/bluestem-mutual/p2p-exchange/versions?version=1.3.0&allowBreaking=true', { body: v21, type: 'application/yaml' });
    expect(forced.status).toBe(201);
    expect((await forced.json()).diff.summary.breaking).toBeGreaterThan(0);

    const major = await s.call('POST', '/v1/contracts/bluestem-mutual/p2p-exchange/versions?version=2.0.0', { body: v21, type: 'application/yaml', token: author });
    expect(major.status).toBe(201);
    expect((await major.json()).diff).toMatchObject({ against: '1.3.0', bump: 'none', summary: { total: 0 } });
  });

  it('judges a release against the previous release, not its own pre-release', async () => {
    const v21 = load(contract('northwind-health', '2.1.0'));
    const rc = structuredClone(v21);
    rc.paths['/acknowledgements'].post.parameters.push({ name: 'dryRun', in: 'query', required: false, schema: { type: 'boolean' } });
    const post = (version: string, doc: unknown) => s.call('POST', `/v1/contracts/northwind-health/p2p-exchange/versions?version=${version}`, { body: JSON.stringify(doc), type: 'application/json' });
    expect((await post('3.0.0-rc.1', rc)).status).toBe(201);
    const release = await post('3.0.0', v21);
    expect(release.status).toBe(201);
    expect((await release.json()).diff.against).toBe('2.1.0');
  });

  it('retries added to a step are checked against the contract when matrix versions are diffed', async () => {
    const file = fs.readFileSync(path.join(REPO_ROOT, 'control-matrix/acknowledgement.yaml'), 'utf8');
    const once = file.replace('maxAttempts: 3', 'maxAttempts: 1');
    // Version 2 (no retries) approved; then version 3 proposes the retries back.
    expect((await putApprovedMatrixEntry(s, 'acknowledgement', once)).version).toBe(2);
    expect((await s.call('PUT', '/v1/control-matrix/acknowledgement', { body: file, type: 'application/yaml' })).status).toBe(201);
    const diff = await (await s.call('GET', '/v1/control-matrix/acknowledgement/diff?from=2&to=3')).json();
    expect(diff.changes).toEqual([expect.objectContaining({ rule: 'matrix-retries-added', level: 'info' })]);
    const proposal = await (await s.call('GET', '/v1/control-matrix/acknowledgement/proposals/3')).json();
    expect(proposal.diff.changes).toEqual(diff.changes);
  });

  it('GET /v1/control-matrix/{flow}/diff classifies two versions of an entry', async () => {
    const changed = fs.readFileSync(path.join(REPO_ROOT, 'control-matrix/finalisation.yaml'), 'utf8').replace('dedupeWindow: P1D', 'dedupeWindow: PT12H');
    expect((await s.call('PUT', '/v1/control-matrix/finalisation', { body: changed, type: 'application/yaml' })).status).toBe(201);
    const res = await s.call('GET', '/v1/control-matrix/finalisation/diff?from=1&to=2');
    expect(res.status).toBe(200);
    expect((await res.json()).changes).toEqual([expect.objectContaining({ rule: 'matrix-dedupe-window-shortened', level: 'breaking', location: '/idempotency/dedupeWindow' })]);
  });

  const accord = (args: string[]) => runCli(args, { ACCORD_URL: url, ACCORD_TOKEN: ADMIN_TOKEN });

  it('accord diff: exit 1 on breaking, 0 below the threshold, 3 on errors; files or registry refs', async () => {
    const breaking = await accord(['diff', contract('northwind-health', '1.1.0'), contract('northwind-health', '2.0.0'), '--no-openapi-diff']);
    expect(breaking.code).toBe(1);
    expect(breaking.stdout.split('\n')[0]).toBe('2 breaking, 0 warnings, 1 info — requires a major version');

    const compatible = await accord(['diff', 'northwind-health/p2p-exchange@1.0.0', 'northwind-health/p2p-exchange@1.1.0', '--format', 'json', '--no-openapi-diff']);
    expect(compatible.stderr).toBe('');
    expect(compatible.code).toBe(0);
    expect(JSON.parse(compatible.stdout)).toMatchObject({ bump: 'minor', summary: { breaking: 0 } });

    // A changed request pattern: a warning (oasdiff rates a pattern changed to `.*` as generalised, info).
    const warn = path.join(REPO_ROOT, 'test/fixtures/diff/schema/pattern/property-pattern-changed-up/base.yaml');
    const warnRev = path.join(REPO_ROOT, 'test/fixtures/diff/schema/pattern/property-pattern-changed-up/revision.yaml');
    expect((await accord(['diff', warn, warnRev, '--no-openapi-diff'])).code).toBe(0);
    expect((await accord(['diff', warn, warnRev, '--fail-on', 'warning', '--no-openapi-diff'])).code).toBe(1);

    const md = await accord(['diff', path.join(REPO_ROOT, 'control-matrix/finalisation.yaml'), path.join(REPO_ROOT, 'control-matrix/finalisation.yaml'), '--format', 'markdown']);
    expect(md.code).toBe(0);
    expect(md.stdout).toContain('No changes.');

    expect((await accord(['diff', contract('northwind-health', '1.1.0')])).code).toBe(3);
    expect((await accord(['diff', contract('northwind-health', '1.1.0'), '/nonexistent.yaml'])).code).toBe(3);
    expect((await accord(['diff', 'northwind-health/p2p-exchange@1.0.0', 'northwind-health/p2p-exchange@7.0.0'])).code).toBe(3);
    expect((await accord(['diff', 'a.yaml', 'b.yaml', '--format', 'pdf'])).code).toBe(3);
  });
});
