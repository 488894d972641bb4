import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Runtime } from '../runtime/index.ts';
import { operationsRouter, serve } from './operation.ts';
import * as op from './operations/sla.ts';
import type { AppEnv } from './env.ts';

/** /v1/sla: SLA status per flow and partner. */
export function slaRouter(runtime: Runtime): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.getSlaStatus, async (c) => c.json(await runtime.sla.status()));
  return app;
}
