import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { runSynthetic } from '../observability/synthetic.ts';
import type { Runtime } from '../runtime/index.ts';
import { operationsRouter, serve } from './operation.ts';
import * as op from './operations/synthetic.ts';
import { principalOf, type AppEnv } from './env.ts';

/** /v1/synthetic/run: synthetic transactions on demand. */
export function syntheticRouter(deps: Deps, runtime: Runtime): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.runSyntheticTransactions, async (c, { body }) => c.json(await runSynthetic(deps, runtime, principalOf(c), body)));
  return app;
}
