import { Hono, type Context, type Next } from 'hono';
import type { Deps } from '../deps.ts';
import { runFaultExperiment } from '../runtime/experiments.ts';
import { createFault, deleteFault, listFaults } from '../runtime/faults.ts';
import type { Runtime } from '../runtime/index.ts';
import { validCorrelation } from '../runtime/trace-context.ts';
import { requestOperatorAction } from '../runtime/operator-actions.ts';
import { getTransaction, listTransactions, loadTransactionView } from '../runtime/transaction-views.ts';
import { absoluteUrl } from '../lib/public-url.ts';
import { principalOf, type AppEnv } from './env.ts';
import { jsonBody, jsonBodyWithText } from './request.ts';

/** /v1/transactions (start, find, list, operator retry/compensate) and /v1/faults (sandbox fault injection). */
export function transactionsRouter(deps: Deps, runtime: Runtime): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // A caller's X-Correlation-Id comes back on every answer here, refusals included (a transaction's own is set below).
  app.use('/transactions/*', echoCorrelation);
  app.use('/transactions', echoCorrelation);
  app.post('/transactions', async (c) => {
    const principal = principalOf(c);
    const { body, text: rawBody } = await jsonBodyWithText(c);
    const started = await runtime.engine.start(principal, {
      body,
      rawBody,
      idempotencyKey: c.req.header('idempotency-key'),
      correlationId: c.req.header('x-correlation-id'),
      traceparent: c.req.header('traceparent'),
      tracestate: c.req.header('tracestate'),
    });
    const view = JSON.parse(started.body) as { id: string; correlationId: string };
    return c.body(started.body, started.status as 202, {
      'Content-Type': 'application/json',
      Location: absoluteUrl(deps.config, `/v1/transactions/${view.id}`),
      'X-Correlation-Id': view.correlationId,
      ...(started.replayed ? { 'Idempotent-Replayed': 'true' } : {}),
    });
  });
  app.get('/transactions', (c) => c.json(listTransactions(deps, principalOf(c), c.req.query())));
  app.get('/transactions/:ref', (c) => {
    const view = getTransaction(deps, principalOf(c), c.req.param('ref'), (id) => runtime.engine.inCall(id));
    return c.json(view, 200, { 'X-Correlation-Id': view.correlationId });
  });
  for (const action of ['retry', 'compensate'] as const) {
    app.post(`/transactions/:ref/${action}`, (c) => {
      const row = requestOperatorAction(deps, principalOf(c), c.req.param('ref'), action);
      runtime.engine.kick(row.id);
      return c.json(loadTransactionView(deps.db, deps.config, row), 202);
    });
  }
  app.post('/fault-experiments', async (c) => c.json(await runFaultExperiment(deps, runtime, principalOf(c), await jsonBody(c)), 201));
  app.post('/faults', async (c) => c.json(createFault(deps, principalOf(c), await jsonBody(c)), 201));
  app.get('/faults', (c) => c.json({ faults: listFaults(deps, principalOf(c)) }));
  app.delete('/faults/:id', (c) => {
    deleteFault(deps, principalOf(c), c.req.param('id'));
    return c.body(null, 204);
  });
  return app;
}

async function echoCorrelation(c: Context<AppEnv>, next: Next): Promise<void> {
  const given = validCorrelation(c.req.header('x-correlation-id'));
  await next();
  if (given && !c.res.headers.has('x-correlation-id')) c.res.headers.set('X-Correlation-Id', given);
}
