import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, watchPage } from './browser.ts';
import { startTestService, type TestService } from './harness.ts';

interface OpenApi {
  paths: Record<string, Record<string, { summary?: string }>>;
}

/**
 * The API reference at /docs (issue 19): Scalar's reference of /openapi.json in a real Chromium,
 * everything served by Accord itself — the page, its bundle, the document — under a CSP that
 * allows nothing remote.
 */
describe('the API reference at /docs', () => {
  let s: TestService;
  let baseUrl: string;
  let browser: Browser;

  beforeAll(async () => {
    s = await startTestService();
    baseUrl = await s.listen();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await s?.cleanup();
  });

  it('serves a page whose scripts come from Accord only, under a CSP without remote sources or inline script', async () => {
    const res = await fetch(`${baseUrl}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('<script src="/docs/standalone.js">');
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    expect(csp).not.toMatch(/https?:|script-src[^;]*'unsafe-inline'|'unsafe-eval'/);
  });

  it('serves the bundle from node_modules with caching headers and a 304 when unchanged', async () => {
    const res = await fetch(`${baseUrl}/docs/standalone.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toContain('max-age=');
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1_000_000);
    const again = await fetch(`${baseUrl}/docs/standalone.js`, { headers: { 'If-None-Match': res.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });

  it('renders the operations of /openapi.json in Chromium, with no request leaving 127.0.0.1, no CSP violation and no script error', async () => {
    const doc = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as OpenApi;
    const summaries = Object.values(doc.paths).flatMap((item) => Object.values(item).flatMap((op) => (op.summary ? [op.summary] : [])));
    expect(summaries.length).toBeGreaterThan(0);
    const page = await browser.newPage();
    const problems = await watchPage(page);
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    await page.goto(`${baseUrl}/docs`);
    // The reference shows the operations, grouped by tag (some groups start collapsed): one summary is visible.
    await page.getByText(new RegExp(`^(${summaries.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`)).filter({ visible: true }).first().waitFor({ timeout: 30_000 });
    expect(requested).toContain(`${baseUrl}/openapi.json`);
    expect(requested).toContain(`${baseUrl}/docs/standalone.js`);
    expect(requested.filter((url) => !url.startsWith(`${baseUrl}/`) && !url.startsWith('data:') && !url.startsWith('blob:'))).toEqual([]);
    // The bundle's zod probes whether it may compile code (`new Function('')`) and, refused as
    // the policy intends, validates without it: that one refusal is expected, nothing else is.
    const violations = problems.cspViolations.filter((v) => !/^script-src blocked eval on /.test(v) && !/unsafe-eval/.test(v));
    expect({ ...problems, cspViolations: violations }).toEqual({ cspViolations: [], scriptErrors: [], foreignRequests: [] });
    await page.close();
  });
});
