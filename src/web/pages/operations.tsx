import type { Hono } from 'hono';
import type { Deps } from '../../deps.ts';
import type { Runtime } from '../../runtime/index.ts';
import type { WebEnv } from '../types.ts';
import { registerApprovalPages } from './operations/approvals.tsx';
import { registerIncidentPages } from './operations/incidents.tsx';
import { registerOverviewPages } from './operations/overview.tsx';
import { registerTransactionPages } from './operations/transactions.tsx';

/**
 * The operations console under /console/operations (issue 18): the overview with its charts and
 * live tables, one transaction's path and its failure cluster, compensations awaiting approval,
 * incidents and postmortems. Same sessions, CSRF and roles as the API: staff see every partner,
 * a partner only its own transactions.
 */
export function registerOperationsPages(app: Hono<WebEnv>, deps: Deps, runtime: Runtime): void {
  registerOverviewPages(app, deps, runtime);
  registerTransactionPages(app, deps, runtime);
  registerApprovalPages(app, deps, runtime);
  registerIncidentPages(app, deps, runtime);
}
