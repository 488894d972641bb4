import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { freezeReleases, liftFreeze, listFreezes } from '../gate/freezes.ts';
import { operationsRouter, serve } from './operation.ts';
import { pageFrom, sendPage } from './pages.ts';
import * as op from './operations/freezes.ts';
import { principalOf, type AppEnv } from './env.ts';

/** /v1/freezes: release freezes per partner. */
export function freezesRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.listFreezes, async (c, { query }) => sendPage(c, deps.config, 'freezes', await listFreezes(deps, pageFrom('freezes', ['string', 'string'], query))));
  serve(app, op.freezeReleases, async (c, { body }) => c.json(await freezeReleases(deps, principalOf(c).name, body), 201));
  serve(app, op.liftFreeze, async (c, { params }) => c.json(await liftFreeze(deps, params.id)));
  return app;
}
