import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { looksAlike } from '../src/auth/skeleton.ts';
import { createToken } from '../src/auth/tokens.ts';
import { changeAuthors, countedApprovers } from '../src/changes/separation.ts';
import { evaluateGate } from '../src/gate/evaluate.ts';
import { ADMIN_TOKEN, minimalSpec, startTestService, type TestService } from './harness.ts';

describe('identity keys of display names (NFKC, UTS #39 skeleton in every case, marks and invisibles dropped)', () => {
  it.each([
    ['Alice-Author', 'case'],
    ['ALICE-AUTHOR', 'case'],
    ['\u0430lice-author', 'Cyrillic а'],
    ['alice-\u0430uthor', 'Cyrillic а inside'],
    ['\uff41lice-author', 'fullwidth a (NFKC)'],
    ['alice\u2010author', 'Unicode hyphen'],
    ['alice-auth0r', 'zero for o'],
    ['a\u200blice-author', 'zero-width space'],
    ['alice-author ', 'trailing space'],
    ['\u{1d5ba}lice-author', 'mathematical sans-serif a'],
    ['aIice-author', 'capital I for l'],
    ['ALICE-AUTHOR', 'all capitals, where I looks like l'],
    ['alice-author\u2800', 'trailing braille blank'],
    ['ali\u0307ce-author', 'combining dot above'],
    ['a\u0301lice-author', 'combining acute'],
    ['alice-author\u3164', 'Hangul filler'],
  ])('%s looks like alice-author (%s)', (name) => {
    expect(looksAlike(name, 'alice-author')).toBe(true);
    expect(looksAlike('alice-author', name)).toBe(true);
  });

  it.each(['bob-author', 'alice-approver', 'alicia-author', 'alice', 'alice-authors'])('%s is someone else', (name) => {
    expect(looksAlike(name, 'alice-author')).toBe(false);
  });
});

describe('counted approvals', () => {
  const authors = changeAuthors({ createdBy: 'alice-author', createdByToken: 'tok_a' }, 'carol-registrar');
  const review = (reviewer: string, reviewerToken: string, decision = 'approve', diffHash = 'h1') => ({ reviewer, reviewerToken, decision, diffHash });

  it('count each person once: look-alike names and the same token are one approver', () => {
    expect(countedApprovers(authors, 'h1', [review('bob', 'tok_b'), review('Bob', 'tok_b2'), review('b\u043eb', 'tok_b3'), review('bob renamed', 'tok_b')])).toEqual(['bob']);
    expect(countedApprovers(authors, 'h1', [review('bob', 'tok_b'), review('carol', 'tok_c')])).toEqual(['bob', 'carol']);
  });

  it('never count an author (who opened the change, who registered the version), by token or by a look-alike name', () => {
    expect(countedApprovers(authors, 'h1', [review('Alice-Author', 'tok_x'), review('someone', 'tok_a'), review('\u0430lice-author', 'tok_y'), review('Carol-Registrar', 'tok_z'), review('caroI-registrar', 'tok_w')])).toEqual([]);
  });

  it('ignore rejections and reviews of another diff', () => {
    expect(countedApprovers(authors, 'h1', [review('bob', 'tok_b', 'reject'), review('carol', 'tok_c', 'approve', 'h0')])).toEqual([]);
  });

  it('drive the pure gate the same way', () => {
    const facts = {
      now: '2026-11-27T12:00:00.000Z',
      target: { partner: 'p', api: 'a', version: '2.0.0', environment: 'production', state: 'approved', sha256: 'a'.repeat(64), registeredBy: 'dave' },
      change: { id: 'chg_1', diffHash: 'h1', createdBy: 'alice-author', createdByToken: 'tok_a', requiredApprovals: 2, requiredAcks: [], requiredEvidence: [] },
      diff: { base: '1.0.0', hash: 'h1', summary: { breaking: 0, warning: 0, info: 0, total: 0, distinct: { breaking: 0, warning: 0, info: 0 } }, bump: 'minor', changes: [] },
      reviews: [{ ...review('bob', 'tok_b'), comment: '' }, { ...review('BOB', 'tok_b2'), comment: '' }, { ...review('Alice-Author', 'tok_x'), comment: '' }, { ...review('dave', 'tok_d'), comment: '' }],
      acks: [],
      evidence: [],
      flows: [],
      changedOperations: [],
      freezes: [],
      previousRelease: '1.0.0',
    };
    const approvals = evaluateGate(facts as never).reasons.find((r) => r.rule === 'approvals')!;
    expect(approvals.status).toBe('pending');
    expect(approvals.message).toMatch(/^1 of 2 approvals/);
  });
});

describe('separation of duties over HTTP', () => {
  let s: TestService;
  let changeId: string;
  const named = async (role: 'author' | 'approver', name: string) => (await createToken(s.deps, 'test', { role, name })).token;
  const review = (token: string) => s.call('POST', `/v1/changes/${changeId}/reviews`, { token, body: JSON.stringify({ decision: 'approve' }), type: 'application/json' });
  const state = async () => (await (await s.call('GET', '/v1/contracts/acme/member-api/versions/2.0.0')).json()).state as string;

  beforeAll(async () => {
    s = await startTestService();
    const author = await named('author', 'alice-author');
    const register = (version: string, spec: string) => s.call('POST', `/v1/contracts/acme/member-api/versions?version=${version}`, { token: author, body: spec, type: 'application/yaml' });
    expect((await register('1.0.0', minimalSpec('1.0.0'))).status).toBe(201);
    // 2.0.0 removes the only operation: breaking, so the default policy asks for two approvals; the admin registers it
    expect((await s.call('POST', '/v1/contracts/acme/member-api/versions?version=2.0.0', { body: 'openapi: 3.1.0\ninfo: {title: Test API, version: 2.0.0}\npaths: {}\n', type: 'application/yaml' })).status).toBe(201);
    const res = await s.call('POST', '/v1/changes', { token: author, body: JSON.stringify({ partner: 'acme', api: 'member-api', version: '2.0.0', summary: 'drop the member read' }), type: 'application/json' });
    expect(res.status).toBe(201);
    const change = await res.json();
    expect(change.requires.approvals).toBe(2);
    changeId = change.id;
  });
  afterAll(async () => await s.cleanup());

  it.each([['Alice-Author'], ['\u0430lice-author'], ['ALICE\u2010AUTHOR'], ['aIice-author'], ['ali\u0307ce-author'], ['alice-author\u2800'], ['Initial Admin'], ['initiaI admin']])(
    'refuses %s, a look-alike of whoever opened the change or registered the version, with 403 and stores nothing',
    async (name) => {
      const res = await review(await named('approver', name));
      expect(res.status).toBe(403);
      expect((await res.json()).detail).toMatch(/opened a change request or registered its version/);
      expect((await (await s.call('GET', `/v1/changes/${changeId}`)).json()).reviews).toEqual([]);
    },
  );

  it('refuses the very token that registered the version, though someone else opened the change', async () => {
    expect((await review(ADMIN_TOKEN)).status).toBe(403);
    expect((await (await s.call('GET', `/v1/changes/${changeId}`)).json()).reviews).toEqual([]);
  });

  it('counts two look-alike approvers once; a third person completes the approval', async () => {
    expect((await review(await named('approver', 'bob-approver'))).status).toBe(201);
    expect((await review(await named('approver', 'Bob-Approver'))).status).toBe(201);
    expect(await state()).toBe('draft');
    const gate = await (await s.call('POST', '/v1/gate/check', { body: JSON.stringify({ partner: 'acme', api: 'member-api', version: '2.0.0', environment: 'production' }), type: 'application/json' })).json();
    expect(gate.reasons.find((r: { rule: string }) => r.rule === 'approvals').message).toMatch(/^1 of 2 approvals/);
    expect((await review(await named('approver', 'carol-approver'))).status).toBe(201);
    expect(await state()).toBe('approved');
  });
});
