import type { MiddlewareHandler } from 'hono';

/**
 * The Content-Security-Policy of every HTML response, as directives: nothing may load, frame the
 * page, rebase its URLs or post forms elsewhere. A page that needs more (the console's own
 * scripts and styles) extends this one object, so the policy stays in one place.
 */
export const CONTENT_SECURITY_POLICY: Record<string, string[]> = {
  'default-src': ["'none'"],
  'frame-ancestors': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
};

/** The policy as a header value. */
export function contentSecurityPolicy(directives: Record<string, string[]> = CONTENT_SECURITY_POLICY): string {
  return Object.entries(directives)
    .map(([name, sources]) => `${name} ${sources.join(' ')}`)
    .join('; ');
}

/**
 * Headers on every response, errors included: `X-Content-Type-Options: nosniff` (a browser
 * never guesses a type, e.g. runs a JSON body as HTML), `Referrer-Policy: no-referrer` (URLs with
 * ids never leak to other sites), and the Content-Security-Policy on HTML.
 */
export function securityHeaders(): MiddlewareHandler {
  const policy = contentSecurityPolicy();
  return async (c, next) => {
    await next();
    const headers = c.res.headers;
    headers.set('X-Content-Type-Options', 'nosniff');
    headers.set('Referrer-Policy', 'no-referrer');
    if (/^text\/html\b/i.test(headers.get('content-type') ?? '') && !headers.has('content-security-policy')) headers.set('Content-Security-Policy', policy);
  };
}
