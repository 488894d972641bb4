import { randomUUID } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
import type { Deps } from '../deps.ts';
import { AccordError } from '../errors.ts';
import { outboundPolicy } from '../outbound/address-policy.ts';
import type { ResolveHost } from '../outbound/dns-resolver.ts';
import { OUTBOUND_FAILURES, sendOutbound } from '../outbound/http-client.ts';
import { endpointCredential } from './endpoints.ts';

/**
 * The Authorization header Accord sends to a partner's environment: none, its bearer token, or an
 * access token obtained with OAuth2 client credentials and a `private_key_jwt` client assertion
 * (SMART Backend Services: iss = sub = client id, aud = token URL, a fresh jti, at most 5 minutes
 * of life). Access tokens are kept until 30 s before they expire.
 */

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ASSERTION_SECONDS = 300;
const EARLY_SECONDS = 30;

/** Access tokens by partner, environment and the endpoint's update time (a PUT invalidates them). */
const cache = new Map<string, { token: string; expiresAt: number }>();

/** What to send; throws 404 when the environment is not registered, 503 when the partner's token endpoint refuses. */
export async function partnerAuthorization(deps: Pick<Deps, 'db' | 'config' | 'clock'>, partner: string, environment: string, options: { resolve?: ResolveHost } = {}): Promise<Record<string, string>> {
  const credential = await endpointCredential(deps, partner, environment);
  if (!credential) throw new AccordError('not_found', `${partner} has no endpoint for ${environment}: PUT /v1/partners/${partner}/endpoints`);
  const { row, secret } = credential;
  if (row.authType === 'none' || secret === null) return {};
  if (row.authType === 'bearer') return { Authorization: `Bearer ${secret}` };
  const key = `${partner}\n${environment}\n${row.updatedAt}`;
  const now = deps.clock().getTime();
  const cached = cache.get(key);
  if (cached && cached.expiresAt > now) return { Authorization: `Bearer ${cached.token}` };
  const seconds = Math.floor(now / 1000);
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: row.alg!, typ: 'JWT', ...(row.keyId ? { kid: row.keyId } : {}) })
    .setIssuer(row.clientId!)
    .setSubject(row.clientId!)
    .setAudience(row.tokenUrl!)
    .setJti(randomUUID())
    .setIssuedAt(seconds)
    .setExpirationTime(seconds + ASSERTION_SECONDS)
    .sign(await importPKCS8(secret, row.alg!));
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: assertion, ...(row.scope ? { scope: row.scope } : {}) });
  const where = `The token endpoint of ${partner}/${environment} (${row.tokenUrl})`;
  const result = await sendOutbound(
    outboundPolicy(deps.config),
    { url: row.tokenUrl!, method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' }, body: form.toString(), timeoutMs: deps.config.webhookTimeoutMs, maxResponseBytes: 65_536 },
    options,
  );
  if (result.outcome === 'failed') throw new AccordError('unavailable', `${where} could not be reached: ${OUTBOUND_FAILURES[result.failure]}`);
  const text = result.body.toString('utf8');
  if (result.status !== 200) throw new AccordError('unavailable', `${where} answered ${result.status}: ${text.slice(0, 300)}`);
  let answer: { access_token?: unknown; token_type?: unknown; expires_in?: unknown };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    throw new AccordError('unavailable', `${where} answered 200 without a JSON body`);
  }
  if (typeof answer.access_token !== 'string' || answer.access_token === '' || typeof answer.token_type !== 'string' || answer.token_type.toLowerCase() !== 'bearer') {
    throw new AccordError('unavailable', `${where} answered 200 without a bearer access_token`);
  }
  const lifetime = typeof answer.expires_in === 'number' && answer.expires_in > 0 ? answer.expires_in : ASSERTION_SECONDS;
  cache.set(key, { token: answer.access_token, expiresAt: now + Math.max(0, lifetime - EARLY_SECONDS) * 1000 });
  return { Authorization: `Bearer ${answer.access_token}` };
}
