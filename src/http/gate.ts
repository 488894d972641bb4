import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { checkGate, getDecision } from '../gate/check.ts';
import { operationsRouter, serve } from './operation.ts';
import * as op from './operations/gate.ts';
import { principalOf, type AppEnv } from './env.ts';

/** /v1/gate: the release gate's checks and its stored decisions. */
export function gateRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.checkGate, async (c, { body }) => c.json(await checkGate(deps, principalOf(c), body)));
  serve(app, op.getGateDecision, async (c, { params }) => c.json(await getDecision(deps, params.id)));
  return app;
}
