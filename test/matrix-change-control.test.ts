import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { ADMIN_TOKEN, REPO_ROOT, startTestService, type TestService } from './harness.ts';
import { putApprovedMatrixEntry } from './matrix-helpers.ts';

const read = (file: string) => fs.readFileSync(path.join(REPO_ROOT, 'control-matrix', file), 'utf8');
const YAML = 'application/yaml';

/** The control matrix under change control (ADR 0018): proposals, reviews, break-glass, If-Match, the gate's pending reason. */
describe('control-matrix change control', () => {
  let s: TestService;
  let author: string;
  let authorName: string;
  beforeAll(async () => {
    s = await startTestService({ seed: true, env: { ACCORD_OUTBOUND_ALLOW_PRIVATE: 'true' } });
    const created = await createToken(s.deps, 'test', { role: 'author', name: 'Alice Author' });
    author = created.token;
    authorName = 'Alice Author';
  });
  afterAll(async () => {
    await s.expectIndexMatchesTags();
    await s.cleanup();
  });

  const put = (flow: string, body: string, options: { token?: string; headers?: Record<string, string>; query?: string } = {}) =>
    s.call('PUT', `/v1/control-matrix/${flow}${options.query ?? ''}`, { body, type: YAML, ...(options.token ? { token: options.token } : {}), ...(options.headers ? { headers: options.headers } : {}) });
  const review = (flow: string, version: number, token: string, decision: 'approve' | 'reject' = 'approve', comment?: string) =>
    s.call('POST', `/v1/control-matrix/${flow}/proposals/${version}/reviews`, { body: JSON.stringify({ decision, ...(comment !== undefined ? { comment } : {}) }), type: 'application/json', token });
  const entryOf = async (flow: string) => await (await s.call('GET', `/v1/control-matrix/${flow}`)).json();
  const gate = async (version = '1.0.0') =>
    await (await s.call('POST', '/v1/gate/check', { body: JSON.stringify({ partner: 'northwind-health', api: 'p2p-exchange', version, environment: 'production' }), type: 'application/json' })).json();
  const pendingProposals = (decision: { reasons: Array<{ rule: string; status: string; message: string; howToFix: string }> }) => decision.reasons.filter((r) => r.rule === 'matrix-proposals');
  const problem = async (res: Response, status: number) => {
    expect(res.status, await res.clone().text()).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    return await res.json();
  };

  it('an author’s proposal that weakens idempotency governs neither the gate nor the runtime until approvers other than the author approve it (approvals.breaking of them)', async () => {
    const weaker = read('member-match.yaml').replace('dedupeWindow: P1D', 'dedupeWindow: PT12H');
    const res = await put('member-match', weaker, { token: author });
    expect(res.status).toBe(201);
    const proposal = await res.json();
    expect(proposal).toMatchObject({ version: 2, status: 'proposed', baseVersion: 1, createdBy: authorName, breaking: true, approvals: { counted: 0, required: 2, by: [] } });
    const full = await (await s.call('GET', '/v1/control-matrix/member-match/proposals/2')).json();
    expect(full.diff.changes).toEqual([expect.objectContaining({ rule: 'matrix-dedupe-window-shortened', level: 'breaking', location: '/idempotency/dedupeWindow' })]);

    // The gate and the runtime read version 1; the gate says a proposal is pending and how to approve it.
    expect((await s.runtime.routes.flow('member-match'))!.idempotency.dedupeWindow).toBe('P1D');
    expect((await entryOf('member-match')).version).toBe(1);
    let decision = await gate();
    expect(decision.verdict).toBe('pending');
    expect(pendingProposals(decision)).toEqual([
      {
        rule: 'matrix-proposals',
        status: 'pending',
        message: expect.stringContaining('Control-matrix flow member-match has an open proposal: version 2 by Alice Author (against version 1)'),
        howToFix: expect.stringContaining('POST /v1/control-matrix/member-match/proposals/2/reviews'),
      },
    ]);
    expect(pendingProposals(decision)[0]!.howToFix).toContain('accord matrix approve member-match 2');
    expect((await s.call('GET', `/v1/gate/decisions/${decision.decisionId}`)).status).toBe(200);

    // Authors do not review; the author may not approve as an approver with a look-alike name either.
    expect((await problem(await review('member-match', 2, author), 403)).detail).toContain('needs admin or approver');
    const lookAlike = (await createToken(s.deps, 'test', { role: 'approver', name: 'ALICE AUTHOR' })).token;
    expect((await problem(await review('member-match', 2, lookAlike), 403)).detail).toContain('may not review it');

    // One approval of two: still proposed, still not governing; the same person cannot count twice.
    const first = await s.token('approver');
    const once = await review('member-match', 2, first, 'approve', 'window is enough for our retries');
    expect(once.status).toBe(201);
    expect((await once.json()).proposal).toMatchObject({ status: 'proposed', approvals: { counted: 1, required: 2 } });
    expect((await problem(await review('member-match', 2, first), 409)).detail).toContain('already reviewed');
    expect((await s.runtime.routes.flow('member-match'))!.idempotency.dedupeWindow).toBe('P1D');
    expect(pendingProposals(await gate())).toHaveLength(1);

    const twice = await review('member-match', 2, await s.token('approver'));
    expect(twice.status).toBe(201);
    const approved = (await twice.json()).proposal;
    expect(approved).toMatchObject({ status: 'approved', approvals: { counted: 2, required: 2 }, decidedBy: expect.stringMatching(/^approver-/) });
    expect((await s.runtime.routes.flow('member-match'))!.idempotency.dedupeWindow).toBe('PT12H');
    const entry = await s.call('GET', '/v1/control-matrix/member-match');
    expect(entry.headers.get('etag')).toBe('"v2"');
    expect((await entry.json()).entry.idempotency.dedupeWindow).toBe('PT12H');
    decision = await gate();
    expect(pendingProposals(decision)).toEqual([]);
    const audit = await (await s.call('GET', '/v1/audit?limit=1000')).json();
    expect(audit.find((a: { action: string }) => a.action === 'matrix.proposal-approved')).toMatchObject({ target: 'control-matrix/member-match@v2', detail: { breaking: true, required: 2 } });
    expect((await problem(await review('member-match', 2, await s.token('approver')), 409)).detail).toContain('already approved');
  });

  it('a replay-policy change needs the policy’s approvals.breaking, as the policy says now', async () => {
    const stricter = read('policy.yaml').replace('breaking: 2', 'breaking: 3');
    expect((await s.call('PUT', '/v1/policy', { body: stricter, type: YAML })).status).toBe(201);
    try {
      const res = await put('finalisation', read('finalisation.yaml').replace('replayPolicy: reject', 'replayPolicy: return-original'), { token: author });
      const proposal = await res.json();
      expect(proposal).toMatchObject({ status: 'proposed', breaking: true, approvals: { required: 3 } });
      const full = await (await s.call('GET', `/v1/control-matrix/finalisation/proposals/${proposal.version}`)).json();
      expect(full.diff.changes.map((c: { rule: string; level: string }) => `${c.rule} ${c.level}`)).toEqual(['matrix-replay-policy-changed breaking']);
      for (let i = 0; i < 2; i++) expect((await review('finalisation', proposal.version, await s.token('approver'))).status).toBe(201);
      expect((await entryOf('finalisation')).entry.idempotency.replayPolicy).toBe('reject');
      const third = await (await review('finalisation', proposal.version, await s.token('approver'))).json();
      expect(third.proposal).toMatchObject({ status: 'approved', approvals: { counted: 3, required: 3 } });
      expect((await entryOf('finalisation')).entry.idempotency.replayPolicy).toBe('return-original');
    } finally {
      expect((await s.call('PUT', '/v1/policy', { body: read('policy.yaml'), type: YAML })).status).toBe(201);
    }
  });

  it('a rejected proposal stays out; the same content on the same base cannot be proposed again', async () => {
    const body = read('consent-capture.yaml').replace('dedupeWindow: P7D', 'dedupeWindow: P2D');
    const proposal = await (await put('consent-capture', body, { token: author })).json();
    const approver = await s.token('approver');
    const noReason = await problem(await review('consent-capture', proposal.version, approver, 'reject'), 422);
    expect(noReason.errors).toEqual([{ location: '/comment', message: 'say why the change is rejected' }]);
    const rejected = await review('consent-capture', proposal.version, approver, 'reject', 'consents are replayed for a week');
    expect(rejected.status).toBe(201);
    expect((await rejected.json()).proposal).toMatchObject({ status: 'rejected', decidedBy: expect.stringMatching(/^approver-/) });
    expect((await entryOf('consent-capture')).entry.idempotency.dedupeWindow).toBe('P7D');
    expect((await s.runtime.routes.flow('consent-capture'))!.idempotency.dedupeWindow).toBe('P7D');
    expect((await problem(await review('consent-capture', proposal.version, await s.token('approver')), 409)).detail).toContain('rejected by');
    expect(pendingProposals(await gate())).toEqual([]);
    expect((await problem(await put('consent-capture', body, { token: author }), 409)).detail).toContain('was rejected');
    const listed = await (await s.call('GET', '/v1/control-matrix/consent-capture/proposals?status=rejected')).json();
    expect(listed.map((p: { version: number }) => p.version)).toEqual([proposal.version]);
    expect(listed[0].reviews).toEqual([expect.objectContaining({ decision: 'reject', comment: 'consents are replayed for a week' })]);
  });

  it('If-Match: a stale ETag → 412 naming the approved version and nothing is written; the current one, * and none are accepted', async () => {
    const read1 = await s.call('GET', '/v1/control-matrix/acknowledgement');
    const etag = read1.headers.get('etag')!;
    expect(etag).toBe('"v1"');
    // Someone else's change is approved meanwhile (an admin breaking glass).
    const other = read('acknowledgement.yaml').replace('title: Acknowledgement of receipt', 'title: Acknowledgement of receipt (renamed)');
    expect((await put('acknowledgement', other, { query: '?breakGlass=incident%20INC-42%20needs%20it%20now' })).status).toBe(201);
    const head = s.git('rev-parse', 'HEAD');
    const tags = s.git('tag', '--list').trim();
    const rows = await s.deps.db.$sql.value('SELECT count(*) FROM matrix_versions');
    const mine = read('acknowledgement.yaml').replace('dedupeWindow: P1D', 'dedupeWindow: P2D');
    const stale = await problem(await put('acknowledgement', mine, { token: author, headers: { 'If-Match': etag } }), 412);
    expect(stale).toMatchObject({ code: 'precondition_failed', currentVersion: 2, etag: '"v2"' });
    expect(stale.detail).toContain('version 2 is approved now');
    expect(stale.detail).toContain('Nothing was stored');
    await problem(await put('acknowledgement', mine, { token: author, headers: { 'If-Match': 'W/"v2"' } }), 412);
    await problem(await put('acknowledgement', mine, { token: author, headers: { 'If-None-Match': '*' } }), 412);
    expect(s.git('rev-parse', 'HEAD')).toBe(head);
    expect(s.git('tag', '--list').trim()).toBe(tags);
    expect(await s.deps.db.$sql.value('SELECT count(*) FROM matrix_versions')).toBe(rows);

    const fresh = await put('acknowledgement', mine, { token: author, headers: { 'If-Match': '"v1", "v2"' } });
    expect(fresh.status).toBe(201);
    expect(await fresh.json()).toMatchObject({ version: 3, status: 'proposed', baseVersion: 2 });
    const star = await put('acknowledgement', mine, { token: author, headers: { 'If-Match': '*' } });
    expect(star.status).toBe(200);
    expect(await star.json()).toMatchObject({ version: 3, status: 'proposed' });
    expect((await put('acknowledgement', mine, { token: author })).status).toBe(200);

    // A new flow: If-None-Match: * proposes its first version; it is not in the table until approved.
    const newFlow = read('consent-capture.yaml').replace('flow: consent-capture', 'flow: consent-renewal');
    await problem(await put('consent-renewal', newFlow, { token: author, headers: { 'If-Match': '*' } }), 412);
    const first = await put('consent-renewal', newFlow, { token: author, headers: { 'If-None-Match': '*' } });
    expect(first.status).toBe(201);
    expect(first.headers.get('etag')).toBeNull();
    expect(await first.json()).toMatchObject({ version: 1, status: 'proposed', baseVersion: null, diff: { summary: { info: 1 } }, approvals: { required: 1 } });
    expect((await problem(await s.call('GET', '/v1/control-matrix/consent-renewal'), 404)).detail).toContain('/proposals');
    expect((await (await s.call('GET', '/v1/control-matrix')).json()).map((r: { flow: string }) => r.flow)).not.toContain('consent-renewal');
    await putApprovedMatrixEntry(s, 'consent-renewal', newFlow, { token: author });
    expect((await (await s.call('GET', '/v1/control-matrix')).json()).map((r: { flow: string }) => r.flow)).toContain('consent-renewal');
  });

  it('break-glass: an admin stores a version approved at once with a reason — audited, a review item, a webhook event; open proposals are superseded', async () => {
    const hook = await s.call('POST', '/v1/webhooks', { body: JSON.stringify({ url: 'http://127.0.0.1:9/hook', secret: 'a-very-long-webhook-secret-123', events: ['matrix.break-glass'] }), type: 'application/json' });
    expect(hook.status, await hook.clone().text()).toBe(201);
    const open = await (await put('payer-data-export', read('payer-data-export.yaml').replace('dedupeWindow: P2D', 'dedupeWindow: P3D'), { token: author })).json();
    expect(open.status).toBe('proposed');
    const urgent = read('payer-data-export.yaml').replace('title: Payer-to-payer data export', 'title: Payer-to-payer data export (hotfix)');
    await problem(await put('payer-data-export', urgent, { token: author, query: '?breakGlass=production%20is%20down%20right%20now' }), 403);
    await problem(await put('payer-data-export', urgent, { query: '?breakGlass=now' }), 400);
    const res = await put('payer-data-export', urgent, { query: `?breakGlass=${encodeURIComponent('incident INC-7: escalation contact changed overnight')}` });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toMatch(/\/v1\/control-matrix\/payer-data-export\?version=\d+$/);
    const stored = await res.json();
    expect(stored).toMatchObject({ status: 'approved', breakGlass: 'incident INC-7: escalation contact changed overnight', decidedBy: 'initial admin', baseVersion: 1 });
    expect(res.headers.get('etag')).toBe(`"v${stored.version}"`);
    expect((await s.runtime.routes.flow('payer-data-export'))!.title).toBe('Payer-to-payer data export (hotfix)');

    const audit = await (await s.call('GET', '/v1/audit?limit=1000')).json();
    const target = `control-matrix/payer-data-export@v${stored.version}`;
    expect(audit.find((a: { action: string; target: string }) => a.action === 'matrix.break-glass' && a.target === target)).toMatchObject({ actor: 'initial admin', detail: { reason: 'incident INC-7: escalation contact changed overnight', baseVersion: 1 } });
    const items = await (await s.call('GET', '/v1/review-items?status=open')).json();
    expect(items.find((i: { decisionId: string }) => i.decisionId === `control-matrix/payer-data-export/v${stored.version}`)).toMatchObject({ partner: '*', api: 'p2p-exchange', reason: expect.stringContaining('break-glass') });
    const payloads = ((await s.deps.db.$sql.column("SELECT payload FROM webhook_deliveries WHERE event_type = 'matrix.break-glass'")) as string[]).map((p) => JSON.parse(p));
    expect(payloads.map((p) => p.data)).toContainEqual(expect.objectContaining({ flow: 'payer-data-export', version: stored.version, by: 'initial admin' }));

    // The proposal written against version 1 no longer applies: superseded, and approving it says to propose again.
    const before = await (await s.call('GET', `/v1/control-matrix/payer-data-export/proposals/${open.version}`)).json();
    expect(before).toMatchObject({ status: 'superseded', approvedVersion: stored.version });
    expect((await problem(await review('payer-data-export', open.version, await s.token('approver')), 409)).detail).toContain('propose again');
    // Without a reason an admin's write is a proposal like anyone's.
    expect(await (await put('payer-data-export', urgent.replace('(hotfix)', '(hotfix 2)'))).json()).toMatchObject({ status: 'proposed', createdBy: 'initial admin' });
  });

  it('several proposals may be open; a new one by the same author on the same base replaces theirs; approving one supersedes the rest', async () => {
    const flow = 'consent-renewal';
    const base = (await entryOf(flow)).version;
    const other = await s.token('author');
    const mineA = await (await put(flow, read('consent-capture.yaml').replace('flow: consent-capture', `flow: ${flow}`).replace('title: Consent capture', 'title: Consent renewal A'), { token: author })).json();
    const mineB = await (await put(flow, read('consent-capture.yaml').replace('flow: consent-capture', `flow: ${flow}`).replace('title: Consent capture', 'title: Consent renewal B'), { token: author })).json();
    const theirs = await (await put(flow, read('consent-capture.yaml').replace('flow: consent-capture', `flow: ${flow}`).replace('title: Consent capture', 'title: Consent renewal C'), { token: other })).json();
    const list = await s.call('GET', `/v1/control-matrix/${flow}/proposals`);
    expect(list.headers.get('etag')).toBe(`"v${base}"`);
    expect((await list.json()).map((p: { version: number; baseVersion: number }) => [p.version, p.baseVersion])).toEqual([
      [theirs.version, base],
      [mineB.version, base],
    ]);
    expect((await (await s.call('GET', `/v1/control-matrix/${flow}/proposals/${mineA.version}`)).json()).status).toBe('superseded');

    expect((await review(flow, theirs.version, await s.token('approver'))).status).toBe(201);
    expect((await entryOf(flow)).entry.title).toBe('Consent renewal C');
    const conflict = await problem(await review(flow, mineB.version, await s.token('approver')), 409);
    expect(conflict.detail).toContain('superseded');
    expect(conflict).toMatchObject({ status: 409, proposalStatus: 'superseded' });
    const all = await (await s.call('GET', `/v1/control-matrix/${flow}/proposals?status=all`)).json();
    expect(Object.fromEntries(all.map((p: { version: number; status: string }) => [p.version, p.status]))).toMatchObject({ [mineA.version]: 'superseded', [mineB.version]: 'superseded', [theirs.version]: 'approved' });
    expect((await s.call('GET', `/v1/control-matrix/${flow}/proposals?status=maybe`)).status).toBe(400);
    expect((await s.call('GET', '/v1/control-matrix/no-such-flow/proposals')).status).toBe(404);
    expect((await s.call('GET', `/v1/control-matrix/${flow}/proposals/999`)).status).toBe(404);
  });

  it('an admin who proposes may not approve their own proposal either', async () => {
    const body = read('acknowledgement.yaml').replace('title: Acknowledgement of receipt', 'title: Acknowledgement of receipt (admin)');
    const proposal = await (await put('acknowledgement', body)).json();
    expect(proposal).toMatchObject({ status: 'proposed', createdBy: 'initial admin' });
    expect((await problem(await review('acknowledgement', proposal.version, ADMIN_TOKEN), 403)).detail).toContain('proposed by initial admin');
    expect(await putApprovedMatrixEntry(s, 'acknowledgement', body)).toMatchObject({ version: proposal.version, status: 'approved' });
    expect((await entryOf('acknowledgement')).entry.title).toBe('Acknowledgement of receipt (admin)');
  });

  it('a proposal reads as Markdown or text too', async () => {
    const proposal = await (await put('member-match', read('member-match.yaml').replace('dedupeWindow: P1D', 'dedupeWindow: PT6H'), { token: author })).json();
    expect(proposal.baseVersion).toBe(2);
    const md = await s.call('GET', `/v1/control-matrix/member-match/proposals/${proposal.version}?format=markdown`);
    expect(md.headers.get('content-type')).toContain('text/markdown');
    expect(md.headers.get('etag')).toBe('"v2"');
    expect(await md.text()).toContain('dedupe window shortened from PT12H to PT6H');
    expect(await (await s.call('GET', `/v1/control-matrix/member-match/proposals/${proposal.version}?format=text`)).text()).toContain('PT6H');
  });
});
