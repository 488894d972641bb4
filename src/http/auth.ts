import type { HttpBindings } from '@hono/node-server';
import type { Context, MiddlewareHandler } from 'hono';
import { auditText, type AuthGuard } from '../auth/abuse.ts';
import { appendAudit } from '../audit/log.ts';
import { clientAddress } from '../auth/client-address.ts';
import { requireScope, type Principal } from '../auth/principal.ts';
import type { Deps } from '../deps.ts';
import { authorize, securedOperation } from './api.ts';
import type { AppEnv } from './env.ts';

/**
 * The client address of a request: the socket peer, or X-Forwarded-For's right-most untrusted
 * entry when the peer is a trusted proxy. In-process requests (no socket) share one address.
 */
export function requestAddress(deps: Pick<Deps, 'config'>, c: Context<AppEnv>): string {
  const peer = (c.env as Partial<HttpBindings> | undefined)?.incoming?.socket?.remoteAddress;
  return clientAddress(peer, c.req.header('x-forwarded-for'), deps.config.trustedProxies);
}

/** What a /v1 request needs: the role and scope of the operation its route serves (none for an unknown route, which 404s). */
export function documentedOperation(c: Context<AppEnv>): void {
  const route = c.req.matchedRoutes.find((r) => r.method !== 'ALL');
  const operation = route ? securedOperation(c.req.method, route.path) : undefined;
  if (operation) authorize(c.get('principal'), { method: operation.method, path: operation.template });
}

/** What an /exchange request needs: a token that may use the exchange (any role). */
export function exchangeScope(c: Context<AppEnv>): void {
  requireScope(c.get('principal'), 'exchange', `${c.req.method} ${c.req.path}`);
}

/**
 * The one authentication step of every authenticating route (`/v1/*`, `/exchange/*`): resolves
 * the bearer token under the abuse limits (401, 429), sets the principal, then `authorizeRequest`
 * refuses with 403 what the principal's role or token scope does not allow.
 */
export function authenticate(deps: Pick<Deps, 'config'>, guard: AuthGuard, authorizeRequest: (c: Context<AppEnv>) => void): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    try {
      c.set('principal', await guard.authenticate(c.req.header('authorization'), () => requestAddress(deps, c)));
    } catch (error) {
      // Counted in the guard's aggregated refusal rows, not one audit row per request.
      c.set('refusalAggregated', true);
      throw error;
    }
    authorizeRequest(c);
    await next();
  };
}

/**
 * Audits an authenticated caller's request once it has been answered (API and console alike):
 * `action` as given, the path as target, the outcome from the status (refused for 4xx).
 */
export async function auditRequest(deps: Pick<Deps, 'db' | 'clock' | 'audit'>, c: Context<AppEnv>, principal: Principal, action: string): Promise<void> {
  const status = c.res.status;
  await appendAudit(deps, {
    actor: principal.name,
    role: principal.role,
    action: auditText(action),
    target: auditText(c.req.path),
    outcome: status < 400 ? 'ok' : status < 500 ? 'refused' : 'error',
    detail: { status, requestId: c.get('requestId'), ...(principal.partner ? { partner: principal.partner } : {}) },
  });
}
