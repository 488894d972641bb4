import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { formatOfContentType } from '../contracts/document.ts';
import { getMatrixDocument, putMatrixDocument } from '../matrix/store.ts';
import { operationsRouter, serve } from './operation.ts';
import * as op from './operations/policy.ts';
import { principalOf, type AppEnv } from './env.ts';

/** /v1/policy: the governance policy (control-matrix/policy.yaml). */
export function policyRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.getPolicy, async (c, { query }) => c.json(await getMatrixDocument(deps, 'policy', 'policy', query.version)));
  serve(app, op.putPolicy, async (c) => {
    const result = await putMatrixDocument(deps, principalOf(c), {
      kind: 'policy',
      name: 'policy',
      body: await c.req.text(),
      format: formatOfContentType(c.req.header('content-type')),
    });
    return c.json(result.version, result.created ? 201 : 200);
  });
  return app;
}
