import type { OpenAPIHono } from '@hono/zod-openapi';
import { createToken, listTokens, revokeToken } from '../auth/tokens.ts';
import type { Deps } from '../deps.ts';
import { scopesOfRole } from './api.ts';
import { operationsRouter, serve } from './operation.ts';
import { pageFrom, sendPage } from './pages.ts';
import * as op from './operations/tokens.ts';
import { principalOf, type AppEnv } from './env.ts';

/** /v1/tokens (admin only). */
export function tokensRouter(deps: Deps): OpenAPIHono<AppEnv> {
  const app = operationsRouter();
  serve(app, op.createToken, async (c, { body }) => {
    const principal = principalOf(c);
    const created = await createToken(deps, principal.name, body, { creator: principal, scopesOfRole });
    deps.logger.info({ tokenId: created.id, role: created.role, expiresAt: created.expiresAt, scopes: created.scopes, by: principal.name }, 'token created');
    // The answer carries the secret: no cache may keep it.
    return c.json(created, 201, { 'Cache-Control': 'no-store' });
  });
  serve(app, op.listTokens, async (c, { query }) => sendPage(c, deps.config, 'tokens', await listTokens(deps, pageFrom('tokens', ['string', 'string'], query))));
  serve(app, op.revokeToken, async (c, { params }) => {
    const principal = principalOf(c);
    const revoked = await revokeToken(deps, params.id, principal);
    deps.logger.info({ tokenId: revoked.id, by: principal.name }, 'token revoked');
    return c.body(null, 204);
  });
  return app;
}
