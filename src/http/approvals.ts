import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { decideCompensation, listApprovals } from '../runtime/compensation-approvals.ts';
import type { TransactionState } from '../runtime/saga/states.ts';
import type { Runtime } from '../runtime/index.ts';
import { operationsRouter, serve } from './operation.ts';
import { pageFrom, sendPage } from './pages.ts';
import * as op from './operations/approvals.ts';
import { principalOf, type AppEnv } from './env.ts';

/** Compensations awaiting approval: approve or reject (issue 18). */
export function approvalsRouter(deps: Deps, runtime: Runtime): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  for (const [operation, decision] of [[op.approveCompensation, 'approve'], [op.rejectCompensation, 'reject']] as const) {
    serve(app, operation, async (c, { params, body }) => {
      const { approval, transaction } = await decideCompensation(deps, principalOf(c), params.ref, params.step, decision, body ?? {});
      // Approved: the engine runs the compensation (here or on the replica that holds the saga).
      if (decision === 'approve') await runtime.engine.kick(transaction.id);
      return c.json({ approval, transaction: { id: transaction.id, state: transaction.state as TransactionState } }, 200);
    });
  }
  serve(app, op.listCompensationApprovals, async (c, { query: { limit, cursor, ...filter } }) => {
    const page = await listApprovals(deps, filter, pageFrom('compensations', ['string', 'string'], { limit, cursor }));
    return sendPage(c, deps.config, 'compensations', page, { compensations: page.items });
  });
  return app;
}
