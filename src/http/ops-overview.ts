import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { AccordError } from '../errors.ts';
import { readOverview } from '../observability/ops-overview.ts';
import type { Runtime } from '../runtime/index.ts';
import { operationsRouter, serve } from './operation.ts';
import * as op from './operations/ops-overview.ts';
import { principalOf, type AppEnv } from './env.ts';

/** The operations overview: rollup time series per flow and partner (issue 18). */
export function opsOverviewRouter(deps: Deps, runtime: Runtime): OpenAPIHono<AppEnv> {
  void runtime;
  const app = operationsRouter();
  serve(app, op.getOpsOverview, async (c, { query }) => {
    const principal = principalOf(c);
    let partner = query.partner;
    if (principal.role === 'partner') {
      if (partner !== undefined && partner !== principal.partner) throw new AccordError('not_found', `No overview for ${partner}`);
      partner = principal.partner ?? undefined;
    }
    return c.json(await readOverview(deps, { window: query.window, flow: query.flow, partner }));
  });
  return app;
}
