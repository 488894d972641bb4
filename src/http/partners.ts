import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { getEndpoints, putEndpoints } from '../partners/endpoints.ts';
import { operationsRouter, serve } from './operation.ts';
import * as op from './operations/partners.ts';
import { principalOf, type AppEnv } from './env.ts';

/** /v1/partners/{partner}/endpoints: where Accord reaches a partner per environment (admins any, a partner its own). */
export function partnersRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.getPartnerEndpoints, async (c, { params }) => c.json(await getEndpoints(deps, principalOf(c), params.partner)));
  serve(app, op.putPartnerEndpoints, async (c, { params, body }) => c.json(await putEndpoints(deps, principalOf(c), params.partner, body)));
  return app;
}
