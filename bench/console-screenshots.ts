/**
 * `npx tsx bench/console-screenshots.ts`: screenshots of the console's main pages in
 * docs/screenshots/ (PNG, 1280×800, and the home page at 375×800 as a phone shows it), taken
 * with Debian's Chromium (CHROMIUM_PATH overrides /usr/bin/chromium) from a seeded service on
 * 127.0.0.1 in which a breaking change awaits bluestem-mutual's acknowledgement and
 * northwind-health/p2p-exchange 1.0.0 is deprecated. Pages that answer 404 are skipped.
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { serve } from '@hono/node-server';
import type { BrowserContext } from 'playwright-core';
import { PACKAGE_ROOT } from '../src/config.ts';
import { launchBrowser, signInAs } from '../test/browser.ts';
import { breakingChangeStory, storyPeople } from './console-data.ts';
import { startBenchService } from './util.ts';

type Visitor = 'anonymous' | 'admin' | 'approver' | 'partner';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 800 };
const OUT = path.join(PACKAGE_ROOT, 'docs/screenshots');

/** The screenshots, as `[file name, visitor, path, viewport]`: one line per page. */
function screenshots(changeId: string): Array<[string, Visitor, string, typeof DESKTOP]> {
  const api = '/console/contracts/northwind-health/p2p-exchange';
  return [
    ['sign-in', 'anonymous', '/console/sign-in', DESKTOP],
    ['home', 'admin', '/console', DESKTOP],
    ['home-phone', 'admin', '/console', PHONE],
    ['partner-home', 'partner', '/console', DESKTOP],
    ['contracts', 'admin', '/console/contracts', DESKTOP],
    ['contract-api', 'admin', api, DESKTOP],
    ['contract-version', 'admin', `${api}/versions/3.0.0`, DESKTOP],
    ['compare', 'admin', `${api}/compare?from=2.0.0&to=3.0.0`, DESKTOP],
    ['changes', 'approver', '/console/changes', DESKTOP],
    ['change', 'approver', `/console/changes/${changeId}`, DESKTOP],
    ['partner-inbox', 'partner', '/console/changes?tab=inbox', DESKTOP],
    ['notices', 'admin', '/console/notices', DESKTOP],
    ['matrix', 'admin', '/console/matrix', DESKTOP],
    ['matrix-flow', 'admin', '/console/matrix/finalisation', DESKTOP],
    ['audit', 'admin', '/console/audit', DESKTOP],
  ];
}

const service = await startBenchService({ seed: true });
const server = serve({ fetch: service.app.fetch, hostname: '127.0.0.1', port: 0 });
await new Promise((resolve) => server.once('listening', resolve));
const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const browser = await launchBrowser();
try {
  const people = await storyPeople(service);
  const changeId = await breakingChangeStory(people);
  await people.call('POST', '/v1/contracts/northwind-health/p2p-exchange/versions/1.0.0/deprecation', people.alice, {
    sunset: new Date(Date.now() + 120 * 86_400_000).toISOString().slice(0, 10),
    successor: '3.0.0',
    reason: 'Superseded by 3.0.0; 1.x has no finalisation endpoint',
  });
  const tokens: Record<Exclude<Visitor, 'anonymous'>, string> = { admin: service.token, approver: await people.newToken('approver', 'dana'), partner: people.bluestem };
  const contexts = new Map<Visitor, BrowserContext>();
  fs.mkdirSync(OUT, { recursive: true });
  for (const [name, visitor, page, viewport] of screenshots(changeId)) {
    if (!contexts.has(visitor)) {
      const context = await browser.newContext();
      if (visitor !== 'anonymous') {
        const signIn = await context.newPage();
        await signInAs(signIn, baseUrl, tokens[visitor]);
        await signIn.close();
      }
      contexts.set(visitor, context);
    }
    const tab = await contexts.get(visitor)!.newPage();
    await tab.setViewportSize(viewport);
    const response = await tab.goto(`${baseUrl}${page}`);
    if (response?.status() === 404) {
      console.log(`${name}: ${page} is missing (404), skipped`);
    } else {
      const file = path.join(OUT, `${name}.png`);
      await tab.screenshot({ path: file });
      console.log(`${name}: ${page} (${visitor}, ${viewport.width}×${viewport.height}, answered ${response?.status()}) → ${path.relative(PACKAGE_ROOT, file)} ${(fs.statSync(file).size / 1024).toFixed(0)} KB`);
    }
    await tab.close();
  }
} finally {
  await browser.close();
  server.close();
  await service.cleanup();
}
