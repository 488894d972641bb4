import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { createWebhook, deleteWebhook, enableWebhook, getWebhook, listDeliveries, listWebhooks } from '../notices/webhooks.ts';
import { operationsRouter, serve } from './operation.ts';
import { pageFrom, sendPage } from './pages.ts';
import * as op from './operations/webhooks.ts';
import { principalOf, type AppEnv } from './env.ts';

/** /v1/webhooks: subscriptions (admins any event, a partner its own notices) and their delivery logs. */
export function webhooksRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.createWebhook, async (c, { body }) => c.json(await createWebhook(deps, principalOf(c), body), 201));
  serve(app, op.listWebhooks, async (c, { query }) => sendPage(c, deps.config, 'webhooks', await listWebhooks(deps, principalOf(c), pageFrom('webhooks', ['string', 'string'], query))));
  serve(app, op.getWebhook, async (c, { params }) => c.json(await getWebhook(deps, principalOf(c), params.id)));
  serve(app, op.enableWebhook, async (c, { params }) => c.json(await enableWebhook(deps, principalOf(c), params.id)));
  serve(app, op.deleteWebhook, async (c, { params }) => {
    await deleteWebhook(deps, principalOf(c), params.id);
    return c.body(null, 204);
  });
  serve(app, op.listWebhookDeliveries, async (c, { params, query }) => sendPage(c, deps.config, 'deliveries', await listDeliveries(deps, principalOf(c), params.id, pageFrom('deliveries', ['string', 'string'], query))));
  return app;
}
