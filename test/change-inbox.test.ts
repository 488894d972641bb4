import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { openChange, postJson, registerVersion, setConsumers } from './change-fixtures.ts';
import { startTestService, type TestService } from './harness.ts';

/**
 * GET /v1/changes?awaiting=me: a partner's inbox of change requests awaiting its
 * acknowledgement, and an approver's list of what awaits its review.
 */
describe('GET /v1/changes?awaiting=me', () => {
  let s: TestService;
  let bluestem: string;
  let acme: string;
  let northwind: string;
  let author: string;
  let approver: string;
  const ids: Record<string, string> = {};

  const awaiting = async (token: string) => {
    const res = await s.call('GET', '/v1/changes?awaiting=me', { token });
    expect(res.status).toBe(200);
    return ((await res.json()) as Array<{ id: string }>).map((c) => c.id);
  };

  beforeAll(async () => {
    s = await startTestService({ seed: true });
    bluestem = await s.token('partner', 'bluestem-mutual');
    acme = await s.token('partner', 'acme-payer');
    northwind = await s.token('partner', 'northwind-health');
    author = (await createToken(s.deps, 'test', { role: 'author', name: 'alice' })).token;
    approver = (await createToken(s.deps, 'test', { role: 'approver', name: 'bob' })).token;
    await setConsumers(s, 'northwind-health', 'p2p-exchange', ['bluestem-mutual', 'acme-payer']);
    await setConsumers(s, 'bluestem-mutual', 'p2p-exchange', ['northwind-health']);

    // breaking changes: northwind's asks bluestem and acme, bluestem's asks northwind
    await registerVersion(s, 'northwind-health', 'p2p-exchange', '2.1.0', '3.0.0', (d) => delete d.paths['/Consent/{consentId}'], author);
    ids.northwind3 = (await openChange(s, 'northwind-health', 'p2p-exchange', '3.0.0', 'Drop reading one consent', author)).id;
    await registerVersion(s, 'bluestem-mutual', 'p2p-exchange', '1.2.0', '2.0.0', (d) => delete d.paths['/exchanges/{exchangeId}/$finalize'], author);
    ids.bluestem2 = (await openChange(s, 'bluestem-mutual', 'p2p-exchange', '2.0.0', 'Drop the finalize operation', author)).id;
    // non-breaking: nobody acknowledges
    await registerVersion(s, 'northwind-health', 'p2p-exchange', '2.0.0', '2.0.1', (d) => (d.info.description = 'Wording only.'), author);
    ids.patch = (await openChange(s, 'northwind-health', 'p2p-exchange', '2.0.1', 'Wording', author)).id;
    // breaking, then rejected
    await registerVersion(s, 'northwind-health', 'p2p-exchange', '2.1.0', '4.0.0', (d) => delete d.paths['/acknowledgements'], author);
    ids.rejected = (await openChange(s, 'northwind-health', 'p2p-exchange', '4.0.0', 'Drop acknowledgements', author)).id;
    expect((await postJson(s, `/v1/changes/${ids.rejected}/reviews`, { decision: 'reject', comment: 'partners still use it' }, approver)).status).toBe(201);
    // breaking, then released (break-glass, as an admin may)
    await registerVersion(s, 'northwind-health', 'p2p-exchange', '2.1.0', '5.0.0', (d) => delete d.paths['/export-status/{jobId}'], author);
    ids.released = (await openChange(s, 'northwind-health', 'p2p-exchange', '5.0.0', 'Drop export status', author)).id;
    const decision = await postJson(s, '/v1/gate/check', { partner: 'northwind-health', api: 'p2p-exchange', version: '5.0.0', environment: 'production', breakGlass: 'emergency fix, board informed' });
    expect((await decision.json()).verdict).toBe('pass');
    expect((await postJson(s, '/v1/releases', { partner: 'northwind-health', api: 'p2p-exchange', version: '5.0.0', environment: 'production' })).status).toBe(201);
  }, 120_000);
  afterAll(async () => await s.cleanup());

  it("answers a partner with exactly the change requests awaiting its acknowledgement (not another partner's, not rejected or released ones)", async () => {
    expect(await awaiting(bluestem)).toEqual([ids.northwind3]);
    expect(await awaiting(acme)).toEqual([ids.northwind3]);
    expect(await awaiting(northwind)).toEqual([ids.bluestem2]);
    const [summary] = await (await s.call('GET', '/v1/changes?awaiting=me', { token: acme })).json();
    expect(summary).toMatchObject({ id: ids.northwind3, partner: 'northwind-health', version: '3.0.0', breaking: true, requires: { acknowledgements: ['acme-payer', 'bluestem-mutual'] } });
    // what the inbox lists, the partner may open
    expect((await s.call('GET', `/v1/changes/${ids.northwind3}`, { token: acme })).status).toBe(200);
  });

  it('a change leaves the inbox once the partner acknowledged it, and stays in the others’', async () => {
    expect((await postJson(s, `/v1/changes/${ids.northwind3}/acknowledgements`, { comment: 'ready' }, bluestem)).status).toBe(201);
    expect(await awaiting(bluestem)).toEqual([]);
    expect(await awaiting(acme)).toEqual([ids.northwind3]);
  });

  it('answers an approver with the open changes it may still review, and nothing to roles that neither review nor acknowledge', async () => {
    expect(await awaiting(approver)).toEqual([ids.patch, ids.bluestem2, ids.northwind3]);
    expect((await postJson(s, `/v1/changes/${ids.patch}/reviews`, { decision: 'approve' }, approver)).status).toBe(201);
    // one approval is all a non-breaking change needs; a breaking one still awaits it, but not from bob, who reviewed it
    expect((await postJson(s, `/v1/changes/${ids.bluestem2}/reviews`, { decision: 'approve' }, approver)).status).toBe(201);
    expect(await awaiting(approver)).toEqual([ids.northwind3]);
    expect(await awaiting(await s.token('approver'))).toEqual([ids.bluestem2, ids.northwind3]);
    // an approver token of the change's author (a look-alike name) is not asked to review it
    const aliceApprover = (await createToken(s.deps, 'test', { role: 'approver', name: 'Alice' })).token;
    expect(await awaiting(aliceApprover)).toEqual([]);
    expect(await awaiting(author)).toEqual([]);
    expect(await awaiting(await s.token('ci'))).toEqual([]);
  });

  it('keeps the staff list as it was, and refuses it to partners without awaiting=me (403)', async () => {
    const all = await (await s.call('GET', '/v1/changes')).json();
    expect(all.map((c: { id: string }) => c.id)).toEqual([ids.released, ids.rejected, ids.patch, ids.bluestem2, ids.northwind3]);
    const res = await s.call('GET', '/v1/changes', { token: bluestem });
    expect(res.status).toBe(403);
    expect((await res.json()).detail).toContain('awaiting=me');
    // a partner token limited to changes:read lists its inbox
    const limited = (await createToken(s.deps, 'test', { role: 'partner', partner: 'acme-payer', name: 'acme reader', scopes: ['changes:read'] })).token;
    expect(await awaiting(limited)).toEqual([ids.northwind3]);
  });

  it('answers 400 problem+json for another awaiting value or filters with it', async () => {
    for (const query of ['awaiting=you', 'awaiting=', 'awaiting=me&partner=northwind-health']) {
      const res = await s.call('GET', `/v1/changes?${query}`, { token: bluestem });
      expect(res.status, query).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect((await res.json()).code).toBe('bad_request');
    }
  });
});
