import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, Next } from 'hono';
import type { Deps } from '../deps.ts';
import type { Runtime } from '../runtime/index.ts';
import { requestOperatorAction } from '../runtime/operator-actions.ts';
import { validCorrelation } from '../runtime/trace-context.ts';
import { getTransaction, listTransactions, loadTransactionView } from '../runtime/transaction-views.ts';
import { operationsRouter, serve } from './operation.ts';
import { pageFrom, sendPage } from './pages.ts';
import * as op from './operations/transactions.ts';
import { principalOf, type AppEnv } from './env.ts';

/** /v1/transactions: start a flow, find and list transactions, operator retry and compensate. */
export function transactionsRouter(deps: Deps, runtime: Runtime): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  // A caller's X-Correlation-Id comes back on every answer here, refusals included (a transaction's own is set below).
  app.use('/v1/transactions', echoCorrelation);
  app.use('/v1/transactions/*', echoCorrelation);

  serve(app, op.startTransaction, async (c, { body }) => {
    const started = await runtime.engine.start(principalOf(c), {
      body,
      // The exact text (Hono keeps the body read for validation): the idempotency fingerprint is of the bytes sent.
      rawBody: await c.req.text(),
      idempotencyKey: c.req.header('idempotency-key'),
      correlationId: c.req.header('x-correlation-id'),
      traceparent: c.req.header('traceparent'),
      tracestate: c.req.header('tracestate'),
    });
    return c.body(started.body, started.status as 202, { ...started.headers, 'Content-Type': 'application/json', ...(started.replayed ? { 'Idempotent-Replayed': 'true' } : {}) });
  });

  serve(app, op.listTransactions, async (c, { query }) => {
    const { transactions, more, next } = await listTransactions(deps, principalOf(c), query, pageFrom('transactions', ['string', 'string'], query).after);
    return sendPage(c, deps.config, 'transactions', { items: transactions, more, ...(next ? { next } : {}) }, { transactions });
  });

  serve(app, op.getTransaction, async (c, { params }) => {
    const view = await getTransaction(deps, principalOf(c), params.ref, (id) => runtime.engine.inCall(id));
    return c.json(view, 200, { 'X-Correlation-Id': view.correlationId });
  });

  for (const [operation, action] of [[op.retryTransaction, 'retry'], [op.compensateTransaction, 'compensate']] as const) {
    serve(app, operation, async (c, { params }) => {
      const row = await requestOperatorAction(deps, principalOf(c), params.ref, action);
      await runtime.engine.kick(row.id);
      return c.json(await loadTransactionView(deps.db, deps.config, row), 202);
    });
  }

  return app;
}

async function echoCorrelation(c: Context<AppEnv>, next: Next): Promise<void> {
  const given = validCorrelation(c.req.header('x-correlation-id'));
  await next();
  if (given && !c.res.headers.has('x-correlation-id')) c.res.headers.set('X-Correlation-Id', given);
}
