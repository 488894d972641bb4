import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findVersion } from '../src/contracts/versions.ts';
import { recordAccordEvidence } from '../src/evidence/evidence.ts';
import { evaluateGate, type GateFacts } from '../src/gate/evaluate.ts';
import { REPO_ROOT, startTestService, type TestService } from './harness.ts';

/**
 * Evidence Accord produced itself (certification runs, synthetic checks) against evidence a
 * caller posted: no caller can claim `producedBy: accord`, and the policy's `accordEvidence`
 * makes the gate require Accord's own, per environment.
 */

const TARGET = { partner: 'northwind-health', api: 'p2p-exchange', version: '2.1.0' };
const ONLY_ACCORD = "only Accord's own certification runs and synthetic checks produce accord evidence";
const POLICY = fs.readFileSync(path.join(REPO_ROOT, 'control-matrix/policy.yaml'), 'utf8');

describe('evidence Accord produced', () => {
  let s: TestService;
  let sha256: string;
  let commit: string;
  beforeAll(async () => {
    s = await startTestService({ seed: true, clock: () => new Date(), env: { ACCORD_SAGA_TIME_SCALE: '0.0001' } });
    const row = (await findVersion(s.deps, TARGET.partner, TARGET.api, TARGET.version))!;
    sha256 = row.sha256;
    commit = row.commit;
  });
  afterAll(async () => await s.cleanup());

  const json = (method: string, p: string, body: unknown) => s.call(method, p, { body: JSON.stringify(body), type: 'application/json' });
  const record = (over: Record<string, unknown> = {}) => ({ ...TARGET, environment: 'staging', kind: 'contract-test', result: 'pass', sha256, uri: 'https://ci.example/jobs/1', commit, producedAt: new Date(Date.now() - 60_000).toISOString(), ...over });
  const listed = async () => (await (await s.call('GET', `/v1/evidence?partner=${TARGET.partner}&api=${TARGET.api}&version=${TARGET.version}`)).json()) as Array<{ id: string; producedBy: string; kind: string }>;
  const gate = async (environment: string) => (await (await json('POST', '/v1/gate/check', { ...TARGET, environment })).json()) as { verdict: string; decisionId: string; reasons: Array<{ rule: string; status: string; message: string; howToFix: string }> };
  const accordReasons = async (environment: string) => (await gate(environment)).reasons.filter((r) => r.rule.startsWith('accord-evidence:'));

  it('posted evidence is the caller\'s; a body or query claiming accord evidence is refused and nothing is stored', async () => {
    const posted = await json('POST', '/v1/evidence', record());
    expect(posted.status).toBe(201);
    expect((await posted.json()).producedBy).toBe('caller');
    const explicit = await json('POST', '/v1/evidence', record({ producedBy: 'caller', uri: 'https://ci.example/jobs/2' }));
    expect(explicit.status).toBe(201);
    expect((await explicit.json()).producedBy).toBe('caller');
    const before = (await listed()).length;
    expect(before).toBe(2);

    for (const producedBy of ['accord', null, 7, 'Accord']) {
      const refused = await json('POST', '/v1/evidence', record({ producedBy }));
      expect(refused.status).toBe(422);
      expect((await refused.json()).errors).toEqual([{ location: '/producedBy', message: ONLY_ACCORD }]);
    }
    const query = (over: Record<string, string>) => new URLSearchParams({ ...TARGET, environment: 'staging', kind: 'contract-test', sha256, uri: 'https://ci.example/jobs/3', commit, producedAt: new Date(Date.now() - 60_000).toISOString(), ...over }).toString();
    const report = '<testsuite tests="1"><testcase name="a"/></testsuite>';
    const junit = await s.call('POST', `/v1/evidence/junit?${query({ producedBy: 'accord' })}`, { body: report, type: 'application/xml' });
    expect(junit.status).toBe(422);
    expect((await junit.json()).errors).toEqual([{ location: '/producedBy', message: ONLY_ACCORD }]);
    expect((await listed()).length).toBe(before);
    const junitOk = await s.call('POST', `/v1/evidence/junit?${query({ producedBy: 'caller' })}`, { body: report, type: 'application/xml' });
    expect(junitOk.status).toBe(201);
    expect((await junitOk.json()).producedBy).toBe('caller');
    expect((await listed()).map((e) => e.producedBy)).toEqual(['caller', 'caller', 'caller']);
  });

  it('the policy takes accordEvidence per environment, and refuses bad environments and kinds', async () => {
    const bad = await s.call('PUT', '/v1/policy', { body: `${POLICY}accordEvidence:\n  Production: [contract-test]\n`, type: 'application/yaml' });
    expect(bad.status).toBe(422);
    expect((await bad.json()).errors.some((e: { rule: string }) => e.rule === 'policy/schema')).toBe(true);
    const badKind = await s.call('PUT', '/v1/policy', { body: `${POLICY}accordEvidence:\n  production: [vibes]\n`, type: 'application/yaml' });
    expect(badKind.status).toBe(422);
    const twice = await s.call('PUT', '/v1/policy', { body: `${POLICY}accordEvidence:\n  production: [contract-test, contract-test]\n`, type: 'application/yaml' });
    expect(twice.status).toBe(422);
    // Without accordEvidence no environment asks for Accord's evidence.
    expect(await accordReasons('production')).toEqual([]);
    const put = await s.call('PUT', '/v1/policy', { body: `${POLICY}accordEvidence:\n  production: [contract-test]\n`, type: 'application/yaml' });
    expect(put.status).toBe(201);
  });

  it('a release to production waits for Accord-produced evidence, even with passing evidence a caller posted', async () => {
    const [reason] = await accordReasons('production');
    expect(reason).toMatchObject({ rule: 'accord-evidence:contract-test', status: 'pending' });
    expect(reason!.message).toContain('evidence a caller posted does not count');
    expect(reason!.howToFix).toBe(`Run Accord's certification: POST /v1/certifications {"partner":"${TARGET.partner}","api":"${TARGET.api}","version":"${TARGET.version}","environment":"<an environment the partner registered>"} (or accord certify …)`);
    // The caller's evidence still counts for its own rule (when a change asks for it); it just never counts here.
    expect((await listed()).some((e) => e.kind === 'contract-test' && e.producedBy === 'caller')).toBe(true);
  });

  it('Accord evidence for other content does not count; passing for the content (from sandbox) is met; a newer failure fails; an expired pass is pending', async () => {
    const other = await recordAccordEvidence(s.deps, { ...TARGET, environment: 'sandbox', kind: 'contract-test', result: 'pass', sha256: 'b'.repeat(64), uri: 'urn:accord:certification:crt_other', commit, producedAt: new Date().toISOString() });
    expect(other).toMatchObject({ producedBy: 'accord', createdBy: 'accord', boundToContent: false });
    let [reason] = await accordReasons('production');
    expect(reason).toMatchObject({ status: 'pending' });
    expect(reason!.message).toContain('1 Accord record(s) for other content ignored');

    const passed = await recordAccordEvidence(s.deps, { ...TARGET, environment: 'sandbox', kind: 'contract-test', result: 'pass', sha256, uri: 'urn:accord:certification:crt_pass', commit, producedAt: new Date().toISOString(), createdBy: 'certification-runner' });
    expect(passed).toMatchObject({ producedBy: 'accord', createdBy: 'certification-runner', boundToContent: true });
    [reason] = await accordReasons('production');
    expect(reason).toMatchObject({ rule: 'accord-evidence:contract-test', status: 'met', message: "Accord's contract-test run passed in sandbox (urn:accord:certification:crt_pass)" });

    await recordAccordEvidence(s.deps, { ...TARGET, environment: 'sandbox', kind: 'contract-test', result: 'fail', sha256, uri: 'urn:accord:certification:crt_fail', commit, producedAt: new Date().toISOString() });
    const failed = await gate('production');
    expect(failed.verdict).toBe('fail');
    expect(failed.reasons.find((r) => r.rule === 'accord-evidence:contract-test')).toMatchObject({ status: 'failed', message: "Accord's latest contract-test run for this content failed (urn:accord:certification:crt_fail)" });

    await recordAccordEvidence(s.deps, { ...TARGET, environment: 'sandbox', kind: 'contract-test', result: 'pass', sha256, uri: 'urn:accord:certification:crt_old', commit, producedAt: new Date(Date.now() - 7_200_000).toISOString(), expiresAt: new Date(Date.now() - 3_600_000).toISOString() });
    [reason] = await accordReasons('production');
    expect(reason).toMatchObject({ status: 'pending' });
    expect(reason!.message).toMatch(/expired at/);
  });

  it('environments the policy names no kinds for are unaffected, and stored decisions re-derive', async () => {
    const sandbox = await gate('sandbox');
    expect(sandbox.reasons.filter((r) => r.rule.startsWith('accord-evidence:'))).toEqual([]);
    const production = await gate('production');
    const stored = await (await s.call('GET', `/v1/gate/decisions/${production.decisionId}`)).json();
    expect(stored.inputs.accordEvidence).toMatchObject({ environment: 'production', required: ['contract-test'] });
    expect(stored.inputs.accordEvidence.records.length).toBe(4);
    expect(stored.rederivation).toMatchObject({ inputsHashMatches: true, matches: true });
    // A decision stored before accordEvidence existed (no such facts) gets no such rule.
    const { accordEvidence: _, ...before } = stored.inputs as GateFacts;
    expect(evaluateGate(before).reasons.some((r) => r.rule.startsWith('accord-evidence:'))).toBe(false);
  });

  it('a synthetic check stores evidence produced by Accord', async () => {
    const run = await (await json('POST', '/v1/synthetic/run', { flow: 'payer-data-export', partner: 'northwind-health' })).json();
    const result = run.results[0];
    expect(result).toMatchObject({ partner: 'northwind-health', result: 'pass', evidenceId: expect.stringMatching(/^evd_/) });
    const evidence = (await (await s.call('GET', `/v1/evidence?partner=northwind-health&api=p2p-exchange&version=${result.version}`)).json()) as Array<{ id: string; producedBy: string; kind: string; createdBy: string }>;
    expect(evidence.find((e) => e.id === result.evidenceId)).toMatchObject({ kind: 'synthetic-check', producedBy: 'accord' });
  });
});
