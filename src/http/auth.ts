import type { HttpBindings } from '@hono/node-server';
import { AccordError } from '../errors.ts';
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

/** The one URL that takes a token in its query: feed readers cannot send headers. */
const FEED_PATH = '/v1/notices.atom';

/** The request's credentials: its Authorization header, or on the feed's URL (without one) `?token=`. */
function credentialsOf(c: Context<AppEnv>): { authorization: string | undefined; inUrl: boolean } {
  const authorization = c.req.header('authorization');
  const token = authorization === undefined && c.req.path === FEED_PATH ? c.req.query('token') : undefined;
  return token ? { authorization: `Bearer ${token}`, inUrl: true } : { authorization, inUrl: false };
}

/**
 * The one authentication step of every authenticating route (`/v1/*`, `/exchange/*`): resolves
 * the bearer token under the abuse limits (401, 429), sets the principal, then `authorizeRequest`
 * refuses with 403 what the principal's role or token scope does not allow.
 */
export function authenticate(deps: Pick<Deps, 'config'>, guard: AuthGuard, authorizeRequest: (c: Context<AppEnv>) => void): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { authorization, inUrl } = credentialsOf(c);
    try {
      c.set('principal', await guard.authenticate(authorization, () => requestAddress(deps, c)));
    } catch (error) {
      // Counted in the guard's aggregated refusal rows, not one audit row per request.
      c.set('refusalAggregated', true);
      throw error;
    }
    const scopes = c.get('principal').scopes;
    if (inUrl && !(scopes?.length === 1 && scopes[0] === 'notices:read')) {
      throw new AccordError('forbidden', `A token in the URL (?token=) is accepted only on ${FEED_PATH} and only when it is limited to the notices:read scope alone; send this token in the Authorization header, or create a feed token: accord token create --role … --scopes notices:read`);
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
