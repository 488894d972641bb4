import type { OpenAPIHono } from '@hono/zod-openapi';
import { listAudit } from '../audit/log.ts';
import type { Deps } from '../deps.ts';
import { operationsRouter, serve } from './operation.ts';
import * as op from './operations/audit.ts';
import type { AppEnv } from './env.ts';

/** /v1/audit: the audit log. */
export function auditRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.listAudit, async (c, { query }) => c.json(await listAudit(deps, query)));
  return app;
}
