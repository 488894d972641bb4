import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { Scalar } from '@scalar/hono-api-reference';
import { Hono } from 'hono';
import type { AppEnv } from './env.ts';
import { CONTENT_SECURITY_POLICY, contentSecurityPolicy } from './security-headers.ts';

/** Scalar's browser bundle, from node_modules (never a CDN): read once, on the first request for it. */
const BUNDLE_FILE = createRequire(import.meta.url).resolve('@scalar/api-reference/browser/standalone.js');
const BUNDLE_PATH = '/docs/standalone.js';

/**
 * The reference's Content-Security-Policy: the strict one of every page, plus what Scalar needs
 * and nothing remote. Scripts: its bundle from this origin and its one inline start-up script,
 * by hash (no 'unsafe-inline' for scripts). Fetches: /openapi.json from this origin (and its
 * "try it" client calls this API, same origin). Styles: 'unsafe-inline', because the bundle
 * injects its CSS as <style> elements and sets style attributes at run time (a style can
 * restyle the page but not run code, and nothing here holds secrets). Images and fonts: this
 * origin and data: URIs (its icons); its default web fonts are turned off.
 */
function docsPolicy(inlineScripts: string[]): string {
  const hashes = inlineScripts.map((script) => `'sha256-${createHash('sha256').update(script).digest('base64')}'`);
  return contentSecurityPolicy({
    ...CONTENT_SECURITY_POLICY,
    'script-src': ["'self'", ...hashes],
    'style-src': ["'self'", "'unsafe-inline'"],
    'connect-src': ["'self'"],
    'img-src': ["'self'", 'data:'],
    'font-src': ["'self'", 'data:'],
    'worker-src': ["'self'", 'blob:'],
  });
}

/** The inline <script> bodies of a page, as the browser hashes them. */
function inlineScriptsOf(html: string): string[] {
  return [...html.matchAll(/<script(?![^>]*\ssrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
}

/**
 * GET /docs: a readable reference of /openapi.json (Scalar's API reference), served entirely by
 * Accord — the page, its bundle at /docs/standalone.js, the document — with no request to any
 * other host: no CDN, no web fonts, no telemetry, no proxy, no AI agent.
 */
export function docsRouter(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const page = Scalar<AppEnv>({
    url: '/openapi.json',
    cdn: BUNDLE_PATH,
    pageTitle: 'Accord API reference',
    withDefaultFonts: false,
    telemetry: false,
    agent: { disabled: true },
    hideClientButton: true,
    showDeveloperTools: 'never',
    layout: 'modern',
  });
  let policy: string | undefined;

  app.get('/docs', async (c, next) => {
    const rendered = await page(c, next);
    const html = rendered instanceof Response ? await rendered.text() : '';
    // The page is the same on every request: its inline script's hash is computed once.
    policy ??= docsPolicy(inlineScriptsOf(html));
    c.header('Content-Security-Policy', policy);
    c.header('Cache-Control', 'no-cache');
    return c.html(html);
  });

  let bundle: Buffer | undefined;
  let etag: string | undefined;
  app.get(BUNDLE_PATH, (c) => {
    bundle ??= fs.readFileSync(BUNDLE_FILE);
    etag ??= `"${createHash('sha256').update(bundle).digest('base64url').slice(0, 27)}"`;
    // Revalidated after a day (an upgrade of Accord may change it); unchanged, a 304 without the 3.5 MB.
    c.header('Cache-Control', 'public, max-age=86400');
    c.header('ETag', etag);
    if (c.req.header('if-none-match') === etag) return c.body(null, 304);
    return c.body(new Uint8Array(bundle), 200, { 'Content-Type': 'text/javascript; charset=utf-8' });
  });

  return app;
}
