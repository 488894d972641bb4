import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { operatorViews } from '../observability/views.ts';
import type { Runtime } from '../runtime/index.ts';
import { operationsRouter, serve } from './operation.ts';
import * as op from './operations/operator-views.ts';
import type { AppEnv } from './env.ts';

/** /v1/operator/views: degraded routes, stuck transaction types, accumulating retries, pending compensations. */
export function operatorViewsRouter(deps: Deps, runtime: Runtime): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.getOperatorViews, async (c) => c.json(await operatorViews(deps, runtime)));
  return app;
}
