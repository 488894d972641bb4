import type { Context } from 'hono';

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
 * ids never leak to other sites) and the Content-Security-Policy (on an API answer it keeps a
 * browser from running or framing anything it is tricked into opening; pages that need more
 * replace it with an extension of CONTENT_SECURITY_POLICY).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': contentSecurityPolicy(),
};

/** Sets SECURITY_HEADERS on the response being prepared (call before the handler runs; costs no extra middleware layer). */
export function setSecurityHeaders(c: Context): void {
  for (const name in SECURITY_HEADERS) c.header(name, SECURITY_HEADERS[name]!);
}
