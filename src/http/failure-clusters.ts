import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { failureClusters } from '../observability/failure-clusters.ts';
import type { Runtime } from '../runtime/index.ts';
import { operationsRouter, serve } from './operation.ts';
import * as op from './operations/failure-clusters.ts';
import { principalOf, type AppEnv } from './env.ts';

/** Failure clusters: transactions failing the same way, by partner, step and error taxonomy (issue 18). */
export function failureClustersRouter(deps: Deps, runtime: Runtime): OpenAPIHono<AppEnv> {
  void runtime;
  const app = operationsRouter();
  serve(app, op.listFailureClusters, async (c, { query }) => c.json(await failureClusters(deps, principalOf(c), query)));
  return app;
}
