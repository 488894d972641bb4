import type { OpenAPIHono } from '@hono/zod-openapi';
import { listAudit } from '../audit/log.ts';
import type { Deps } from '../deps.ts';
import { operationsRouter, serve } from './operation.ts';
import { pageFrom, sendPage } from './pages.ts';
import * as op from './operations/audit.ts';
import type { AppEnv } from './env.ts';

/** /v1/audit: the audit log. */
export function auditRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.listAudit, async (c, { query }) => {
    // A cursor continues after the last entry sent; without one `after` says where to start.
    const page = pageFrom('audit', ['number'], query);
    return sendPage(c, deps.config, 'audit', await listAudit(deps, { limit: page.limit, after: page.after ? Number(page.after[0]) : query.after }));
  });
  return app;
}
