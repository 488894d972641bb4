import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { openChange, postJson, registerVersion } from './change-fixtures.ts';
import { signIn, type ConsoleUser } from './console-helpers.ts';
import { REPO_ROOT, startTestService, type TestService } from './harness.ts';
import { putApprovedMatrixEntry } from './matrix-helpers.ts';

/**
 * The console's change requests, driven as a user would: a breaking 3.0.0 registered and its
 * change request opened through the API, then approvers, the author, the consuming partner,
 * another partner and an admin at work in the console.
 */
describe('console: change requests', () => {
  let s: TestService;
  let id: string;
  let bob: ConsoleUser;
  let carol: ConsoleUser;
  let aliceApprover: ConsoleUser;
  let bluestem: ConsoleUser;
  let acme: ConsoleUser;
  let admin: ConsoleUser;
  let alice: string;
  const page = async (user: ConsoleUser, path: string, status = 200) => {
    const res = await user.get(path);
    expect(res.status, path).toBe(status);
    return res.text();
  };
  const stored = async (table: 'change_reviews' | 'change_acks' | 'releases' | 'gate_decisions') => (await s.deps.db.$sql.value(`SELECT count(*) FROM ${table}`)) as number;
  /** The text of a section of a page, from its heading to the next h2 (tags removed, entities decoded). */
  const section = (html: string, heading: string) => {
    const start = html.indexOf(`>${heading}</h2>`);
    expect(start, heading).toBeGreaterThan(0);
    const end = html.indexOf('<h2', start);
    const text = html.slice(start, end < 0 ? undefined : end).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');
    return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
  };

  beforeAll(async () => {
    s = await startTestService({ seed: true });
    alice = (await createToken(s.deps, 'test', { role: 'author', name: 'alice' })).token;
    // the author registers a breaking 3.0.0 (an operation removed, finalisation must say who) and
    // extends the controls of the flows it touches to 3.x, then opens its change request
    await registerVersion(s, 'northwind-health', 'p2p-exchange', '2.1.0', '3.0.0', (d) => {
      delete d.paths['/Consent/{consentId}'];
      d.components.schemas.Finalization.required.push('finalizedBy');
      d.components.schemas.Finalization.properties.finalizedBy = { type: 'string' };
      d.paths['/exchanges/{exchangeId}/$finalize'].post.requestBody.content['application/json'].example.finalizedBy = 'bluestem-mutual';
    }, alice);
    for (const flow of ['finalisation', 'payer-data-export']) {
      const entry = fs.readFileSync(path.join(REPO_ROOT, `control-matrix/${flow}.yaml`), 'utf8').replace('>=1.0.0 <3.0.0', '>=1.0.0 <4.0.0');
      // proposed by the author, approved by an approver (ADR 0018)
      expect((await putApprovedMatrixEntry(s, flow, entry, { token: alice })).baseVersion).toBe(1);
    }
    id = (await openChange(s, 'northwind-health', 'p2p-exchange', '3.0.0', 'Reading one consent moves to the consent search', alice)).id;
    bob = await signIn(s, (await createToken(s.deps, 'test', { role: 'approver', name: 'bob' })).token);
    carol = await signIn(s, (await createToken(s.deps, 'test', { role: 'approver', name: 'carol' })).token);
    aliceApprover = await signIn(s, (await createToken(s.deps, 'test', { role: 'approver', name: 'Alice' })).token);
    bluestem = await signIn(s, await s.token('partner', 'bluestem-mutual'));
    acme = await signIn(s, await s.token('partner', 'acme-payer'));
    admin = await signIn(s, await s.token('admin'));
  }, 60_000);
  afterAll(async () => await s.cleanup());

  it('shows an approver the change in its review queue, with tabs, and everything about it on one page', async () => {
    const queue = await page(bob, '/console/changes');
    expect(queue).toMatch(/<a href="\/console\/changes\?tab=review" aria-current="page">Awaiting my review<\/a>/);
    for (const tab of ['acks', 'ready', 'released']) expect(queue).toContain(`href="/console/changes?tab=${tab}"`);
    expect(queue).toContain(`href="/console/changes/${id}">northwind-health/p2p-exchange@3.0.0</a>`);
    expect(queue).toContain('<span class="badge breaking">breaking</span>');
    expect(queue).toContain('0 of 2');
    expect(await page(bob, '/console/changes?tab=ready')).toContain('No change requests here.');

    const html = await page(bob, `/console/changes/${id}`);
    expect(html).toContain('<h1>Change request northwind-health/p2p-exchange@3.0.0</h1>');
    expect(section(html, 'Summary')).toContain('Reading one consent moves to the consent search');
    expect(section(html, 'Summary')).toContain('Awaiting review');
    expect(section(html, 'Gate preview')).toContain('PENDING');
    expect(section(html, 'Gate preview')).toContain('approvals : 0 of 2 approvals');
    const changed = section(html, 'What changed?');
    expect(changed).toMatch(/a major change — [1-9]\d* breaking/);
    expect(changed).toContain('Flows touched: finalisation , payer-data-export');
    expect(html).toContain('<a href="/console/matrix/finalisation">finalisation</a>');
    const detection = section(html, 'How is breakage detected?');
    expect(detection).toContain('No contract-test evidence for this content');
    expect(detection).toContain('finalisation (owner data-exchange <data-exchange@accord-network.example>): every hop logs correlation-id');
    expect(detection).toContain('SLA: timeToAcknowledge p95 within PT5S');
    expect(detection).toContain('must still acknowledge bluestem-mutual');
    expect(detection).toContain('the policy asks every consumer the change affects to acknowledge breaking changes');
    expect(detection).toContain('bluestem-mutual: usage unknown (nothing declared, no calls observed), so every change counts');
    const recovery = section(html, 'How do we recover?');
    expect(recovery).toContain('Roll back to: northwind-health/p2p-exchange@2.1.0');
    expect(recovery).toContain('finalisation finalise (finalizeExchange) mark-inactive');
    expect(section(html, 'Approvals')).toContain('No reviews yet.');
    expect(html).toContain(`action="/console/changes/${id}/reviews"`);
    // an approver neither acknowledges nor releases
    expect(html).not.toContain(`/console/changes/${id}/acknowledgements`);
    expect(html).not.toContain(`/console/changes/${id}/releases`);
  });

  it("refuses the author's review in place (separation of duties), and stores nothing", async () => {
    const html = await page(aliceApprover, `/console/changes/${id}`);
    expect(section(html, 'Approvals')).toContain('you may not review it (separation of duties)');
    expect(html).not.toContain(`action="/console/changes/${id}/reviews"`);
    // the review queue does not ask her
    expect(await page(aliceApprover, '/console/changes')).not.toContain(id);
    const forged = await aliceApprover.post(`/console/changes/${id}/reviews`, { decision: 'approve', comment: 'my own work looks fine' });
    expect(forged.status).toBe(403);
    const refused = await forged.text();
    expect(refused).toContain('<h1>Change request northwind-health/p2p-exchange@3.0.0</h1>');
    expect(refused).toMatch(/<div class="error" role="alert"><p>Whoever opened a change request or registered its version may not review it/);
    expect(await stored('change_reviews')).toBe(0);
  });

  it('an approval changes the gate preview; two make the approvals met and move the change to the acknowledgements tab', async () => {
    const res = await bob.post(`/console/changes/${id}/reviews`, { decision: 'approve', comment: 'diff reviewed' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/changes/${id}?done=approved`);
    const after = await page(bob, `/console/changes/${id}?done=approved`);
    expect(after).toContain('Your approval is recorded.');
    expect(section(after, 'Gate preview')).toContain('approvals : 1 of 2 approvals');
    expect(section(after, 'Approvals')).toMatch(/bob approved yes diff reviewed/);
    expect(section(after, 'Approvals')).toContain('You have reviewed this diff already');
    // bob reviewed it: it no longer awaits his review
    expect(await page(bob, '/console/changes')).not.toContain(id);

    // a rejection needs a reason: refused in place with the form's errors, nothing stored
    const noReason = await carol.post(`/console/changes/${id}/reviews`, { decision: 'reject' });
    expect(noReason.status).toBe(422);
    expect(await noReason.text()).toContain('say why the change is rejected');
    expect(await stored('change_reviews')).toBe(1);

    expect((await carol.post(`/console/changes/${id}/reviews`, { decision: 'approve' })).status).toBe(303);
    const met = await page(carol, `/console/changes/${id}`);
    expect(section(met, 'Gate preview')).toContain('Approved by bob, carol (2 of 2 required)');
    expect(section(met, 'Summary')).toContain('Awaiting acknowledgements');
    expect(await page(carol, '/console/changes?tab=acks')).toContain(id);
    expect(await page(carol, '/console/changes?tab=review')).not.toContain(id);
  });

  it('shows the consuming partner the change in its inbox; acknowledging it takes it out', async () => {
    const home = await page(bluestem, '/console');
    expect(home).toContain('<a href="/console/changes?tab=inbox">1 change request awaits your acknowledgement</a>');
    const inbox = await page(bluestem, '/console/changes');
    expect(inbox).toMatch(/aria-current="page">Awaiting your acknowledgement<\/a>/);
    expect(inbox).toContain(`href="/console/changes/${id}"`);
    const html = await page(bluestem, `/console/changes/${id}`);
    expect(html).toContain(`action="/console/changes/${id}/acknowledgements"`);
    expect(html).not.toContain(`action="/console/changes/${id}/reviews"`);
    // another partner's draft: the diff's findings, never the draft document itself (no fragments), and no evidence records
    expect(html).not.toContain('Newest records of each required kind');

    const ack = await bluestem.post(`/console/changes/${id}/acknowledgements`, { comment: 'our client is ready' });
    expect(ack.status).toBe(303);
    expect(ack.headers.get('location')).toBe(`/console/changes/${id}?done=acknowledged`);
    const after = await page(bluestem, `/console/changes/${id}?done=acknowledged`);
    expect(after).toContain('Your acknowledgement is recorded.');
    expect(section(after, 'How is breakage detected?')).toContain('acknowledged bluestem-mutual');
    expect(after).not.toContain(`action="/console/changes/${id}/acknowledgements"`);
    expect(await page(bluestem, '/console/changes')).not.toContain(id);
    expect(await page(bluestem, '/console')).toContain('Nothing awaits your acknowledgement');
    expect(await page(carol, '/console/changes?tab=ready')).toContain(id);
  });

  it("another partner cannot see the change: 404 page, in none of its lists; it may not act on it", async () => {
    const res = await acme.get(`/console/changes/${id}`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('northwind-health/p2p-exchange@3.0.0');
    for (const tab of ['inbox', 'own']) expect(await page(acme, `/console/changes?tab=${tab}`)).not.toContain(id);
    const acks = await stored('change_acks');
    expect((await acme.post(`/console/changes/${id}/acknowledgements`, {})).status).toBe(404);
    expect(await stored('change_acks')).toBe(acks);
    // the provider itself sees its own change among its APIs'
    const northwind = await signIn(s, await s.token('partner', 'northwind-health'));
    expect(await page(northwind, '/console/changes?tab=own')).toContain(id);
  });

  it('refuses a post without the CSRF token (403) and one by a role that may not act (403), storing nothing', async () => {
    const reviews = await stored('change_reviews');
    const forged = await admin.post(`/console/changes/${id}/reviews`, { decision: 'reject', comment: 'forged', _csrf: null });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('CSRF');
    const ci = await signIn(s, await s.token('ci'));
    const wrongRole = await ci.post(`/console/changes/${id}/reviews`, { decision: 'reject', comment: 'not mine to judge' });
    expect(wrongRole.status).toBe(403);
    expect(await wrongRole.text()).toContain('Role &quot;ci&quot; may not call POST /v1/changes/{id}/reviews; needs admin or approver');
    const partnerRelease = await bluestem.post(`/console/changes/${id}/releases`, { environment: 'production' });
    expect(partnerRelease.status).toBe(403);
    expect(await stored('change_reviews')).toBe(reviews);
    expect(await stored('releases')).toBe(0);
    // a token limited to reading changes sees no review form and may not post one
    const reader = await signIn(s, (await createToken(s.deps, 'test', { role: 'approver', name: 'dave', scopes: ['changes:read'] })).token);
    expect(await page(reader, `/console/changes/${id}`)).not.toContain(`action="/console/changes/${id}/reviews"`);
    const limited = await reader.post(`/console/changes/${id}/reviews`, { decision: 'approve' });
    expect(limited.status).toBe(403);
    expect(await limited.text()).toContain('needs the scope &quot;changes:review&quot;');
    expect(await stored('change_reviews')).toBe(reviews);
  });

  it('answers bad query values with a 4xx page', async () => {
    await page(bob, '/console/changes?tab=everything', 400);
    await page(bob, '/console/changes?page=0', 400);
    await page(bob, '/console/changes?page=abc', 400);
    await page(bluestem, '/console/changes?tab=review', 400);
    await page(bob, `/console/changes/${id}?environment=${encodeURIComponent('no such env!')}`, 400);
    await page(bob, `/console/changes/${id}?done=nonsense`, 400);
    await page(bob, '/console/changes/chg_0000000000000000', 404);
  });

  it('the home page counts each queue; an admin releases from the change page once the gate passes', async () => {
    expect(await page(admin, '/console')).toContain('<a href="/console/changes?tab=ready">Ready: 1</a>');
    // a release before the gate passes is refused in place and records nothing
    const early = await admin.post(`/console/changes/${id}/releases`, { environment: 'production' });
    expect(early.status).toBe(409);
    expect(await early.text()).toContain('run accord gate check first');
    expect(await stored('releases')).toBe(0);

    const sha = (await (await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/versions/3.0.0')).json()).sha256;
    const ci = await s.token('ci');
    for (const kind of ['contract-test', 'replay-test', 'duplicate-handling-test', 'failure-injection', 'rollback-plan', 'runbook']) {
      const res = await postJson(s, '/v1/evidence', { partner: 'northwind-health', api: 'p2p-exchange', version: '3.0.0', kind, result: 'pass', sha256: sha, uri: `https://ci.example/${kind}`, environment: 'staging', commit: 'a1b2c3d4e5f6', producedAt: '2026-11-20T11:00:00Z' }, ci);
      expect(res.status).toBe(201);
    }
    const ready = await page(admin, `/console/changes/${id}`);
    expect(section(ready, 'Gate preview')).toContain('PASS');
    expect(section(ready, 'How is breakage detected?')).toMatch(/runbook pass staging 2026-11-20 11:00 UTC \(\d+ days old\) .* yes/);
    expect(section(ready, 'How do we recover?')).toContain('Runbook: https://ci.example/runbook');

    const check = await admin.post(`/console/changes/${id}/gate-checks`, {});
    expect(check.status).toBe(303);
    expect(await stored('gate_decisions')).toBe(1);
    const released = await admin.post(`/console/changes/${id}/releases`, { environment: 'production' });
    expect(released.status).toBe(303);
    expect(released.headers.get('location')).toBe(`/console/changes/${id}?done=released`);
    const after = await page(admin, `/console/changes/${id}?done=released`);
    expect(after).toContain('The release is recorded.');
    expect(section(after, 'Release')).toMatch(/Released to production by/);
    expect(await page(admin, '/console/changes?tab=released')).toContain(id);
    expect(await page(admin, '/console')).toContain('<a href="/console/changes?tab=released">Released: 1</a>');
  });
});
