import type { Context } from 'hono';
import type { Principal } from '../auth/principal.ts';
import type { ExchangeHop } from '../runtime/trace-context.ts';
import type { Session } from '../web/sessions.ts';

/** Hono environment shared by every router. */
export interface AppEnv {
  Variables: {
    requestId: string;
    principal: Principal;
    /** Correlation id and trace context of an exchange request (set before the body limit). */
    hop: ExchangeHop | undefined;
    /** The contract operation an exchange request reached: its metrics labels and access-log route. */
    exchangeOperation: ExchangeOperation | undefined;
    /** Set when authentication refused the request: it is audited in the aggregated refusal rows. */
    refusalAggregated: boolean | undefined;
    /** The console session of a signed-in console user (set on /console pages only). */
    session: Session | undefined;
  };
}

/** The authenticated caller (the auth middleware guarantees one on /v1 routes). */
export function principalOf(c: Context<AppEnv>): Principal {
  return c.get('principal');
}

/** The contract operation an exchange request reached: the served line (partner, API, major) and its operationId. */
export interface ExchangeOperation {
  partner: string;
  api: string;
  major: string;
  operation: string;
}
