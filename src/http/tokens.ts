import { Hono } from 'hono';
import { requireRole } from '../auth/principal.ts';
import { createToken, listTokens, revokeToken } from '../auth/tokens.ts';
import type { Deps } from '../context.ts';
import { jsonBody, principalOf, type AppEnv } from './types.ts';

/** Routes under /v1/tokens (admin only). */
export function tokensRouter(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    requireRole(principalOf(c), ['admin'], 'manage tokens');
    await next();
  });
  app.post('/', async (c) => {
    const principal = principalOf(c);
    const created = createToken(deps, principal.name, await jsonBody(c), { creator: principal });
    deps.logger.info({ tokenId: created.id, role: created.role, expiresAt: created.expiresAt, scopes: created.scopes, by: principal.name }, 'token created');
    // The answer carries the secret: no cache may keep it.
    return c.json(created, 201, { 'Cache-Control': 'no-store' });
  });
  app.get('/', (c) => c.json(listTokens(deps)));
  app.delete('/:id', (c) => {
    const principal = principalOf(c);
    const revoked = revokeToken(deps, c.req.param('id'), principal);
    deps.logger.info({ tokenId: revoked.id, by: principal.name }, 'token revoked');
    return c.body(null, 204);
  });
  return app;
}
