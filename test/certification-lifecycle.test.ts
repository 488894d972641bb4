import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certifyDue } from '../src/certification/schedule.ts';
import { certify } from './certification-helpers.ts';
import { startTestPartner, type TestPartner } from './partner/start.ts';
import { signIn } from './console-helpers.ts';
import { REPO_ROOT, startTestService, type TestService } from './harness.ts';

/**
 * Certification over time (issue 20): a private_key_jwt partner, drift after a release (notice,
 * webhook event, scorecard), periodic runs, and the gate requiring Accord-produced evidence.
 */

const CONTRACT = 'contracts/northwind-health/p2p-exchange/2.1.0/openapi.yaml';
const BEARER = 'partner-lifecycle-token-0123456789';
const TARGET = { partner: 'northwind-health', api: 'p2p-exchange', version: '2.1.0' };

describe('certification over time', () => {
  let s: TestService;
  let offsetMs = 0;
  const partners: TestPartner[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-cert-'));
  let correct: TestPartner;
  let faulty: TestPartner;
  const environments: Record<string, unknown> = {};
  const endpoint = async (environment: string, value: Record<string, unknown>) => {
    environments[environment] = value;
    return await s.call('PUT', '/v1/partners/northwind-health/endpoints', { body: JSON.stringify({ environments }), type: 'application/json' });
  };
  const bearer = (url: string, extra: Record<string, unknown> = {}) => ({ baseUrl: url, auth: { type: 'bearer', token: BEARER }, ...extra });
  const release = async (environment: string) =>
    await s.deps.db.$sql.run('INSERT INTO releases (id, partner, api, version, environment, content_sha256, decision_id, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', [`rel_${environment}`, TARGET.partner, TARGET.api, TARGET.version, environment, 'x', 'dec_x', s.deps.clock().toISOString(), 'test']);

  beforeAll(async () => {
    s = await startTestService({ seed: true, clock: () => new Date(Date.now() + offsetMs), env: { ACCORD_SECRETS_KEY: randomBytes(32).toString('hex'), ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true' } });
    [correct, faulty] = await Promise.all([startTestPartner({ contract: CONTRACT, bearer: BEARER }), startTestPartner({ contract: CONTRACT, bearer: BEARER, variant: 'drops-traceparent' })]);
    partners.push(correct, faulty);
  });
  afterAll(async () => {
    await Promise.all(partners.map((p) => p.stop()));
    await s.cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('certifies an endpoint that takes private_key_jwt client credentials: Accord gets its token at the partner’s token endpoint', async () => {
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const publicKey = path.join(tmp, 'accord.pub.pem');
    fs.writeFileSync(publicKey, keys.publicKey.export({ type: 'spki', format: 'pem' }));
    const jwt = await startTestPartner({ contract: CONTRACT, publicKey, clientId: 'accord-registry' });
    partners.push(jwt);
    const put = await endpoint('preprod', { baseUrl: jwt.url, auth: { type: 'private_key_jwt', tokenUrl: jwt.tokenUrl, clientId: 'accord-registry', alg: 'RS384', privateKey: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() } });
    expect(put.status, await put.clone().text()).toBe(200);
    const run = await certify(s, { ...TARGET, environment: 'preprod' });
    expect(run.cases.filter((c) => c.verdict !== 'pass').map((c) => [c.id, c.findings])).toEqual([]);
    expect(run.status).toBe('passed');
    // A partner that does not know Accord's key: the token endpoint refuses, and so does the request (nothing stored).
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await endpoint('preprod', { baseUrl: jwt.url, auth: { type: 'private_key_jwt', tokenUrl: jwt.tokenUrl, clientId: 'accord-registry', alg: 'RS384', privateKey: other.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() } });
    const before = (await s.deps.db.$sql.column('SELECT count(*) FROM certification_runs'))[0];
    const refused = await s.call('POST', '/v1/certifications', { body: JSON.stringify({ ...TARGET, environment: 'preprod' }), type: 'application/json' });
    expect(refused.status).toBe(503);
    expect((await refused.json()).detail).toContain('invalid_client');
    expect((await s.deps.db.$sql.column('SELECT count(*) FROM certification_runs'))[0]).toBe(before);
  });

  it('fetches a new access token when the partner’s expires during the run (tokens of 1 s, a run of several)', async () => {
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const publicKey = path.join(tmp, 'accord-short.pub.pem');
    fs.writeFileSync(publicKey, keys.publicKey.export({ type: 'spki', format: 'pem' }));
    const short = await startTestPartner({ contract: CONTRACT, publicKey, clientId: 'accord-registry', tokenSeconds: 1, latencyMs: 20 });
    partners.push(short);
    const put = await endpoint('short-tokens', { baseUrl: short.url, auth: { type: 'private_key_jwt', tokenUrl: short.tokenUrl, clientId: 'accord-registry', alg: 'RS384', privateKey: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() } });
    expect(put.status, await put.clone().text()).toBe(200);
    const started = Date.now();
    const run = await certify(s, { ...TARGET, environment: 'short-tokens' });
    expect(Date.now() - started).toBeGreaterThan(1500);
    expect(run.cases.filter((c) => c.verdict !== 'pass').map((c) => [c.id, c.findings])).toEqual([]);
  });

  it('raises partner-drift (notice, webhook event, scorecard) when a released version stops passing, once', async () => {
    const hook = await s.call('POST', '/v1/webhooks', { body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', events: ['notice.partner-drift'], secret: 'webhook-secret-0123456789' }), type: 'application/json' });
    expect(hook.status, await hook.clone().text()).toBe(201);
    await endpoint('staging', bearer(correct.url));
    await release('staging');
    const good = await certify(s, { ...TARGET, environment: 'staging' });
    expect(good).toMatchObject({ status: 'passed', driftNoticeId: null });

    await endpoint('staging', bearer(faulty.url));
    const bad = await certify(s, { ...TARGET, environment: 'staging' });
    expect(bad.status).toBe('failed');
    expect(bad.driftNoticeId).toMatch(/^ntc_/);
    const notices = (await (await s.call('GET', '/v1/notices', { token: await s.token('partner', 'northwind-health') })).json()) as Array<{ kind: string; version: string; body: string }>;
    const drift = notices.filter((n) => n.kind === 'partner-drift');
    expect(drift).toHaveLength(1);
    expect(drift[0]!.body).toContain(`/v1/certifications/${bad.id}`);
    const events = (await s.deps.db.$sql.column("SELECT payload FROM webhook_deliveries WHERE event_type = 'notice.partner-drift'")) as string[];
    expect(events.map((p) => JSON.parse(p).data.noticeId)).toEqual([bad.driftNoticeId]);

    // Still failing: no second notice.
    const again = await certify(s, { ...TARGET, environment: 'staging' });
    expect(again.driftNoticeId).toBeNull();
    const card = (await (await s.call('GET', '/v1/scorecards/northwind-health?window=PT1H')).json()) as { certification: { runs: number; latest: Array<{ environment: string; status: string; drift: boolean; runId: string }> } };
    expect(card.certification.latest.find((l) => l.environment === 'staging')).toMatchObject({ status: 'failed', drift: true, runId: again.id });
    expect(card.certification.latest.find((l) => l.environment === 'preprod')).toMatchObject({ status: 'passed', drift: false });

    // The console's partner scorecard shows it, and the run's page its failing cases (a partner its own only).
    const northwind = await signIn(s, await s.token('partner', 'northwind-health'));
    const page = await (await northwind.get('/console/operations/partners/northwind-health')).text();
    const section = page.slice(page.indexOf('id="certification"'), page.indexOf('id="costs"'));
    expect(section).toContain(`href="/console/operations/certifications/${again.id}">failed</a><strong> — drift</strong>`);
    const runPage = await northwind.get(`/console/operations/certifications/${again.id}`);
    expect(runPage.status).toBe(200);
    const runHtml = await runPage.text();
    expect(runHtml).toContain('<code>trace/memberMatch</code>');
    expect(runHtml).toContain('the answer has no traceparent');
    expect((await (await signIn(s, await s.token('partner', 'bluestem-mutual'))).get(`/console/operations/certifications/${again.id}`)).status).toBe(404);
  });

  it('certifies each API released to an environment on its schedule (certifyEvery), and not before it is due', async () => {
    expect((await endpoint('nightly', bearer(correct.url, { certifyEvery: 'PT1M' }))).status).toBe(422);
    environments.nightly = bearer(correct.url, { certifyEvery: 'PT1H' });
    expect((await endpoint('nightly', environments.nightly as Record<string, unknown>)).status).toBe(200);
    expect(await certifyDue(s.deps, s.runtime.certifier)).toEqual([]);
    await release('nightly');
    const first = await certifyDue(s.deps, s.runtime.certifier);
    expect(first).toHaveLength(1);
    await s.runtime.certifier.idle();
    const run = (await (await s.call('GET', `/v1/certifications/${first[0]}`)).json()) as { status: string; trigger: string; environment: string; createdBy: string };
    expect(run, JSON.stringify(run).slice(0, 3000)).toMatchObject({ status: 'passed', trigger: 'schedule', environment: 'nightly', createdBy: 'accord-certification-schedule' });
    expect(await certifyDue(s.deps, s.runtime.certifier)).toEqual([]);
    offsetMs += 61 * 60_000;
    expect(await certifyDue(s.deps, s.runtime.certifier)).toHaveLength(1);
    await s.runtime.certifier.idle();
  });

  it('the gate requires Accord-produced evidence where the policy says so, and a certification run provides it', async () => {
    const policy = fs.readFileSync(path.join(REPO_ROOT, 'control-matrix/policy.yaml'), 'utf8');
    expect((await s.call('PUT', '/v1/policy', { body: `${policy}accordEvidence:\n  production: [contract-test, replay-test]\n`, type: 'application/yaml' })).status).toBe(201);
    // Earlier runs of this file recorded evidence already: certify bluestem, which none has.
    const target = { partner: 'bluestem-mutual', api: 'p2p-exchange', version: '1.2.0' };
    const gate = async () => ((await (await s.call('POST', '/v1/gate/check', { body: JSON.stringify({ ...target, environment: 'production' }), type: 'application/json' })).json()) as { reasons: Array<{ rule: string; status: string }> }).reasons.filter((r) => r.rule.startsWith('accord-evidence:'));
    expect(await gate()).toEqual([expect.objectContaining({ rule: 'accord-evidence:contract-test', status: 'pending' }), expect.objectContaining({ rule: 'accord-evidence:replay-test', status: 'pending' })]);
    const run = await certify(s, { ...target, target: 'reference' });
    expect(run.cases.filter((c) => c.verdict !== 'pass').map((c) => [c.id, c.findings])).toEqual([]);
    expect(await gate()).toEqual([expect.objectContaining({ rule: 'accord-evidence:contract-test', status: 'met' }), expect.objectContaining({ rule: 'accord-evidence:replay-test', status: 'met' })]);
  });
});

describe('certifying a deprecated version', () => {
  let s: TestService;
  const partners: TestPartner[] = [];
  beforeAll(async () => {
    s = await startTestService({ seed: true, clock: () => new Date(), env: { ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true' } });
  });
  afterAll(async () => {
    await Promise.all(partners.map((p) => p.stop()));
    await s.cleanup();
  });

  it('expects Deprecation and Sunset on every answer: a partner that leaves them out fails the deprecation cases, one that sends them passes', async () => {
    const deprecate = await s.call('POST', '/v1/contracts/northwind-health/p2p-exchange/versions/2.1.0/deprecation', { body: JSON.stringify({ sunset: '2027-06-30', reason: 'moving to the 3.x line' }), type: 'application/json' });
    expect(deprecate.status, await deprecate.clone().text()).toBe(201);
    const [silent, announcing] = await Promise.all([startTestPartner({ contract: CONTRACT }), startTestPartner({ contract: CONTRACT, deprecatedSunset: '2027-06-30' })]);
    partners.push(silent, announcing);
    const put = async (url: string) => expect((await s.call('PUT', '/v1/partners/northwind-health/endpoints', { body: JSON.stringify({ environments: { sandbox: { baseUrl: url, auth: { type: 'none' } } } }), type: 'application/json' })).status).toBe(200);
    await put(silent.url);
    const failing = await certify(s, { ...TARGET, environment: 'sandbox' });
    const deprecationCases = failing.cases.filter((c) => c.category === 'deprecation');
    expect(deprecationCases.length).toBeGreaterThan(5);
    expect(deprecationCases.every((c) => c.verdict === 'fail' && c.findings.some((f) => f.includes('no Deprecation header')))).toBe(true);
    expect(failing.evidence.find((e) => e.kind === 'contract-test')?.result).toBe('fail');
    await put(announcing.url);
    const passing = await certify(s, { ...TARGET, environment: 'sandbox' });
    expect(passing.cases.filter((c) => c.verdict !== 'pass').map((c) => [c.id, c.findings])).toEqual([]);
  });
});
