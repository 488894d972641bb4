import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import type { Runtime } from '../runtime/index.ts';
import { operationsRouter } from './operation.ts';
import type { AppEnv } from './env.ts';

/** The operations overview: rollup time series per flow and partner (issue 18). */
export function opsOverviewRouter(deps: Deps, runtime: Runtime): OpenAPIHono<AppEnv> {
  void deps;
  void runtime;
  return operationsRouter();
}
