import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseYaml } from '../src/lib/yaml.ts';
import { SYSTEM } from '../src/auth/principal.ts';
import { directRequests, type DirectRequest } from '../src/runtime/direct-requests/serve.ts';
import { IdempotencyStore } from '../src/runtime/idempotency.ts';
import { exchangeHopOf } from '../src/runtime/trace-context.ts';
import { ADMIN_TOKEN, REPO_ROOT, startTestService, type TestService } from './harness.ts';

const doc = (partner: string, version: string) => parseYaml(fs.readFileSync(path.join(REPO_ROOT, 'contracts', partner, 'p2p-exchange', version, 'openapi.yaml'), 'utf8'), { maxAliases: 0 }) as any;
const MATCH = '/exchange/northwind-health/p2p-exchange/v2/Patient/$member-match';
const example = () => structuredClone(doc('northwind-health', '2.0.0').paths['/Patient/$member-match'].post.requestBody.content['application/fhir+json'].example);

describe('exchange runtime: contract-driven routes, validation, idempotency, $member-match', () => {
  let s: TestService;
  let now = new Date('2026-11-27T12:00:00Z');
  beforeAll(async () => {
    s = await startTestService({ seed: true, clock: () => new Date(now) });
  });
  afterAll(async () => await s.cleanup());

  const post = (url: string, body: unknown, headers: Record<string, string> = {}, token?: string) =>
    s.call('POST', url, { body: typeof body === 'string' ? body : JSON.stringify(body), type: 'application/fhir+json', headers, ...(token ? { token } : {}) });

  it('serves the seeded network: $member-match finds the member of the contract example', async () => {
    const res = await post(MATCH, example(), { 'Idempotency-Key': 'match-0001', 'X-Correlation-Id': 'corr-1' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-correlation-id')).toBe('corr-1');
    expect(res.headers.get('content-type')).toBe('application/fhir+json');
    expect(await res.json()).toEqual({ resourceType: 'Parameters', parameter: [{ name: 'MemberIdentifier', valueIdentifier: { system: 'https://northwind-health.example/member-id', value: 'NWH-100234' } }] });
    // bluestem's 3.0 contract is served too, with its own member
    const bluestem = doc('bluestem-mutual', '1.1.0').paths['/Patient/$member-match'].post.requestBody.content['application/fhir+json'].example;
    const other = await post('/exchange/bluestem-mutual/p2p-exchange/v1/Patient/$member-match', bluestem, { 'Idempotency-Key': 'match-0002' });
    expect((await other.json()).parameter[0].valueIdentifier.value).toBe('BSM-220871');
  });

  it('refuses requests that do not match the contract with a FHIR OperationOutcome naming the locations', async () => {
    const bad = example();
    bad.parameter[0].resource.birthDate = 12;
    const res = await post(MATCH, bad, { 'Idempotency-Key': 'match-0003' });
    expect(res.status).toBe(400);
    const outcome = await res.json();
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue.some((i: { expression?: string[] }) => i.expression?.[0]?.startsWith('body/parameter/0'))).toBe(true);
    const noKey = await post(MATCH, example());
    expect(noKey.status).toBe(400);
    expect(JSON.stringify(await noKey.json())).toContain('Idempotency-Key');
  });

  it('answers no match, several matches and consent problems with 422 OperationOutcome', async () => {
    const none = example();
    none.parameter[0].resource.name[0].family = 'Nobody';
    const several = example();
    several.parameter[0].resource.name = [{ family: 'Taylor', given: ['Sam'] }];
    several.parameter[0].resource.birthDate = '2012-07-01';
    several.parameter[1].resource.subscriberId = 'NWH-100870';
    const inactive = example();
    inactive.parameter[3].resource.status = 'inactive';
    const outOfPeriod = example();
    outOfPeriod.parameter[3].resource.provision.period = { start: '2020-01-01', end: '2020-12-31' };
    const deny = example();
    deny.parameter[3].resource.provision.type = 'deny';
    const wrongActors = example();
    wrongActors.parameter[3].resource.provision.actor[0].reference.identifier.value = '9999999999';
    const cases: Array<[unknown, string]> = [[none, 'No member matched'], [several, '2 members matched'], [inactive, 'not active'], [outOfPeriod, 'does not include'], [deny, 'not a permit'], [wrongActors, 'does not name northwind-health']];
    let n = 10;
    for (const [body, text] of cases) {
      const res = await post(MATCH, body, { 'Idempotency-Key': `match-00${n++}` });
      expect(res.status, text).toBe(422);
      const outcome = await res.json();
      expect(outcome.resourceType).toBe('OperationOutcome');
      expect(outcome.issue[0].diagnostics).toContain(text);
    }
  });

  it('IETF Idempotency-Key: byte-identical replay, 422 on a different payload, keys scoped to the caller', async () => {
    const first = await post(MATCH, example(), { 'Idempotency-Key': 'match-replay-1' });
    const firstBody = await first.text();
    const again = await post(MATCH, example(), { 'Idempotency-Key': 'match-replay-1' });
    expect(again.status).toBe(first.status);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.text()).toBe(firstBody);
    const changed = example();
    changed.parameter[1].resource.subscriberId = 'NWH-999999';
    expect((await post(MATCH, changed, { 'Idempotency-Key': 'match-replay-1' })).status).toBe(422);
    // another caller's identical key is its own key
    const other = await post(MATCH, changed, { 'Idempotency-Key': 'match-replay-1' }, await s.token('partner', 'bluestem-mutual'));
    expect(other.status).toBe(422);
    expect(other.headers.get('idempotent-replayed')).toBeNull();
  });

  it('50 parallel requests with one key have one effect: one original answer, the rest replays or 409', async () => {
    const responses = await Promise.all(Array.from({ length: 50 }, () => post(MATCH, example(), { 'Idempotency-Key': 'storm-key-1' })));
    const originals = responses.filter((r) => r.status === 200 && r.headers.get('idempotent-replayed') === null);
    expect(originals).toHaveLength(1);
    for (const r of responses) expect([200, 409]).toContain(r.status);
    expect((await s.deps.db.$sql.value("SELECT count(*) FROM idempotency_keys WHERE key = 'storm-key-1'"))).toBe(1);
  });

  it('answers 404 for unknown lines and paths, 405 for other methods', async () => {
    expect((await post('/exchange/northwind-health/p2p-exchange/v9/Patient/$member-match', example())).status).toBe(404);
    expect((await post('/exchange/northwind-health/p2p-exchange/v2/Nothing', example())).status).toBe(404);
    const wrong = await s.call('GET', MATCH);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect((await s.call('POST', MATCH, { token: null, body: '{}', type: 'application/fhir+json' })).status).toBe(401);
  });

  it('answers plain inputs without HTTP: the direct-request pipeline that the /exchange router adapts', async () => {
    const serve = directRequests(s.deps, s.runtime);
    const hop = exchangeHopOf({ correlationId: 'pipeline-1', traceparent: undefined, tracestate: undefined });
    const request = (method: string, headers: Record<string, string> = {}, body = ''): DirectRequest => ({
      method,
      path: MATCH,
      partner: 'northwind-health',
      api: 'p2p-exchange',
      major: 'v2',
      query: () => undefined,
      header: (name) => headers[name.toLowerCase()],
      text: async () => body,
      principal: SYSTEM,
      hop,
    });
    const match = () => request('POST', { 'content-type': 'application/fhir+json', 'idempotency-key': 'pipeline-0001' }, JSON.stringify(example()));
    const answered = await serve(match());
    expect(answered).toMatchObject({ kind: 'answer', status: 200, headers: { 'Content-Type': 'application/fhir+json' } });
    expect(answered.kind === 'answer' && JSON.parse(answered.body!).parameter[0].valueIdentifier.value).toBe('NWH-100234');
    const replay = await serve(match());
    expect(replay).toMatchObject({ kind: 'answer', status: 200, headers: { 'Idempotent-Replayed': 'true', 'X-Correlation-Id': 'pipeline-1' } });
    expect(replay.kind === 'answer' && replay.body).toBe(answered.kind === 'answer' && answered.body);
    // Refusals come back unrendered, with the contract's dialect and the headers they carry.
    expect(await serve(request('POST', { 'content-type': 'application/fhir+json' }, JSON.stringify(example())))).toEqual({
      kind: 'refusal',
      operation: 'memberMatch',
      status: 400,
      code: 'invalid',
      detail: 'The request does not match northwind-health/p2p-exchange 2.1.0',
      errors: [{ location: 'header.Idempotency-Key', message: 'is required' }],
      fhir: true,
      headers: {},
    });
    expect(await serve(request('GET'))).toMatchObject({ kind: 'refusal', status: 405, headers: { Allow: 'POST' } });
  });

  it('deprecated versions carry Deprecation, Sunset and Link headers, and answer 410 after the sunset', async () => {
    const dep = await s.call('POST', '/v1/contracts/northwind-health/p2p-exchange/versions/1.1.0/deprecation', { body: JSON.stringify({ sunset: '2027-06-30', successor: '2.0.0', reason: 'Use 2.0.0' }), type: 'application/json' });
    expect(dep.status).toBe(201);
    const v1 = '/exchange/northwind-health/p2p-exchange/v1/Patient/$member-match';
    const res = await post(v1, example(), { 'Idempotency-Key': 'deprecated-1' });
    expect(res.status).toBe(200);
    expect(res.headers.get('deprecation')).toBe(`@${Math.floor(Date.parse('2026-11-27T12:00:00Z') / 1000)}`);
    expect(res.headers.get('sunset')).toBe('Wed, 30 Jun 2027 00:00:00 GMT');
    expect(res.headers.get('link')).toContain('rel="successor-version"');
    expect(res.headers.get('link')).toContain(`<${s.config.publicUrl}/v1/notices>; rel="sunset"`);
    now = new Date('2027-07-01T00:00:00Z');
    expect((await post(v1, example(), { 'Idempotency-Key': 'deprecated-2' })).status).toBe(410);
    // Sagas do not start on it either, even before the jobs retire it.
    const saga = await s.call('POST', '/v1/transactions', { body: JSON.stringify({ flow: 'member-match', partner: 'northwind-health', major: 1, input: { memberMatch: example() } }), type: 'application/json', headers: { 'Idempotency-Key': 'deprecated-saga-1' } });
    expect(saga.status).toBe(404);
    // Once the jobs retire 1.1.0 the v1 line stays gone: it does not fall back to 1.0.0.
    const { processSunsets } = await import('../src/notices/notices.ts');
    await processSunsets(s.deps);
    expect((await s.deps.db.$sql.value("SELECT state FROM contract_versions WHERE partner = 'northwind-health' AND version = '1.1.0'"))).toBe('retired');
    const gone = await post(v1, example(), { 'Idempotency-Key': 'deprecated-3' });
    expect(gone.status).toBe(410);
    expect(gone.headers.get('deprecation')).toBeNull();
    now = new Date('2026-11-27T12:00:00Z');
  });

  it('serves a newly registered version without a restart (approved versions count in sandbox)', async () => {
    const v3 = doc('northwind-health', '2.1.0');
    v3.info.version = '3.0.0';
    expect((await s.call('POST', '/v1/contracts/northwind-health/p2p-exchange/versions', { body: JSON.stringify(v3), type: 'application/json' })).status).toBe(201);
    const url = '/exchange/northwind-health/p2p-exchange/v3/Patient/$member-match';
    expect((await post(url, example(), { 'Idempotency-Key': 'v3-key-0001' })).status).toBe(404); // a draft is not served
    await s.deps.db.$sql.run("UPDATE contract_versions SET state = 'approved' WHERE version = '3.0.0'");
    const { markContractsChanged } = await import('../src/contracts/versions.ts');
    await markContractsChanged(s.deps.db);
    const served = await post(url, example(), { 'Idempotency-Key': 'v3-key-0002' });
    expect(served.status, await served.clone().text()).toBe(200);
  });
});

describe('exchange runtime: the whole payer-to-payer flow with the contract examples', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ seed: true });
  });
  afterAll(async () => await s.cleanup());

  const V2 = '/exchange/northwind-health/p2p-exchange/v2';
  const ex = (p: string, method = 'post', media = 'application/fhir+json') => structuredClone(doc('northwind-health', '2.0.0').paths[p][method].requestBody.content[media].example);
  let n = 0;
  const send = (method: string, url: string, body?: unknown, type = 'application/fhir+json', headers: Record<string, string> = {}) =>
    s.call(method, url, { ...(body === undefined ? {} : { body: JSON.stringify(body), type }), headers: { 'Idempotency-Key': `flow-key-${String(n++).padStart(4, '0')}`, ...headers } });

  it('consent → export (202, Content-Location) → polling (202 X-Progress, then the manifest) → acknowledgement → finalisation', async () => {
    const noConsent = await send('POST', `${V2}/Group/members-2026/$davinci-data-export`, ex('/Group/{groupId}/$davinci-data-export'));
    expect(noConsent.status).toBe(422);
    expect((await noConsent.json()).issue[0].diagnostics).toContain('Consent constraint');

    const consent = await send('POST', `${V2}/Consent`, ex('/Consent'));
    expect(consent.status).toBe(201);
    expect(consent.headers.get('location')).toMatch(new RegExp(`^${s.config.publicUrl}${V2}/Consent/consent-[0-9a-f]{8}$`));

    const exportRes = await send('POST', `${V2}/Group/members-2026/$davinci-data-export`, ex('/Group/{groupId}/$davinci-data-export'), 'application/fhir+json', { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'vendor=abc' });
    expect(exportRes.status).toBe(202);
    expect(exportRes.headers.get('traceparent')).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-(?!00f067aa0ba902b7)[0-9a-f]{16}-01$/);
    expect(exportRes.headers.get('tracestate')).toBe('vendor=abc');
    const status = exportRes.headers.get('content-location')!;
    expect(status).toMatch(/\/export-status\/job-[0-9a-f]{8}$/);

    const first = await s.call('GET', status);
    expect(first.status).toBe(202);
    expect(first.headers.get('x-progress')).toContain('50%');
    const done = await s.call('GET', status);
    expect(done.status).toBe(200);
    expect((await done.json()).output.map((o: { type: string }) => o.type)).toEqual(['Patient', 'Coverage', 'ExplanationOfBenefit']);

    const jobId = status.split('/').pop()!;
    const ack = await send('POST', `${V2}/acknowledgements`, { ...ex('/acknowledgements', 'post', 'application/json'), exportJobId: jobId }, 'application/json');
    expect(ack.status).toBe(201);
    expect(await ack.json()).toMatchObject({ exportJobId: jobId, acknowledgementId: expect.stringMatching(/^ack-/) });
    const fin = await send('POST', `${V2}/exchanges/xch-20260105-0001/$finalize`, { ...ex('/exchanges/{exchangeId}/$finalize', 'post', 'application/json'), exportJobId: jobId }, 'application/json');
    expect(fin.status).toBe(200);
    expect(await fin.json()).toMatchObject({ exchangeId: 'xch-20260105-0001', state: 'finalized' });
  });

  it('DELETE on the status URL cancels the export (the compensation); revoking consent marks it inactive', async () => {
    const consent = await send('POST', `${V2}/Consent`, ex('/Consent'));
    const consentUrl = consent.headers.get('location')!;
    const started = await send('POST', `${V2}/Group/members-2026/$davinci-data-export`, ex('/Group/{groupId}/$davinci-data-export'));
    const status = started.headers.get('content-location')!;
    expect((await s.call('DELETE', status)).status).toBe(202);
    expect((await s.call('GET', status)).status).toBe(404);
    const revoked = await send('POST', `${consentUrl}/$revoke`);
    expect(revoked.status).toBe(200);
    expect((await revoked.json()).status).toBe('inactive');
    expect((await (await s.call('GET', consentUrl)).json()).status).toBe('inactive');
  });
});

describe('IdempotencyStore', () => {
  let s: TestService;
  let now = new Date('2026-11-27T12:00:00Z');
  beforeAll(async () => {
    s = await startTestService({ clock: () => new Date(now) });
  });
  afterAll(async () => await s.cleanup());

  it('holds an in-flight lease, lets it be taken over after a crash, and expires keys after the window', async () => {
    const store = new IdempotencyStore(s.deps);
    expect(await store.claim('caller|route', 'k1', 'fp', 60_000, 5_000)).toEqual({ kind: 'proceed' });
    expect(await store.claim('caller|route', 'k1', 'fp', 60_000, 5_000)).toEqual({ kind: 'in-flight' });
    expect(await store.claim('caller|route', 'k1', 'other', 60_000, 5_000)).toEqual({ kind: 'mismatch' });
    now = new Date(now.getTime() + 6_000); // the first claimant crashed; its lease ran out
    expect(await store.claim('caller|route', 'k1', 'fp', 60_000, 5_000)).toEqual({ kind: 'proceed' });
    await store.complete('caller|route', 'k1', { status: 200, headers: { 'Content-Type': 'application/json' }, body: '{"a":1}' });
    expect(await store.claim('caller|route', 'k1', 'fp', 60_000, 5_000)).toEqual({ kind: 'replay', status: 200, headers: { 'Content-Type': 'application/json' }, body: '{"a":1}' });
    now = new Date(now.getTime() + 61_000); // the dedupe window is over: the key is new again
    expect(await store.claim('caller|route', 'k1', 'different', 60_000, 5_000)).toEqual({ kind: 'proceed' });
  });

  it('purges completed keys once their window is over, and only those', async () => {
    const store = new IdempotencyStore(s.deps);
    const count = async () => (await s.deps.db.$sql.value("SELECT count(*) FROM idempotency_keys WHERE scope = 'purge|route'"));
    await store.claim('purge|route', 'old', 'fp', 60_000, 5_000);
    await store.complete('purge|route', 'old', { status: 200, headers: {}, body: '' });
    await store.claim('purge|route', 'running', 'fp', 60_000, 5_000); // in flight: kept
    now = new Date(now.getTime() + 30_000);
    await store.claim('purge|route', 'fresh', 'fp', 60_000, 5_000);
    await store.complete('purge|route', 'fresh', { status: 200, headers: {}, body: '' });
    expect(await store.purgeExpired()).toBe(0);
    now = new Date(now.getTime() + 31_000); // "old" is past its window, "fresh" is not
    expect(await store.purgeExpired()).toBe(1);
    expect(await count()).toBe(2);
    expect((await store.claim('purge|route', 'fresh', 'fp', 60_000, 5_000)).kind).toBe('replay');
  });
});

describe('body limit over real HTTP', () => {
  let s: TestService;
  let url: string;
  beforeAll(async () => {
    s = await startTestService({ seed: true, env: { ACCORD_BODY_LIMIT: '4000' } });
    url = await s.listen();
  });
  afterAll(async () => await s.cleanup());

  const records = async () => (await s.deps.db.$sql.value('SELECT (SELECT count(*) FROM transactions) + (SELECT count(*) FROM idempotency_keys)')) as number;
  const headers = (key: string) => ({ Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/fhir+json', 'Idempotency-Key': key });
  /** A body sent with Transfer-Encoding: chunked (no Content-Length), in pieces. */
  const chunked = (text: string) => {
    const bytes = new TextEncoder().encode(text);
    return new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 1000) controller.enqueue(bytes.slice(i, i + 1000));
        controller.close();
      },
    });
  };
  const padded = () => {
    const body = example();
    body.parameter[0].resource.name[0].text = 'x'.repeat(5000);
    return JSON.stringify(body);
  };

  it('refuses a declared length over the limit and a chunked body that grows over it with 413, storing nothing', async () => {
    const before = await records();
    const declared = await fetch(`${url}${MATCH}`, { method: 'POST', headers: { ...headers('limit-key-1'), 'X-Correlation-Id': 'corr-too-large-1' }, body: padded() });
    expect(declared.status).toBe(413);
    expect(declared.headers.get('x-correlation-id')).toBe('corr-too-large-1');
    expect(declared.headers.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect((await declared.json()).type).toContain('payload_too_large');
    const streamed = await fetch(`${url}${MATCH}`, { method: 'POST', headers: headers('limit-key-2'), body: chunked(padded()), duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
    await streamed.arrayBuffer();
    expect(await records()).toBe(before);
  });

  it('serves bodies under the limit, declared or chunked', async () => {
    const declared = await fetch(`${url}${MATCH}`, { method: 'POST', headers: headers('limit-key-3'), body: JSON.stringify(example()) });
    expect(declared.status).toBe(200);
    const streamed = await fetch(`${url}${MATCH}`, { method: 'POST', headers: headers('limit-key-4'), body: chunked(JSON.stringify(example())), duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(200);
    expect((await streamed.json()).parameter[0].valueIdentifier.value).toBe('NWH-100234');
  });
});

describe('exchange runtime: each caller sees its own records; consents must permit the disclosure', () => {
  let s: TestService;
  let bluestem: string;
  let acme: string;
  beforeAll(async () => {
    s = await startTestService({ seed: true, clock: () => new Date('2026-11-27T12:00:00Z') });
    bluestem = await s.token('partner', 'bluestem-mutual');
    acme = await s.token('partner', 'acme-health');
  });
  afterAll(async () => await s.cleanup());

  const V2 = '/exchange/northwind-health/p2p-exchange/v2';
  const ex = (p: string) => structuredClone(doc('northwind-health', '2.0.0').paths[p].post.requestBody.content['application/fhir+json'].example);
  let n = 0;
  const send = (method: string, url: string, token: string, body?: unknown) =>
    s.call(method, url, { token, ...(body === undefined ? {} : { body: JSON.stringify(body), type: 'application/fhir+json' }), headers: { 'Idempotency-Key': `owner-key-${String(n++).padStart(4, '0')}` } });
  const issue = async (res: Response) => ({ status: res.status, text: (await res.json()).issue?.[0]?.diagnostics as string | undefined });

  it("answers 404 to another caller's consent and export job, which it can neither read, revoke, poll nor cancel", async () => {
    const consent = await send('POST', `${V2}/Consent`, bluestem, ex('/Consent'));
    expect(consent.status).toBe(201);
    const consentUrl = consent.headers.get('location')!;
    expect((await send('GET', consentUrl, acme)).status).toBe(404);
    expect((await send('POST', `${consentUrl}/$revoke`, acme, {})).status).toBe(404);
    expect((await (await send('GET', consentUrl, bluestem)).json()).status).toBe('active');

    const started = await send('POST', `${V2}/Group/members-2026/$davinci-data-export`, bluestem, ex('/Group/{groupId}/$davinci-data-export'));
    expect(started.status).toBe(202);
    const job = started.headers.get('content-location')!;
    expect((await send('GET', job, acme)).status).toBe(404);
    expect((await send('DELETE', job, acme)).status).toBe(404);
    expect((await send('GET', job, bluestem)).status).toBe(202);
    // acme has no consent of its own on file: bluestem's does not let it export.
    const borrowed = await issue(await send('POST', `${V2}/Group/members-2026/$davinci-data-export`, acme, ex('/Group/{groupId}/$davinci-data-export')));
    expect(borrowed).toMatchObject({ status: 422, text: expect.stringContaining('no active consent on file') });
  });

  it('refuses to file a consent that does not permit this disclosure to the caller, and never exports on a deny', async () => {
    const deny = ex('/Consent');
    deny.provision.type = 'deny';
    deny.patient.identifier.value = 'NWH-100871';
    expect(await issue(await send('POST', `${V2}/Consent`, bluestem, deny))).toMatchObject({ status: 422, text: expect.stringContaining('not a permit') });
    const exportFor871 = ex('/Group/{groupId}/$davinci-data-export');
    exportFor871.parameter.find((p: { name: string }) => p.name === 'memberIdentifier').valueIdentifier.value = 'NWH-100871';
    expect((await send('POST', `${V2}/Group/members-2026/$davinci-data-export`, bluestem, exportFor871)).status).toBe(422);

    const expired = ex('/Consent');
    expired.provision.period = { start: '2020-01-01', end: '2020-12-31' };
    const otherRecipient = ex('/Consent');
    otherRecipient.provision.actor[1].reference.identifier.value = '9999999999';
    const notAMember = ex('/Consent');
    notAMember.patient.identifier.value = 'NWH-999999';
    expect(await issue(await send('POST', `${V2}/Consent`, bluestem, expired))).toMatchObject({ status: 422, text: expect.stringContaining('period') });
    expect(await issue(await send('POST', `${V2}/Consent`, bluestem, otherRecipient))).toMatchObject({ status: 422, text: expect.stringContaining('not the caller bluestem-mutual') });
    expect(await issue(await send('POST', `${V2}/Consent`, bluestem, notAMember))).toMatchObject({ status: 422, text: expect.stringContaining('not a member') });
  });

  it('$member-match checks the consent roles and that it is for the matched member', async () => {
    const match = ex('/Patient/$member-match');
    const consent = match.parameter.find((p: { name: string }) => p.name === 'Consent').resource;
    const [performer, recipient] = consent.provision.actor;
    consent.provision.actor = [{ ...performer, role: recipient.role }, { ...recipient, role: performer.role }];
    expect(await issue(await send('POST', `${V2}/Patient/$member-match`, bluestem, match))).toMatchObject({ status: 422, text: expect.stringContaining('discloser') });
    const otherMember = ex('/Patient/$member-match');
    otherMember.parameter.find((p: { name: string }) => p.name === 'Consent').resource.patient = { identifier: { system: 'https://northwind-health.example/member-id', value: 'NWH-999999' } };
    expect(await issue(await send('POST', `${V2}/Patient/$member-match`, bluestem, otherMember))).toMatchObject({ status: 422, text: expect.stringContaining('not the matched member') });
    expect((await send('POST', `${V2}/Patient/$member-match`, bluestem, ex('/Patient/$member-match'))).status).toBe(200);
  });

  it('serves HEAD wherever GET is, and continues a trace from a later traceparent version', async () => {
    const consent = await send('POST', `${V2}/Consent`, bluestem, ex('/Consent'));
    const head = await s.call('HEAD', consent.headers.get('location')!, { token: bluestem });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const later = await s.call('GET', consent.headers.get('location')!, { token: bluestem, headers: { traceparent: `01-${trace}-00f067aa0ba902b7-01-what-comes-later` } });
    expect(later.headers.get('traceparent')).toMatch(new RegExp(`^00-${trace}-[0-9a-f]{16}-01$`));
    const malformed = await s.call('GET', consent.headers.get('location')!, { token: bluestem, headers: { traceparent: `00-${trace}-00f067aa0ba902b7-01-extra` } });
    expect(malformed.headers.get('traceparent')).not.toContain(trace);
  });

  it('returns the correlation id and a traceparent on a 401 too', async () => {
    const res = await s.call('GET', `${V2}/Consent/consent-00000000`, { token: null, headers: { 'X-Correlation-Id': 'corr-unauthorised-1' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-correlation-id')).toBe('corr-unauthorised-1');
    expect(res.headers.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('answers 400, not 500, to a malformed percent-encoding in the path', async () => {
    for (const path of [`${V2}/Consent/%ZZ`, `${V2}/Consent/%E0%A4%A`]) {
      const res = await send('GET', path, bluestem);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    }
  });

  it('deduplicates an export request by its Idempotency-Key (a later step of payer-data-export): one job, replay, 422 for another body', async () => {
    await send('POST', `${V2}/Consent`, bluestem, ex('/Consent'));
    const url = `${V2}/Group/members-2026/$davinci-data-export`;
    const once = (body: unknown) => s.call('POST', url, { token: bluestem, body: JSON.stringify(body), type: 'application/fhir+json', headers: { 'Idempotency-Key': 'export-dedupe-0001' } });
    const first = await once(ex('/Group/{groupId}/$davinci-data-export'));
    const again = await once(ex('/Group/{groupId}/$davinci-data-export'));
    expect([first.status, again.status]).toEqual([202, 202]);
    expect(again.headers.get('content-location')).toBe(first.headers.get('content-location'));
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const other = ex('/Group/{groupId}/$davinci-data-export');
    other.parameter.push({ name: '_since', valueInstant: '2026-01-01T00:00:00Z' });
    expect((await once(other)).status).toBe(422);
  });

  it('treats a consent naming another recipient under the same key as a different request (422), not a replay', async () => {
    const capture = (body: unknown) => s.call('POST', `${V2}/Consent`, { body: JSON.stringify(body), type: 'application/fhir+json', headers: { 'Idempotency-Key': 'consent-fp-0001' } });
    expect((await capture(ex('/Consent'))).status).toBe(201);
    const otherRecipient = ex('/Consent');
    otherRecipient.provision.actor[1].reference.identifier.value = '9999999999';
    expect((await capture(otherRecipient)).status).toBe(422);
    expect((await capture(ex('/Consent'))).headers.get('idempotent-replayed')).toBe('true');
  });

  it("finds the caller's own transaction by an idempotency key another caller used too", async () => {
    const [a, b] = [await s.token('admin'), await s.token('admin')];
    const match = (token: string, family: string) => {
      const body = ex('/Patient/$member-match');
      body.parameter[0].resource.name[0].family = family;
      return s.call('POST', `${V2}/Patient/$member-match`, { token, body: JSON.stringify(body), type: 'application/fhir+json', headers: { 'Idempotency-Key': 'shared-key-0001' } });
    };
    expect((await match(a, 'Rivera')).status).toBe(200);
    expect((await match(b, 'Nobody')).status).toBe(422);
    const seen = async (token: string) => (await (await s.call('GET', '/v1/transactions/shared-key-0001', { token })).json()).state;
    expect(await seen(a)).toBe('completed');
    expect(await seen(b)).not.toBe('completed');
    // A duration reaching before year 0 lists everything instead of failing.
    for (const olderThan of ['P999999999D', 'PT999999999999H']) expect((await s.call('GET', `/v1/transactions?olderThan=${olderThan}&state=completed`)).status).toBe(200);
  });

  it('refuses in the dialect the contract documents for the status: 400 as OperationOutcome on a JSON route, 409 as problem+json', async () => {
    const bad = await s.call('POST', `${V2}/acknowledgements`, { token: bluestem, body: JSON.stringify({ exportJobId: 5 }), type: 'application/json', headers: { 'Idempotency-Key': 'dialect-key-0001' } });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe('application/fhir+json');
    expect((await bad.json()).resourceType).toBe('OperationOutcome');
    const finalize = (key: string) => s.call('POST', `${V2}/exchanges/xch-dialect-1/$finalize`, { token: bluestem, body: JSON.stringify({ ...structuredClone(doc('northwind-health', '2.0.0').paths['/exchanges/{exchangeId}/$finalize'].post.requestBody.content['application/json'].example), exchangeId: 'xch-dialect-1', exportJobId: 'job-00000000' }), type: 'application/json', headers: { 'Idempotency-Key': key } });
    await finalize('dialect-key-0002');
    const rejected = await finalize('dialect-key-0002'); // replay policy reject → 409 InFlight/duplicate, documented as problem+json
    expect(rejected.status).toBe(409);
    expect(rejected.headers.get('content-type')).toBe('application/problem+json');
  });

  it("cannot finalise an exchange another caller finalised; the same key for another group is a different request; HEAD changes nothing", async () => {
    const operator = await s.token('admin');
    const exportFor = async (token: string, key: string, group = 'members-2026') => {
      expect((await send('POST', `${V2}/Consent`, token, ex('/Consent'))).status).toBe(201);
      return s.call('POST', `${V2}/Group/${group}/$davinci-data-export`, { token, body: JSON.stringify(ex('/Group/{groupId}/$davinci-data-export')), type: 'application/fhir+json', headers: { 'Idempotency-Key': key } });
    };
    const finalize = (token: string, job: string, key: string) =>
      s.call('POST', `${V2}/exchanges/xch-shared-1/$finalize`, { token, body: JSON.stringify({ ...structuredClone(doc('northwind-health', '2.0.0').paths['/exchanges/{exchangeId}/$finalize'].post.requestBody.content['application/json'].example), exchangeId: 'xch-shared-1', exportJobId: job }), type: 'application/json', headers: { 'Idempotency-Key': key } });
    const jobOf = (res: Response) => res.headers.get('content-location')!.split('/').pop()!;
    const mine = await exportFor(bluestem, 'group-key-0001');
    const theirs = await exportFor(operator, 'group-key-0002');
    expect((await finalize(bluestem, jobOf(mine), 'final-key-0001')).status).toBe(200);
    expect((await finalize(operator, jobOf(theirs), 'final-key-0002')).status).toBe(409);

    // The same key and body for another group: 422, not group A's job replayed.
    const other = await s.call('POST', `${V2}/Group/other-group/$davinci-data-export`, { token: bluestem, body: JSON.stringify(ex('/Group/{groupId}/$davinci-data-export')), type: 'application/fhir+json', headers: { 'Idempotency-Key': 'group-key-0001' } });
    expect(other.status).toBe(422);

    // HEAD on the status URL says what GET would, without using up the poll.
    const status = mine.headers.get('content-location')!;
    expect((await s.call('HEAD', status, { token: bluestem })).status).toBe(202);
    expect((await s.call('HEAD', status, { token: bluestem })).status).toBe(202);
    expect((await s.call('GET', status, { token: bluestem })).status).toBe(202);
    expect((await s.call('GET', status, { token: bluestem })).status).toBe(200);
  });

  it('refuses a finalisation whose body names another exchange than its path, with the 400 its contract documents', async () => {
    const body = { ...structuredClone(doc('northwind-health', '2.0.0').paths['/exchanges/{exchangeId}/$finalize'].post.requestBody.content['application/json'].example), exchangeId: 'xch-1' };
    const res = await s.call('POST', `${V2}/exchanges/xch-OTHER/$finalize`, { token: bluestem, body: JSON.stringify(body), type: 'application/json', headers: { 'Idempotency-Key': 'finalize-mismatch-1' } });
    // $finalize documents 200, 400 and 409 (certification found the former 422 undocumented).
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('not the path');
  });
});
