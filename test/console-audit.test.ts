import { afterEach, describe, expect, it } from 'vitest';
import { appendAudit } from '../src/audit/log.ts';
import { searchAudit } from '../src/audit/search.ts';
import { createToken } from '../src/auth/tokens.ts';
import { signIn } from './console-helpers.ts';
import { ADMIN_TOKEN, startTestService, type TestService } from './harness.ts';

const T0 = Date.parse('2026-11-27T12:00:00Z');
const DAY = 86_400_000;

/** The entry numbers in the log table of a page, top to bottom. */
const seqsOf = (html: string) => [...html.matchAll(/<tr><th scope="row">(\d+)<\/th>/g)].map((m) => Number(m[1]));
/** The href of the link to the next (older) page, decoded. */
const olderLink = (html: string) => /<a href="(\/console\/audit\?[^"]*before=\d+)">(?:Older|Search older)/.exec(html)?.[1]?.replace(/&amp;/g, '&');

describe('console: audit log', () => {
  let s: TestService | undefined;
  let now = T0;
  const clock = () => new Date(now);
  afterEach(async () => {
    await s?.cleanup();
    s = undefined;
    now = T0;
  });

  it('is for admins with audit:read only: other roles, partners and a scope-limited admin token get a 403 page', async () => {
    s = await startTestService({ clock });
    for (const token of [await s.token('approver'), await s.token('author'), await s.token('ci'), await s.token('partner', 'bluestem-mutual'), (await createToken(s.deps, 'test', { role: 'admin', name: 'token admin', scopes: ['tokens'] })).token]) {
      const user = await signIn(s, token);
      const page = await user.get('/console/audit');
      expect(page.status).toBe(403);
      expect(await page.text()).toContain('<!DOCTYPE html>');
      expect((await user.post('/console/audit/verify')).status).toBe(403);
      // The navigation offers only what the token may open.
      expect(await (await user.get('/console')).text()).not.toContain('href="/console/audit"');
    }
    const scoped = await signIn(s, (await createToken(s.deps, 'test', { role: 'admin', name: 'auditor', scopes: ['audit:read'] })).token);
    expect((await scoped.get('/console/audit')).status).toBe(200);
    expect(await (await scoped.get('/console')).text()).toContain('href="/console/audit"');
  });

  it('searches by actor, action, target, outcome and date, newest first, 50 per page with keyset pagination', async () => {
    s = await startTestService({ clock });
    const approver = await s.token('approver');
    // Day 1: 60 refused reads by the approver, and a token created by the admin.
    for (let i = 0; i < 60; i++) expect((await s.call('GET', '/v1/audit', { token: approver })).status).toBe(403);
    expect((await s.call('POST', '/v1/tokens', { body: JSON.stringify({ role: 'ci', name: 'pipeline' }), type: 'application/json' })).status).toBe(201);
    // Day 2: one more refusal.
    now = T0 + DAY;
    expect((await s.call('GET', '/v1/audit', { token: approver })).status).toBe(403);
    const user = await signIn(s, ADMIN_TOKEN);

    const page1 = await user.get('/console/audit?outcome=refused');
    expect(page1.status).toBe(200);
    const html1 = await page1.text();
    const seqs1 = seqsOf(html1);
    expect(seqs1).toHaveLength(50);
    expect(seqs1).toEqual([...seqs1].sort((a, b) => b - a));
    expect(html1).toContain('<span class="badge warn">refused</span>');
    expect(html1).not.toContain('<span class="badge ok">ok</span>');
    const next = olderLink(html1)!;
    expect(next).toBe(`/console/audit?outcome=refused&before=${seqs1.at(-1)}`);
    const html2 = await (await user.get(next)).text();
    const seqs2 = seqsOf(html2);
    expect(seqs2).toHaveLength(11);
    expect(Math.max(...seqs2)).toBeLessThan(Math.min(...seqs1));
    expect(olderLink(html2)).toBeUndefined();
    expect(html2).toContain('<a href="/console/audit?outcome=refused">Newest entries</a>');

    const byActor = await (await user.get('/console/audit?actor=approver&action=GET+%2Fv1%2Faudit&to=2026-11-27')).text();
    expect(seqsOf(byActor)).toHaveLength(50);
    expect(byActor).not.toContain('POST /v1/tokens');

    const tokens = await (await user.get('/console/audit?target=%2Fv1%2Ftokens')).text();
    expect(seqsOf(tokens)).toHaveLength(1);
    expect(tokens).toContain('<code>POST /v1/tokens</code>');
    expect(tokens).toContain('<span class="badge ok">ok</span>');
    expect(tokens).toContain('value="/v1/tokens"');

    const day2 = await (await user.get('/console/audit?from=2026-11-28&outcome=refused')).text();
    expect(seqsOf(day2)).toEqual([Math.max(...seqs1)]);
    expect(seqsOf(await (await user.get('/console/audit?from=2026-11-26&to=2026-11-26')).text())).toEqual([]);
  });

  it('reads at most one window of entries per page and offers to search older ones', async () => {
    s = await startTestService({ clock });
    await appendAudit(s.deps, { actor: 'needle', role: 'admin', action: 'test.rare', target: 'x', outcome: 'ok' });
    for (let i = 0; i < 30; i++) await appendAudit(s.deps, { actor: 'hay', role: 'admin', action: 'test.common', target: 'x', outcome: 'ok' });
    const first = await searchAudit(s.deps, { actor: 'needle' }, { window: 10 });
    expect(first.entries).toEqual([]);
    expect(first.windowEnded).toBe(true);
    const top = first.searched!.to;
    expect(first.searched).toEqual({ from: top - 9, to: top });
    expect(first.next).toBe(top - 9);
    let page = first;
    while (page.entries.length === 0 && page.next !== undefined) page = await searchAudit(s.deps, { actor: 'needle', before: page.next }, { window: 10 });
    expect(page.entries.map((e) => e.action)).toEqual(['test.rare']);
    expect(page.next).toBeUndefined();
  });

  it('rejects malformed search values with a 400 page naming them', async () => {
    s = await startTestService({ clock });
    const user = await signIn(s, ADMIN_TOKEN);
    for (const [query, location] of [
      ['before=abc', 'before'],
      ['before=0', 'before'],
      ['outcome=maybe', 'outcome'],
      ['from=2026-13-01', 'from'],
      ['to=27.11.2026', 'to'],
      ['from=2026-11-28&to=2026-11-27', 'to'],
      [`actor=${'x'.repeat(201)}`, 'actor'],
    ]) {
      const res = await user.get(`/console/audit?${query}`);
      expect(res.status, query).toBe(400);
      const html = await res.text();
      expect(html, query).toContain('Invalid search');
      expect(html, query).toContain(`<code>${location}</code>`);
    }
  });

  it('verifies the log on demand ("Verify now", a CSRF-protected form): ok, then the tampered entry after an edit in the database', async () => {
    s = await startTestService({ clock });
    expect((await s.call('POST', '/v1/tokens', { body: JSON.stringify({ role: 'ci', name: 'pipeline' }), type: 'application/json' })).status).toBe(201);
    const user = await signIn(s, ADMIN_TOKEN);
    const page = await (await user.get('/console/audit')).text();
    expect(page).toContain('<form method="post" action="/console/audit/verify">');
    expect(page).not.toContain('Audit log intact');

    const forged = await user.post('/console/audit/verify', { _csrf: null });
    expect(forged.status).toBe(403);

    await s.deps.audit.settled();
    // The post's own audit entry is written after the page, so the verification sees the entries before it.
    const entries = (await s.deps.db.$sql.value('SELECT count(*) FROM audit_log')) as number;
    const ok = await user.post('/console/audit/verify');
    expect(ok.status).toBe(200);
    const okHtml = await ok.text();
    expect(okHtml).toContain('<strong>Audit log intact</strong>');
    expect(okHtml).toContain(`${entries} entries checked`);
    expect(okHtml).toMatch(/Anchor [0-9a-f]{12} written <time datetime="[^"]+">/);

    await s.deps.db.$sql.run("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2");
    const failed = await (await user.post('/console/audit/verify')).text();
    expect(failed).toContain('<strong>Audit log verification FAILED</strong>');
    expect(failed).toContain('Entry 2: entry 2 does not match its HMAC');
    // The log shows the edited entry as it now reads.
    expect(failed).toMatch(/<th scope="row">2<\/th><td><time[^>]*>[^<]*<\/time><\/td><td>mallory/);
  });
});
