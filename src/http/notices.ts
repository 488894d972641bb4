import { Hono } from 'hono';
import type { Deps } from '../context.ts';
import { deprecateVersion, listNotices, releaseNotes, renderAtom } from '../notices/notices.ts';
import { createWebhook, deleteWebhook, enableWebhook, getWebhook, listDeliveries, listWebhooks } from '../notices/webhooks.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import { jsonBody, principalOf, type AppEnv } from './types.ts';

/** /v1/notices, /v1/notices.atom (reads only: sunsets are processed by the jobs loop), /v1/webhooks, deprecations and release notes. */
export function noticesRouter(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/notices', (c) => c.json(listNotices(deps, principalOf(c), Number(c.req.query('limit') ?? 100) || 100)));
  app.get('/notices.atom', (c) => {
    const body = renderAtom(listNotices(deps, principalOf(c)), (path) => absoluteUrl(deps.config, path), deps.clock());
    return c.body(body, 200, { 'Content-Type': 'application/atom+xml; charset=utf-8' });
  });
  app.post('/contracts/:partner/:api/versions/:version/deprecation', async (c) => {
    const { partner, api, version } = c.req.param();
    return c.json(await deprecateVersion(deps, principalOf(c), partner, api, version, await jsonBody(c)), 201);
  });
  app.get('/contracts/:partner/:api/versions/:version/release-notes', async (c) => {
    const { partner, api, version } = c.req.param();
    return c.body(await releaseNotes(deps, principalOf(c), partner, api, version), 200, { 'Content-Type': 'text/markdown; charset=utf-8' });
  });
  app.post('/webhooks', async (c) => c.json(await createWebhook(deps, principalOf(c), await jsonBody(c)), 201));
  app.get('/webhooks', (c) => c.json(listWebhooks(deps, principalOf(c))));
  app.get('/webhooks/:id', (c) => c.json(getWebhook(deps, principalOf(c), c.req.param('id'))));
  app.post('/webhooks/:id/enable', async (c) => c.json(await enableWebhook(deps, principalOf(c), c.req.param('id'))));
  app.delete('/webhooks/:id', (c) => {
    deleteWebhook(deps, principalOf(c), c.req.param('id'));
    return c.body(null, 204);
  });
  app.get('/webhooks/:id/deliveries', (c) => c.json(listDeliveries(deps, principalOf(c), c.req.param('id'))));
  return app;
}
