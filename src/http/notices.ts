import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../context.ts';
import { deprecateVersion, listNotices, releaseNotes, renderAtom } from '../notices/notices.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import { operationsRouter, serve } from './operation.ts';
import * as op from './operations/notices.ts';
import { jsonBody, principalOf, type AppEnv } from './types.ts';

/** /v1/notices and its Atom feed (reads only: sunsets are processed by the jobs loop), deprecations and release notes. */
export function noticesRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.listNotices, (c, { query }) => c.json(listNotices(deps, principalOf(c), Number(query.limit ?? 100) || 100)));
  serve(app, op.getNoticesFeed, (c) => {
    const body = renderAtom(listNotices(deps, principalOf(c)), (path) => absoluteUrl(deps.config, path), deps.clock());
    return c.body(body, 200, { 'Content-Type': 'application/atom+xml; charset=utf-8' });
  });
  app.post('/v1/contracts/:partner/:api/versions/:version/deprecation', async (c) => {
    const { partner, api, version } = c.req.param();
    return c.json(await deprecateVersion(deps, principalOf(c), partner, api, version, await jsonBody(c)), 201);
  });
  app.get('/v1/contracts/:partner/:api/versions/:version/release-notes', async (c) => {
    const { partner, api, version } = c.req.param();
    return c.body(await releaseNotes(deps, principalOf(c), partner, api, version), 200, { 'Content-Type': 'text/markdown; charset=utf-8' });
  });
  return app;
}
