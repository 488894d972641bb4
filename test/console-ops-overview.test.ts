import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseYaml } from '../src/lib/yaml.ts';
import { OpsRollups } from '../src/observability/ops-rollups.ts';
import { checkAccessibility, launchBrowser, signInAs, watchPage } from './browser.ts';
import { REPO_ROOT, startTestService, type TestService } from './harness.ts';

const example = () => structuredClone((parseYaml(fs.readFileSync(path.join(REPO_ROOT, 'contracts/northwind-health/p2p-exchange/2.0.0/openapi.yaml'), 'utf8'), { maxAliases: 0 }) as any).paths['/Patient/$member-match'].post.requestBody.content['application/fhir+json'].example);

/** The operations overview in a real browser: charts drawn from rollups, and the pivot to the transactions behind one. */
describe('operations overview in a real browser (Chromium)', () => {
  let browser: Browser;
  let s: TestService;
  let baseUrl: string;
  const now = Date.parse('2026-11-27T12:00:30Z');

  beforeAll(async () => {
    browser = await launchBrowser();
    s = await startTestService({ seed: true, clock: () => new Date(now) });
    for (let i = 0; i < 3; i++) {
      const res = await s.call('POST', '/exchange/northwind-health/p2p-exchange/v2/Patient/$member-match', { body: JSON.stringify(example()), type: 'application/fhir+json', headers: { 'Idempotency-Key': `browser-ops-${i}` } });
      expect(res.status).toBe(200);
    }
    await new OpsRollups(s.deps).fold();
    baseUrl = await s.listen();
  });
  afterAll(async () => {
    await browser?.close();
    await s?.cleanup();
  });

  it('draws every chart with a title, axes and a text alternative, within the CSP; a chart links to its transactions', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = await watchPage(page);
    await signInAs(page, baseUrl, await s.token('operator'));
    await page.goto(`${baseUrl}/console/operations`);
    await page.getByLabel('Window', { exact: true }).selectOption('PT15M');
    await page.getByLabel('Flow', { exact: true }).selectOption('member-match');
    await Promise.all([page.waitForURL(/window=PT15M/), page.getByRole('button', { name: 'Show' }).click()]);
    const charts = page.getByRole('img');
    expect(await charts.count()).toBe(9);
    expect(await page.getByRole('img', { name: /^Requests initiated, last 15 minutes per minute: total 3\./ }).count()).toBe(1);
    expect(await page.getByRole('img', { name: /^Identity-match success .*: total 100\.0 %/ }).count()).toBe(1);
    expect(await page.locator('figure.chart').first().locator('svg text').allTextContents()).toContain('Time (UTC, per minute)');
    expect(await checkAccessibility(page)).toEqual([]);
    await page.setViewportSize({ width: 375, height: 667 });
    expect(await page.evaluate(() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth))).toBe(0);
    await Promise.all([page.waitForURL(/\/console\/operations\/transactions\?/), page.getByRole('link', { name: 'Transactions behind this chart' }).first().click()]);
    const url = new URL(page.url());
    expect(Object.fromEntries(url.searchParams)).toEqual({ flow: 'member-match', from: '2026-11-27T11:46:00.000Z', to: '2026-11-27T12:00:30.000Z' });
    expect(await page.locator('h1').innerText()).toBe('Transactions');
    expect(problems).toEqual({ cspViolations: [], scriptErrors: [], foreignRequests: [] });
    await context.close();
  });
});
