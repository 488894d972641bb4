import type { Context } from 'hono';
import { exchangeHopOf, hopHeaders, type ExchangeHop } from '../../runtime/trace-context.ts';
import type { AppEnv } from '../env.ts';

/**
 * Takes or makes the request's X-Correlation-Id and continues its W3C trace with a new span,
 * and puts both on the answer. The app runs it first on /exchange, so every answer there
 * carries them, a 413 or 401 included.
 */
export function exchangeHop(c: Context<AppEnv>): ExchangeHop {
  const hop = exchangeHopOf({ correlationId: c.req.header('x-correlation-id'), traceparent: c.req.header('traceparent'), tracestate: c.req.header('tracestate') });
  for (const [name, value] of Object.entries(hopHeaders(hop))) c.header(name, value);
  c.set('hop', hop);
  return hop;
}
