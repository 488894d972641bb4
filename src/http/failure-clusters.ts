import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import type { Runtime } from '../runtime/index.ts';
import { operationsRouter } from './operation.ts';
import type { AppEnv } from './env.ts';

/** Failure clusters: transactions failing the same way, by partner, step and error taxonomy (issue 18). */
export function failureClustersRouter(deps: Deps, runtime: Runtime): OpenAPIHono<AppEnv> {
  void deps;
  void runtime;
  return operationsRouter();
}
