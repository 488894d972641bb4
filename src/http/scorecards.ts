import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { scorecard } from '../observability/scorecards.ts';
import type { Runtime } from '../runtime/index.ts';
import { operationsRouter, serve } from './operation.ts';
import * as op from './operations/scorecards.ts';
import { principalOf, type AppEnv } from './env.ts';

/** /v1/scorecards/{partner}: a partner's scorecard (a partner reads its own). */
export function scorecardsRouter(deps: Deps, runtime: Runtime): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.getScorecard, async (c, { params, query }) => c.json(await scorecard(deps, runtime, principalOf(c), params.partner, query.window, query.months)));
  return app;
}
