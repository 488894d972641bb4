import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import { formatOfContentType } from '../contracts/document.ts';
import { getNetworkRuleset, putNetworkRuleset } from '../lint/network.ts';
import { operationsRouter, serve } from './operation.ts';
import * as op from './operations/rulesets.ts';
import { principalOf, type AppEnv } from './env.ts';

/** /v1/rulesets/network: the network's style rules (control-matrix/ruleset.yaml). */
export function rulesetsRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.getNetworkRuleset, async (c, { query }) => c.json(await getNetworkRuleset(deps, query.version)));
  serve(app, op.putNetworkRuleset, async (c) => {
    const result = await putNetworkRuleset(deps, principalOf(c), await c.req.text(), formatOfContentType(c.req.header('content-type')));
    return c.json(result.version, result.created ? 201 : 200);
  });
  return app;
}
