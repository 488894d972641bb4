import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { listNotices, renderAtom } from '../notices/notices.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import { operationsRouter, serve } from './operation.ts';
import * as op from './operations/notices.ts';
import { principalOf, type AppEnv } from './env.ts';

/** /v1/notices and its Atom feed (reads only: sunsets are processed by the jobs loop). */
export function noticesRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.listNotices, async (c, { query }) => c.json(await listNotices(deps, principalOf(c), Number(query.limit ?? 100) || 100)));
  serve(app, op.getNoticesFeed, async (c) => {
    const body = renderAtom(await listNotices(deps, principalOf(c)), (path) => absoluteUrl(deps.config, path), deps.clock());
    return c.body(body, 200, { 'Content-Type': 'application/atom+xml; charset=utf-8' });
  });
  return app;
}
