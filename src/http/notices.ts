import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Deps } from '../deps.ts';
import { listNotices, noticesEtag, renderAtom } from '../notices/notices.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import { operationsRouter, serve } from './operation.ts';
import { pageFrom, sendPage } from './pages.ts';
import * as op from './operations/notices.ts';
import { principalOf, type AppEnv } from './env.ts';

/**
 * Sets `ETag` (and `Cache-Control: private, no-cache`: each caller sees its own notices) and
 * answers 304 when the request's If-None-Match names it (RFC 9110 §13.1.2, weak comparison).
 */
function notModified(c: Context<AppEnv>, etag: string): Response | undefined {
  c.header('ETag', etag);
  c.header('Cache-Control', 'private, no-cache');
  const asked = c.req.header('if-none-match');
  if (!asked) return undefined;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  if (asked.trim() === '*' || asked.split(',').some((tag) => opaque(tag) === opaque(etag))) return c.body(null, 304);
  return undefined;
}

/** /v1/notices and its Atom feed (reads only: sunsets are processed by the jobs loop). */
export function noticesRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.listNotices, async (c, { query }) => {
    const page = await listNotices(deps, principalOf(c), pageFrom('notices', ['string', 'string'], query));
    return notModified(c, noticesEtag(page.items, `json ${query.limit} ${query.cursor ?? ''} ${page.more}`)) ?? sendPage(c, deps.config, 'notices', page);
  });
  serve(app, op.getNoticesFeed, async (c) => {
    const items = (await listNotices(deps, principalOf(c))).items;
    const etag = noticesEtag(items, `atom ${deps.config.publicUrl}`);
    return notModified(c, etag) ?? c.body(renderAtom(items, (path) => absoluteUrl(deps.config, path), deps.clock()), 200, { 'Content-Type': 'application/atom+xml; charset=utf-8' });
  });
  return app;
}
