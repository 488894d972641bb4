import { Hono } from 'hono';
import { consumersOf, setConsumers } from '../changes/consumers.ts';
import type { Deps } from '../context.ts';
import { jsonBody, principalOf, type AppEnv } from './types.ts';

/** /v1/contracts/{partner}/{api}/consumers (until it joins the contracts router). */
export function changeControlRouter(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/contracts/:partner/:api/consumers', (c) => c.json({ consumers: consumersOf(deps, c.req.param('partner'), c.req.param('api')) }));
  app.put('/contracts/:partner/:api/consumers', async (c) => c.json({ consumers: setConsumers(deps, principalOf(c), c.req.param('partner'), c.req.param('api'), (await jsonBody(c)).consumers) }));
  return app;
}
