import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityKey } from '../src/auth/skeleton.ts';
import { createToken } from '../src/auth/tokens.ts';
import { countedApprovers } from '../src/changes/separation.ts';
import { evaluateGate } from '../src/gate/evaluate.ts';
import { minimalSpec, startTestService, type TestService } from './harness.ts';

describe('identity keys of display names (NFKC, case folding, UTS #39 skeleton)', () => {
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
  ])('%s looks like alice-author (%s)', (name) => {
    expect(identityKey(name)).toBe(identityKey('alice-author'));
  });

  it.each(['bob-author', 'alice-approver', 'alicia-author', 'alice'])('%s is someone else', (name) => {
    expect(identityKey(name)).not.toBe(identityKey('alice-author'));
  });
});

describe('counted approvals', () => {
  const change = { createdBy: 'alice-author', createdByToken: 'tok_a', diffHash: 'h1' };
  const review = (reviewer: string, reviewerToken: string, decision = 'approve', diffHash = 'h1') => ({ reviewer, reviewerToken, decision, diffHash });

  it('count each person once: look-alike names and the same token are one approver', () => {
    expect(countedApprovers(change, [review('bob', 'tok_b'), review('Bob', 'tok_b2'), review('b\u043eb', 'tok_b3'), review('bob renamed', 'tok_b')])).toEqual(['bob']);
    expect(countedApprovers(change, [review('bob', 'tok_b'), review('carol', 'tok_c')])).toEqual(['bob', 'carol']);
  });

  it('never count the author, by token or by a look-alike name', () => {
    expect(countedApprovers(change, [review('Alice-Author', 'tok_x'), review('someone', 'tok_a'), review('\u0430lice-author', 'tok_y')])).toEqual([]);
  });

  it('ignore rejections and reviews of another diff', () => {
    expect(countedApprovers(change, [review('bob', 'tok_b', 'reject'), review('carol', 'tok_c', 'approve', 'h0')])).toEqual([]);
  });

  it('drive the pure gate the same way', () => {
    const facts = {
      now: '2026-11-27T12:00:00.000Z',
      target: { partner: 'p', api: 'a', version: '2.0.0', environment: 'production', state: 'approved', sha256: 'a'.repeat(64) },
      change: { id: 'chg_1', diffHash: 'h1', createdBy: 'alice-author', createdByToken: 'tok_a', requiredApprovals: 2, requiredAcks: [], requiredEvidence: [] },
      diff: { base: '1.0.0', hash: 'h1', summary: { breaking: 0, warning: 0, info: 0, total: 0, distinct: { breaking: 0, warning: 0, info: 0 } }, bump: 'minor', changes: [] },
      reviews: [{ ...review('bob', 'tok_b'), comment: '' }, { ...review('BOB', 'tok_b2'), comment: '' }, { ...review('Alice-Author', 'tok_x'), comment: '' }],
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
  const named = (role: 'author' | 'approver', name: string) => createToken(s.deps, 'test', { role, name }).token;
  const review = (token: string) => s.call('POST', `/v1/changes/${changeId}/reviews`, { token, body: JSON.stringify({ decision: 'approve' }), type: 'application/json' });
  const state = async () => (await (await s.call('GET', '/v1/contracts/acme/member-api/versions/2.0.0')).json()).state as string;

  beforeAll(async () => {
    s = await startTestService();
    const author = named('author', 'alice-author');
    const register = (version: string, spec: string) => s.call('POST', `/v1/contracts/acme/member-api/versions?version=${version}`, { token: author, body: spec, type: 'application/yaml' });
    expect((await register('1.0.0', minimalSpec('1.0.0'))).status).toBe(201);
    // 2.0.0 removes the only operation: breaking, so the default policy asks for two approvals
    expect((await register('2.0.0', 'openapi: 3.1.0\ninfo: {title: Test API, version: 2.0.0}\npaths: {}\n')).status).toBe(201);
    const res = await s.call('POST', '/v1/changes', { token: author, body: JSON.stringify({ partner: 'acme', api: 'member-api', version: '2.0.0', summary: 'drop the member read' }), type: 'application/json' });
    expect(res.status).toBe(201);
    const change = await res.json();
    expect(change.requires.approvals).toBe(2);
    changeId = change.id;
  });
  afterAll(() => s.cleanup());

  it.each([['Alice-Author'], ['\u0430lice-author'], ['ALICE\u2010AUTHOR']])("refuses %s, a look-alike of the author, with 403 and stores nothing", async (name) => {
    const res = await review(named('approver', name));
    expect(res.status).toBe(403);
    expect((await res.json()).detail).toMatch(/author/);
    expect((await (await s.call('GET', `/v1/changes/${changeId}`)).json()).reviews).toEqual([]);
  });

  it('counts two look-alike approvers once; a third person completes the approval', async () => {
    expect((await review(named('approver', 'bob-approver'))).status).toBe(201);
    expect((await review(named('approver', 'Bob-Approver'))).status).toBe(201);
    expect(await state()).toBe('draft');
    const gate = await (await s.call('POST', '/v1/gate/check', { body: JSON.stringify({ partner: 'acme', api: 'member-api', version: '2.0.0', environment: 'production' }), type: 'application/json' })).json();
    expect(gate.reasons.find((r: { rule: string }) => r.rule === 'approvals').message).toMatch(/^1 of 2 approvals/);
    expect((await review(named('approver', 'carol-approver'))).status).toBe(201);
    expect(await state()).toBe('approved');
  });
});
