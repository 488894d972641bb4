import { afterEach, describe, expect, it } from 'vitest';
import { purgeSessions } from '../src/web/sessions.ts';
import { csrfOf, signIn } from './console-helpers.ts';
import { ADMIN_TOKEN, startTestService, type TestService } from './harness.ts';

const T0 = Date.parse('2026-11-27T12:00:00Z');

describe('console sign-in and sessions', () => {
  let s: TestService | undefined;
  let now = T0;
  const clock = () => new Date(now);
  afterEach(async () => {
    await s?.cleanup();
    s = undefined;
    now = T0;
  });

  it('/ redirects to /console, which asks an anonymous visitor to sign in', async () => {
    s = await startTestService({ clock });
    const root = await s.app.request('/');
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/console');
    const console = await s.app.request('/console/changes');
    expect(console.status).toBe(303);
    expect(console.headers.get('location')).toBe('/console/sign-in');
    const form = await s.app.request('/console/sign-in');
    expect(form.status).toBe(200);
    const html = await form.text();
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<label for="token">Token</label>');
  });

  it('signs in with a token into an HttpOnly, SameSite=Strict session cookie that never carries the token', async () => {
    s = await startTestService({ clock });
    const form = await s.app.request('/console/sign-in');
    const signInCookie = form.headers.getSetCookie()[0]!.split(';')[0]!;
    const res = await s.app.request('/console/sign-in', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: signInCookie },
      body: new URLSearchParams({ _csrf: csrfOf(await form.text()), token: ADMIN_TOKEN }).toString(),
    });
    expect(res.status).toBe(303);
    const session = res.headers.getSetCookie().find((c) => c.startsWith('accord_session='))!;
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; SameSite=Strict/);
    expect(session).toMatch(/; Path=\/console/);
    expect(session).not.toMatch(/; Secure/);
    expect(session).not.toContain(ADMIN_TOKEN);
    const home = await s.app.request('/console', { headers: { Cookie: session.split(';')[0]! } });
    expect(home.status).toBe(200);
    const html = await home.text();
    expect(html).toContain('Sign out');
    expect(html).not.toContain(ADMIN_TOKEN);
    // Only the secret's hash is stored.
    const stored = JSON.stringify((await s.deps.db.$sql.all('SELECT * FROM console_sessions')));
    expect(stored).not.toContain(session.split(';')[0]!.split('=')[1]);
  });

  it('marks the cookie Secure when ACCORD_PUBLIC_URL is https', async () => {
    s = await startTestService({ clock, env: { ACCORD_PUBLIC_URL: 'https://accord.example' } });
    const form = await s.app.request('/console/sign-in');
    expect(form.headers.getSetCookie()[0]).toMatch(/; Secure/);
  });

  it('refuses a wrong token (401) and a sign-in without the form token (403), opening no session', async () => {
    s = await startTestService({ clock });
    const form = await s.app.request('/console/sign-in');
    const signInCookie = form.headers.getSetCookie()[0]!.split(';')[0]!;
    const csrf = csrfOf(await form.text());
    const post = (fields: Record<string, string>) =>
      s!.app.request('/console/sign-in', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: signInCookie }, body: new URLSearchParams(fields).toString() });
    const wrong = await post({ _csrf: csrf, token: 'acc_not-a-real-token-000000000000000000000' });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('That token is not valid');
    const forged = await post({ token: ADMIN_TOKEN });
    expect(forged.status).toBe(403);
    expect((await s.deps.db.$sql.get('SELECT count(*) AS n FROM console_sessions'))).toEqual({ n: 0 });
  });

  it('failed sign-ins count toward ACCORD_AUTH_FAILURE_LIMIT like failed API calls (429, then even a valid token)', async () => {
    s = await startTestService({ clock, env: { ACCORD_AUTH_FAILURE_LIMIT: '3' } });
    const attempt = async (token: string) => {
      const form = await s!.app.request('/console/sign-in');
      const cookie = form.headers.getSetCookie()[0]!.split(';')[0]!;
      return s!.app.request('/console/sign-in', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie }, body: new URLSearchParams({ _csrf: csrfOf(await form.text()), token }).toString() });
    };
    for (let i = 0; i < 3; i++) expect((await attempt(`acc_guess-${i}-000000000000000000000000000000000`)).status).toBe(401);
    expect((await attempt(ADMIN_TOKEN)).status).toBe(429);
  });

  it('a session survives a restart, ends after ACCORD_SESSION_IDLE without use and ACCORD_SESSION_MAX after sign-in', async () => {
    s = await startTestService({ clock, env: { ACCORD_SESSION_IDLE: 'PT30M', ACCORD_SESSION_MAX: 'PT2H' } });
    const user = await signIn(s, ADMIN_TOKEN);
    const dir = s.dir;
    await s.close();
    s = await startTestService({ clock, dir, env: { ACCORD_SESSION_IDLE: 'PT30M', ACCORD_SESSION_MAX: 'PT2H' } });
    const again = (cookie: string) => s!.app.request('/console', { headers: { Cookie: cookie } });
    expect((await again(user.cookie)).status).toBe(200);
    // used every 20 minutes it lives until the absolute end
    for (let i = 0; i < 5; i++) {
      now += 20 * 60_000;
      expect((await again(user.cookie)).status, `after ${(i + 1) * 20} minutes`).toBe(200);
    }
    now += 20 * 60_000; // 2 h since sign-in
    expect((await again(user.cookie)).status).toBe(303);
    // idle: a fresh session unused for 30 minutes is gone
    const idle = await signIn(s, ADMIN_TOKEN);
    now += 30 * 60_000;
    expect((await again(idle.cookie)).status).toBe(303);
  });

  it('the jobs loop deletes sessions past their idle or absolute end, and keeps the live ones', async () => {
    s = await startTestService({ clock, env: { ACCORD_SESSION_IDLE: 'PT30M', ACCORD_SESSION_MAX: 'PT2H' } });
    const count = async () => (await s!.deps.db.$sql.value('SELECT count(*) FROM console_sessions'));
    const old = await signIn(s, ADMIN_TOKEN); // signed in at T0, used every 20 minutes: ends at its absolute end
    now += 25 * 60_000;
    await old.get('/console');
    await signIn(s, ADMIN_TOKEN); // left idle from T0+25m
    const busy = await signIn(s, ADMIN_TOKEN);
    expect(await purgeSessions(s.deps)).toBe(0);
    for (let i = 0; i < 5; i++) {
      now += 20 * 60_000;
      if (i < 4) await old.get('/console'); // last used at T0+105m
      await busy.get('/console');
    }
    // T0+125m: the idle one went at T0+55m, the oldest reached its 2 h end; the busy one lives
    expect(await purgeSessions(s.deps)).toBe(2);
    expect(await count()).toBe(1);
    expect((await busy.get('/console')).status).toBe(200);
  });

  it('revoking the token ends its sessions at once', async () => {
    s = await startTestService({ clock });
    const token = await s.token('approver');
    const user = await signIn(s, token);
    expect((await user.get('/console')).status).toBe(200);
    const id = ((await s.deps.db.$sql.get("SELECT id FROM tokens WHERE role = 'approver'")) as { id: string }).id;
    expect((await s.call('DELETE', `/v1/tokens/${id}`)).status).toBe(204);
    expect((await user.get('/console')).status).toBe(303);
  });

  it('sign-out ends the session (the old cookie no longer works); a form without the CSRF token is refused with 403', async () => {
    s = await startTestService({ clock });
    const user = await signIn(s, ADMIN_TOKEN);
    const forged = await user.post('/console/sign-out', { _csrf: null });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain('CSRF');
    expect((await user.get('/console')).status).toBe(200);
    const out = await user.post('/console/sign-out');
    expect(out.status).toBe(303);
    expect((await user.get('/console')).status).toBe(303);
    const audit = (await s.deps.db.$sql.all("SELECT action, outcome FROM audit_log WHERE action LIKE 'console%' ORDER BY seq"));
    expect(audit).toEqual([
      { action: 'console.sign-in', outcome: 'ok' },
      { action: 'console POST /console/sign-out', outcome: 'refused' },
      { action: 'console POST /console/sign-out', outcome: 'ok' },
    ]);
  });

  it('console pages carry the console Content-Security-Policy and refuse framing; assets are cached for a year', async () => {
    s = await startTestService({ clock });
    const page = await s.app.request('/console/sign-in');
    expect(page.headers.get('content-security-policy')).toContain("style-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const css = /href="(\/console\/assets\/console\.[0-9a-f]+\.css)"/.exec(await page.text())![1]!;
    const asset = await s.app.request(css);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('text/css');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });
});
