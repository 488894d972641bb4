import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { AxeResults } from 'axe-core';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium (CHROMIUM_PATH overrides it); a browser is never downloaded. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Launches the system Chromium headless. One per test file (beforeAll), closed in afterAll.
 * Background networking is off, so the browser itself talks to nothing but the pages it is sent to.
 */
export function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) throw new Error(`No Chromium at ${CHROMIUM_PATH}: install Debian's package (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

/** Signs in through the real sign-in form; resolves once the browser is on the console's home page. */
export async function signInAs(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}/console/sign-in`);
  await page.getByLabel('Token').fill(token);
  await Promise.all([page.waitForURL(`${baseUrl}/console`), page.getByRole('button', { name: 'Sign in' }).click()]);
}

/** One serious or critical axe-core finding: the rule, what to do, and the elements it found. */
export interface AccessibilityViolation {
  id: string;
  impact: string;
  help: string;
  helpUrl: string;
  nodes: Array<{ target: string; failure: string }>;
}

/**
 * Runs axe-core (all its default rules) on the page as it is now and returns the serious and
 * critical violations, each with its rule id, help text and the offending elements' selectors.
 *
 * axe is evaluated through Playwright (the DevTools protocol) rather than injected as a
 * <script>: the console's CSP forbids inline scripts, and evaluation from the protocol is not
 * subject to the page's CSP, so the page keeps its real policy (no `bypassCSP`) and a CSP
 * violation the page itself causes is still reported.
 */
export async function checkAccessibility(page: Page): Promise<AccessibilityViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(() => (window as unknown as { axe: { run(context: Document, options: object): Promise<AxeResults> } }).axe.run(document, { resultTypes: ['violations'] }));
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id,
      impact: v.impact!,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), failure: n.failureSummary ?? '' })),
    }));
}

/** What a page did that the console must never do: CSP violations, script errors, requests to hosts other than 127.0.0.1. */
export interface PageProblems {
  cspViolations: string[];
  scriptErrors: string[];
  foreignRequests: string[];
}

/**
 * Starts recording a page's problems (see PageProblems) for as long as it lives. CSP violations
 * are caught twice: Chromium's console message and the document's `securitypolicyviolation`
 * event (listened for by an init script, which the page's CSP does not govern).
 */
export async function watchPage(page: Page): Promise<PageProblems> {
  const problems: PageProblems = { cspViolations: [], scriptErrors: [], foreignRequests: [] };
  await page.exposeFunction('__accordCspViolation', (text: string) => problems.cspViolations.push(text));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as unknown as { __accordCspViolation(text: string): void }).__accordCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} on ${e.documentURI}`);
    });
  });
  page.on('console', (message) => {
    if (/Content[- ]Security[- ]Policy/i.test(message.text())) problems.cspViolations.push(message.text());
  });
  page.on('pageerror', (error) => problems.scriptErrors.push(error.message));
  page.on('request', (request) => {
    const url = new URL(request.url());
    if ((url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '127.0.0.1') problems.foreignRequests.push(request.url());
  });
  return problems;
}
