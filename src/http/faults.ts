import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { runFaultExperiment } from '../runtime/experiments.ts';
import { createFault, deleteFault, listFaults } from '../runtime/faults.ts';
import type { Runtime } from '../runtime/index.ts';
import { operationsRouter, serve } from './operation.ts';
import * as op from './operations/faults.ts';
import { principalOf, type AppEnv } from './env.ts';

/** /v1/faults (sandbox fault injection) and /v1/fault-experiments (recovery from each fault kind, as evidence). */
export function faultsRouter(deps: Deps, runtime: Runtime): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.listFaults, async (c) => c.json({ faults: await listFaults(deps) }));
  serve(app, op.createFault, async (c, { body }) => c.json(await createFault(deps, principalOf(c), body), 201));
  serve(app, op.deleteFault, async (c, { params }) => {
    await deleteFault(deps, params.id);
    return c.body(null, 204);
  });
  serve(app, op.runFaultExperiment, async (c, { body }) => c.json(await runFaultExperiment(deps, runtime, principalOf(c), body), 201));
  return app;
}
