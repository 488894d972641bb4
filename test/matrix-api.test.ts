import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseYaml } from '../src/lib/yaml.ts';
import { REPO_ROOT, startTestService, type TestService } from './harness.ts';
import { putApprovedMatrixEntry } from './matrix-helpers.ts';

const read = (file: string) => fs.readFileSync(path.join(REPO_ROOT, 'control-matrix', file), 'utf8');

describe('control matrix over HTTP', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ seed: true });
  });
  afterAll(async () => {
    await s.expectIndexMatchesTags();
    await s.cleanup();
  });

  const matrixTags = () => s.git('tag', '--list', 'control-matrix/*').split('\n').filter(Boolean);

  it('seeds the reference matrix, policy and ruleset, one commit and tag each', async () => {
    expect(matrixTags().sort()).toEqual(
      ['acknowledgement', 'consent-capture', 'consent-verification', 'finalisation', 'finalisation-by-id', 'member-match', 'payer-data-export', 'policy', 'ruleset'].map((n) => `control-matrix/${n}/v1`).sort(),
    );
    const entry = await (await s.call('GET', '/v1/control-matrix/member-match')).json();
    expect(entry).toMatchObject({ name: 'member-match', kind: 'flow', version: 1, createdBy: 'accord-system', status: 'approved', baseVersion: null });
    expect(entry.entry).toEqual(parseYaml(read('member-match.yaml'), { maxAliases: 0 }));
    const policy = await (await s.call('GET', '/v1/policy')).json();
    expect(policy.entry.approvals).toEqual({ breaking: 2, 'non-breaking': 1 });
    expect(policy.entry.deprecation.minimumNoticeDays).toBe(90);
  });

  it('PUT: 200 when unchanged, 201 with a new proposed version when changed, history kept; approved, it governs', async () => {
    const author = await s.token('author');
    const same = await s.call('PUT', '/v1/control-matrix/member-match', { body: read('member-match.yaml'), type: 'application/yaml', token: author });
    expect(same.status).toBe(200);
    expect(await same.json()).toMatchObject({ version: 1, status: 'approved' });
    const changed = read('member-match.yaml').replace('dedupeWindow: P1D', 'dedupeWindow: P2D');
    const res = await s.call('PUT', '/v1/control-matrix/member-match', { body: changed, type: 'application/yaml', token: author });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toMatch(/\/v1\/control-matrix\/member-match\/proposals\/2$/);
    expect(res.headers.get('etag')).toBe('"v1"');
    const created = await res.json();
    expect(created).toMatchObject({ name: 'member-match', version: 2, status: 'proposed', baseVersion: 1, createdBy: expect.stringMatching(/^author-/), breaking: false, approvals: { counted: 0, required: 1 } });
    expect(created.diff.summary).toMatchObject({ breaking: 0, info: 1 });
    expect(s.git('show', `control-matrix/member-match/v2:control-matrix/member-match.yaml`)).toContain('dedupeWindow: P2D');
    expect(s.git('show', `control-matrix/member-match/v1:control-matrix/member-match.yaml`)).toContain('dedupeWindow: P1D');
    expect(s.git('log', '-1', '--format=%an|%s', created.commit).trim()).toBe(`${created.createdBy}|Propose control-matrix entry member-match (version 2)`);
    // Proposed, it governs nothing: the entry read is still version 1.
    expect((await (await s.call('GET', '/v1/control-matrix/member-match')).json()).version).toBe(1);
    const versions = await (await s.call('GET', '/v1/control-matrix/member-match/versions')).json();
    expect(versions.map((v: { version: number; status: string }) => `${v.version} ${v.status}`)).toEqual(['1 approved', '2 proposed']);
    const v1 = await (await s.call('GET', '/v1/control-matrix/member-match?version=1')).json();
    expect(v1.entry.idempotency.dedupeWindow).toBe('P1D');
    const json = await s.call('PUT', '/v1/control-matrix/member-match', { body: JSON.stringify(parseYaml(changed, { maxAliases: 0 })), type: 'application/json', token: author });
    expect(json.status).toBe(200);
    expect(await json.json()).toMatchObject({ version: 2, status: 'proposed' });
    await putApprovedMatrixEntry(s, 'member-match', changed, { token: author });
    const entry = await s.call('GET', '/v1/control-matrix/member-match');
    expect(entry.headers.get('etag')).toBe('"v2"');
    expect(await entry.json()).toMatchObject({ version: 2, status: 'approved', entry: { idempotency: { dedupeWindow: 'P2D' } } });
  });

  it('refuses bad YAML, unknown fields, wrong types and failed cross-checks with 422 and stores nothing', async () => {
    const head = s.git('rev-parse', 'HEAD');
    const tags = matrixTags();
    const attempts: Array<[string, string, string]> = [
      ['bad YAML', 'flow: [unclosed\n', 'line 2'],
      ['unknown field', read('consent-capture.yaml').replace('title: Consent capture', 'title: Consent capture\ncolour: blue'), ''],
      ['wrong type', read('consent-capture.yaml').replace('maxAttempts: 3', 'maxAttempts: lots'), '/steps/0/retry/maxAttempts'],
      ['operation missing', read('consent-capture.yaml').replace('operationId: captureConsent', 'operationId: captureConsentV2'), '/steps/0/operationId'],
    ];
    for (const [what, body, location] of attempts) {
      const res = await s.call('PUT', '/v1/control-matrix/consent-capture', { body, type: 'application/yaml' });
      expect(res.status, what).toBe(422);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      const problem = await res.json();
      expect(problem.errors.length, what).toBeGreaterThan(0);
      expect(problem.errors.map((e: { location: string }) => e.location).join(' '), what).toContain(location);
    }
    const wrongName = await s.call('PUT', '/v1/control-matrix/other-name', { body: read('consent-capture.yaml'), type: 'application/yaml' });
    expect(wrongName.status).toBe(422);
    expect((await wrongName.json()).errors[0]).toMatchObject({ rule: 'matrix/flow-name', location: '/flow' });
    expect((await s.call('PUT', '/v1/control-matrix/Bad_Name', { body: read('consent-capture.yaml'), type: 'application/yaml' })).status).toBe(400);
    expect((await s.call('PUT', '/v1/control-matrix/policy', { body: read('policy.yaml'), type: 'application/yaml' })).status).toBe(400);
    expect(s.git('rev-parse', 'HEAD')).toBe(head);
    expect(matrixTags()).toEqual(tags);
    expect((await s.call('GET', '/v1/control-matrix/other-name')).status).toBe(404);
  });

  it('validate is a dry run: findings with rule ids, nothing stored', async () => {
    const head = s.git('rev-parse', 'HEAD');
    const ci = await s.token('ci');
    const ok = await s.call('POST', '/v1/control-matrix/validate', { body: read('finalisation.yaml'), type: 'application/yaml', token: ci });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ valid: true, errors: [] });
    const broken = read('finalisation.yaml').replace('dedupeWindow: P1D', 'dedupeWindow: PT5S');
    const bad = await s.call('POST', '/v1/control-matrix/validate?flow=finalisation', { body: broken, type: 'application/yaml', token: ci });
    expect(bad.status).toBe(422);
    const problem = await bad.json();
    expect(problem.valid).toBe(false);
    expect(problem.errors).toEqual([{ rule: 'matrix/dedupe-window', location: '/idempotency/dedupeWindow', message: expect.stringContaining('finalise') }]);
    expect(s.git('rev-parse', 'HEAD')).toBe(head);
  });

  it('renders the whole matrix as JSON, CSV and a Markdown table a board can read', async () => {
    const rows = await (await s.call('GET', '/v1/control-matrix')).json();
    expect(rows.map((r: { flow: string }) => r.flow)).toEqual(['acknowledgement', 'consent-capture', 'consent-verification', 'finalisation', 'finalisation-by-id', 'member-match', 'payer-data-export']);
    const consent = rows.find((r: { flow: string }) => r.flow === 'consent-capture');
    expect(consent).toMatchObject({
      owner: 'privacy-operations <privacy-ops@accord-network.example>',
      compensations: 'capture-consent → revokeConsent',
      sla: expect.stringContaining('acknowledge p95 ≤ 5 s'),
      escalation: expect.stringContaining('after 15 min: privacy-operations on-call (pager)'),
      idempotency: expect.stringContaining('key: Idempotency-Key header'),
    });

    const csv = await s.call('GET', '/v1/control-matrix?format=csv');
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('flow,title,version,owner,contract,idempotency,steps,compensations,sla,interventions,escalation');
    expect(lines).toHaveLength(8);

    const md = await s.call('GET', '/v1/control-matrix?format=md');
    expect(md.headers.get('content-type')).toContain('text/markdown');
    const text = await md.text();
    expect(text).toMatchSnapshot();
    expect((await s.call('GET', '/v1/control-matrix?format=xml')).status).toBe(400);
  });

  it('a policy may leave out the deprecation notice: it defaults to 90 days', async () => {
    const minimal = 'approvals: {breaking: 2, non-breaking: 1}\nevidence: {breaking: [contract-test], non-breaking: [contract-test]}\n';
    expect((await s.call('POST', '/v1/control-matrix/validate', { body: minimal, type: 'application/yaml' })).status).toBe(422); // a policy is not a flow
    const { currentPolicy } = await import('../src/matrix/policy.ts');
    const res = await s.call('PUT', '/v1/policy', { body: minimal, type: 'application/yaml' });
    expect(res.status).toBe(201);
    expect((await currentPolicy(s.deps)).deprecation.minimumNoticeDays).toBe(90);
    expect((await s.call('PUT', '/v1/policy', { body: read('policy.yaml'), type: 'application/yaml' })).status).toBe(201);
  });

  it('only admins change the policy; authors change flows; everyone reads', async () => {
    const author = await s.token('author');
    const stricter = read('policy.yaml').replace('breaking: 2', 'breaking: 3');
    expect((await s.call('PUT', '/v1/policy', { body: stricter, type: 'application/yaml', token: author })).status).toBe(403);
    const res = await s.call('PUT', '/v1/policy', { body: stricter, type: 'application/yaml' });
    expect(res.status).toBe(201);
    expect((await res.json()).version).toBe(4);
    const partner = await s.token('partner', 'bluestem-mutual');
    expect((await s.call('GET', '/v1/policy', { token: partner })).status).toBe(200);
    expect((await s.call('GET', '/v1/control-matrix?format=md', { token: partner })).status).toBe(200);
    expect((await s.call('PUT', '/v1/control-matrix/member-match', { body: read('member-match.yaml'), type: 'application/yaml', token: partner })).status).toBe(403);
  });
});
