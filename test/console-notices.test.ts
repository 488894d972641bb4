import { afterEach, describe, expect, it } from 'vitest';
import { createToken } from '../src/auth/tokens.ts';
import { processSunsets } from '../src/notices/notices.ts';
import { signIn } from './console-helpers.ts';
import { ADMIN_TOKEN, startTestService, type TestService } from './harness.ts';

const T0 = Date.parse('2026-11-27T12:00:00Z');

/** The HTML of one section of the page, from its heading to the next h2. */
function section(html: string, heading: string): string {
  const start = html.indexOf(`>${heading}`);
  expect(start, `section "${heading}"`).toBeGreaterThan(-1);
  const end = html.indexOf('<h2', start);
  return html.slice(start, end === -1 ? undefined : end);
}

describe('console: notices and deprecations', () => {
  let s: TestService | undefined;
  let now = T0;
  const clock = () => new Date(now);
  afterEach(async () => {
    await s?.cleanup();
    s = undefined;
    now = T0;
  });

  const deprecate = async (partner: string, version: string, body: Record<string, string>) => {
    const res = await s!.call('POST', `/v1/contracts/${partner}/p2p-exchange/versions/${version}/deprecation`, { body: JSON.stringify(body), type: 'application/json' });
    expect(res.status, await res.clone().text()).toBe(201);
  };

  it('shows a deprecation made through the API under the month of its sunset, with successor, reason and days left; the feed is linked in <head>', async () => {
    s = await startTestService({ seed: true, clock, env: { ACCORD_PUBLIC_URL: 'https://accord.example.org' } });
    await deprecate('northwind-health', '1.1.0', { sunset: '2027-06-30', successor: '2.0.0', reason: 'Use 2.0.0' });
    await deprecate('bluestem-mutual', '1.0.0', { sunset: '2027-03-31', successor: '1.1.0', reason: 'Move to the consent-aware export' });
    const user = await signIn(s, ADMIN_TOKEN);
    const res = await user.get('/console/notices');
    expect(res.status).toBe(200);
    const html = await res.text();
    const head = html.slice(0, html.indexOf('</head>'));
    expect(head).toContain('<link rel="alternate" type="application/atom+xml" title="Accord notices" href="https://accord.example.org/v1/notices.atom"/>');
    expect(html).toContain('Authorization: Bearer &lt;token&gt;');

    const upcoming = section(html, 'Upcoming sunsets');
    // Months in calendar order, soonest first, each listing its own sunsets.
    const march = upcoming.indexOf('<h3>March 2027</h3>');
    const june = upcoming.indexOf('<h3>June 2027</h3>');
    expect(march).toBeGreaterThan(-1);
    expect(june).toBeGreaterThan(march);
    const marchGroup = upcoming.slice(march, june);
    expect(marchGroup).toContain('bluestem-mutual / p2p-exchange');
    expect(marchGroup).toContain('<time datetime="2027-03-31T00:00:00.000Z">2027-03-31</time>');
    expect(marchGroup).toContain('<td>1.1.0</td>');
    expect(marchGroup).toContain('Move to the consent-aware export');
    expect(marchGroup).toContain('in 124 days');
    expect(marchGroup).not.toContain('northwind-health');
    expect(upcoming.slice(june)).toContain('northwind-health / p2p-exchange');
    expect(section(html, 'Sunset reached')).toContain('No version has reached its sunset.');
    expect(section(html, 'Recent notices')).toContain('bluestem-mutual/p2p-exchange 1.0.0 is deprecated; sunset 2027-03-31');
  });

  it('moves a version to "Sunset reached" once its sunset passes (retired, as the API reports it)', async () => {
    s = await startTestService({ seed: true, clock });
    await deprecate('northwind-health', '1.1.0', { sunset: '2027-06-30', successor: '2.0.0', reason: 'Use 2.0.0' });
    await deprecate('bluestem-mutual', '1.0.0', { sunset: '2027-03-31', reason: 'Superseded' });
    now = Date.parse('2027-04-02T09:00:00Z');
    // The jobs loop's run (src/server.ts), on the test's clock.
    expect(await processSunsets(s.deps)).toBe(1);
    const user = await signIn(s, ADMIN_TOKEN);
    const html = await (await user.get('/console/notices')).text();
    const past = section(html, 'Sunset reached');
    expect(past).toContain('bluestem-mutual / p2p-exchange');
    expect(past).toContain('(retired)');
    expect(past).toContain('sunset reached');
    expect(past).toContain('none named');
    expect(past).not.toContain('northwind-health');
    expect(section(html, 'Upcoming sunsets')).toContain('<h3>June 2027</h3>');
    expect(section(html, 'Recent notices')).toContain('bluestem-mutual/p2p-exchange 1.0.0 reached its sunset and is retired');
    const api = await s.call('GET', '/v1/contracts/bluestem-mutual/p2p-exchange/versions/1.0.0');
    expect((await api.json()).state).toBe('retired');
  });

  it('reading the page, GET /v1/notices or the feed writes nothing: between job runs a version past its sunset already shows as retired', async () => {
    s = await startTestService({ seed: true, clock });
    await deprecate('bluestem-mutual', '1.0.0', { sunset: '2027-03-31', reason: 'Superseded' });
    now = Date.parse('2027-04-02T09:00:00Z');
    const rows = async () =>
      Object.values(
        (await s!.deps.db.$sql.get(
          'SELECT (SELECT count(*) FROM notices) AS a, (SELECT count(*) FROM webhook_deliveries) AS b, (SELECT count(*) FROM audit_log) AS c, (SELECT state FROM contract_versions WHERE partner = ? AND version = ?) AS d, (SELECT sunset_notice_at FROM deprecations) AS e',
          ['bluestem-mutual', '1.0.0'],
        ))!,
      );
    const user = await signIn(s, ADMIN_TOKEN);
    const before = await rows();
    const html = await (await user.get('/console/notices')).text();
    expect((await s.call('GET', '/v1/notices')).status).toBe(200);
    expect((await s.call('GET', '/v1/notices.atom')).status).toBe(200);
    expect(await rows()).toEqual(before);
    expect(before).toEqual([1, 0, expect.any(Number), 'deprecated', null]);
    const past = section(html, 'Sunset reached');
    expect(past).toContain('bluestem-mutual / p2p-exchange');
    expect(past).toContain('(retired)');
    expect(past).toContain('sunset reached');
    expect(section(html, 'Recent notices')).not.toContain('reached its sunset');
  });

  it('filters the timeline by partner and by API (a labelled GET form); a malformed id is a 400 page', async () => {
    s = await startTestService({ seed: true, clock });
    await deprecate('northwind-health', '1.1.0', { sunset: '2027-06-30', reason: 'Use 2.0.0' });
    await deprecate('bluestem-mutual', '1.0.0', { sunset: '2027-03-31', reason: 'Superseded' });
    const user = await signIn(s, ADMIN_TOKEN);
    const all = await (await user.get('/console/notices')).text();
    expect(all).toContain('<label for="filter-partner">Partner</label>');
    expect(all).toContain('<label for="filter-api">API</label>');
    expect(all).toContain('<form method="get" action="/console/notices"');

    const northwind = await (await user.get('/console/notices?partner=northwind-health')).text();
    const upcoming = section(northwind, 'Upcoming sunsets for northwind-health');
    expect(upcoming).toContain('northwind-health / p2p-exchange');
    expect(upcoming).not.toContain('bluestem-mutual / p2p-exchange');
    expect(northwind).toContain('<option value="northwind-health" selected="">');

    const otherApi = await (await user.get('/console/notices?api=provider-directory')).text();
    expect(section(otherApi, 'Upcoming sunsets for provider-directory')).toContain('No upcoming sunsets.');

    const bad = await user.get('/console/notices?partner=..%2Fetc');
    expect(bad.status).toBe(400);
    const badHtml = await bad.text();
    expect(badHtml).toContain('<!DOCTYPE html>');
    expect(badHtml).toContain('not a valid partner id');
  });

  it("a partner sees only the notices that concern it, like GET /v1/notices; a token without notices:read gets 403", async () => {
    s = await startTestService({ seed: true, clock });
    // northwind's API is consumed by riverbend only: bluestem is not told about its deprecation.
    expect((await s.call('PUT', '/v1/contracts/northwind-health/p2p-exchange/consumers', { body: JSON.stringify({ consumers: ['riverbend-care'] }), type: 'application/json' })).status).toBe(200);
    await deprecate('northwind-health', '1.1.0', { sunset: '2027-06-30', reason: 'Use 2.0.0' });
    await deprecate('bluestem-mutual', '1.0.0', { sunset: '2027-03-31', reason: 'Superseded' });
    const bluestemToken = await s.token('partner', 'bluestem-mutual');
    const bluestem = await signIn(s, bluestemToken);
    const html = await (await bluestem.get('/console/notices')).text();
    const recent = section(html, 'Recent notices');
    expect(recent).toContain('bluestem-mutual/p2p-exchange 1.0.0 is deprecated');
    expect(recent).not.toContain('northwind-health/p2p-exchange 1.1.0 is deprecated');
    const viaApi = (await (await s.call('GET', '/v1/notices', { token: bluestemToken })).json()) as Array<{ title: string }>;
    expect(viaApi.map((n) => n.title)).toEqual(['bluestem-mutual/p2p-exchange 1.0.0 is deprecated; sunset 2027-03-31']);
    // Deprecated versions are published: every partner may read them (and their sunsets) through the API.
    expect(section(html, 'Upcoming sunsets')).toContain('northwind-health / p2p-exchange');
    expect((await s.call('GET', '/v1/contracts/northwind-health/p2p-exchange/versions/1.1.0', { token: bluestemToken })).status).toBe(200);

    const riverbend = await signIn(s, await s.token('partner', 'riverbend-care'));
    const theirs = section(await (await riverbend.get('/console/notices')).text(), 'Recent notices');
    expect(theirs).toContain('northwind-health/p2p-exchange 1.1.0 is deprecated');
    expect(theirs).not.toContain('bluestem-mutual/p2p-exchange 1.0.0 is deprecated');

    const limited = (await createToken(s.deps, 'test', { role: 'partner', partner: 'bluestem-mutual', name: 'exchange only', scopes: ['exchange'] })).token;
    const refused = await (await signIn(s, limited)).get('/console/notices');
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('notices:read');
  });
});
