import { Hono } from 'hono';
import { requireRole } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { scorecard } from '../observability/scorecards.ts';
import { runSynthetic } from '../observability/synthetic.ts';
import { operatorViews } from '../observability/views.ts';
import type { Runtime } from '../runtime/index.ts';
import { principalOf, type AppEnv } from './env.ts';
import { jsonBody } from './request.ts';

/** /v1/sla, /v1/synthetic/run, /v1/scorecards/{partner}, /v1/operator/views. */
export function observabilityRouter(deps: Deps, runtime: Runtime): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/sla', async (c) => {
    requireRole(principalOf(c), ['admin', 'ci', 'author', 'approver'], 'read SLA status');
    return c.json(await runtime.sla.status());
  });
  app.post('/synthetic/run', async (c) => {
    const body = c.req.header('content-length') === '0' || !c.req.header('content-type') ? {} : await jsonBody(c);
    return c.json(await runSynthetic(deps, runtime, principalOf(c), body));
  });
  app.get('/scorecards/:partner', (c) => c.json(scorecard(deps, runtime, principalOf(c), c.req.param('partner'), c.req.query('window') ?? 'P7D')));
  app.get('/operator/views', async (c) => c.json(await operatorViews(deps, runtime, principalOf(c))));
  return app;
}
