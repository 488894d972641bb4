import { and, eq } from 'drizzle-orm';
import { importPKCS8, SignJWT } from 'jose';
import { z } from 'zod';
import type { Principal } from '../auth/principal.ts';
import { contractVersions, partnerEndpoints } from '../db/index.ts';
import type { Deps } from '../deps.ts';
import { AccordError, type FieldError } from '../errors.ts';
import { openSecret, sealSecret } from '../lib/secrets.ts';
import { checkUrl, destinationRefusal, MAX_URL_LENGTH, outboundPolicy } from '../outbound/address-policy.ts';
import type { ResolveHost } from '../outbound/dns-resolver.ts';
import { durationMs } from '../matrix/durations.ts';
import { DURATION_PATTERN } from '../matrix/schema.ts';

/**
 * A partner's endpoints (issue 20, partner certification): per environment, the base URL of its
 * API and how Accord authenticates to it — no credential, a bearer token, or OAuth2 client
 * credentials with `private_key_jwt` as in SMART Backend Services. Base and token URLs follow
 * the outbound address rules of webhooks; credentials are sealed with ACCORD_SECRETS_KEY.
 */

export const ENVIRONMENT_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;
/** The signing algorithms SMART Backend Services allows for client assertions. */
export const ASSERTION_ALGORITHMS = ['RS384', 'ES384'] as const;
const MAX_ENVIRONMENTS = 20;
const URL_RULE = `must be an http(s) URL of at most ${MAX_URL_LENGTH} characters`;
const TOKEN_RULE = 'must be 16–4096 characters';

const Url = z.string({ error: URL_RULE }).min(1, URL_RULE).max(MAX_URL_LENGTH, URL_RULE);

const EndpointAuth = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('none') }),
    z.strictObject({
      type: z.literal('bearer'),
      token: z.string({ error: TOKEN_RULE }).min(16, TOKEN_RULE).max(4096, TOKEN_RULE).optional().meta({ description: 'Sent as `Authorization: Bearer`; never returned. Left out: the stored token is kept.' }),
    }),
    z.strictObject({
      type: z.literal('private_key_jwt'),
      tokenUrl: Url.meta({ description: 'The partner’s OAuth2 token endpoint (client credentials grant)' }),
      clientId: z.string().min(1).max(200).meta({ description: 'Accord’s client id at the partner (the assertion’s iss and sub)' }),
      scope: z.string().max(1000).optional().meta({ description: 'The scope requested, e.g. `system/*.read`' }),
      keyId: z.string().min(1).max(200).optional().meta({ description: 'The `kid` of the assertion’s header: the key in the JWKS the partner knows Accord by' }),
      alg: z.enum(ASSERTION_ALGORITHMS, { error: `must be ${ASSERTION_ALGORITHMS.join(' or ')}` }).meta({ description: 'RS384 (an RSA key of at least 2048 bits) or ES384 (a P-384 key)' }),
      privateKey: z.string().max(16_384).optional().meta({ description: 'PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) that signs the client assertions; never returned. Left out: the stored key is kept.' }),
    }),
  ],
  { error: 'type must be none, bearer or private_key_jwt' },
);

const EVERY_RULE = 'must be an ISO 8601 duration of at least PT5M (e.g. PT6H, P1D)';
const MIN_EVERY_MS = 5 * 60_000;

const EndpointInput = z.strictObject({
  baseUrl: Url.meta({ description: 'Where the partner’s API answers in this environment (its paths are appended)' }),
  auth: EndpointAuth,
  certifyEvery: z
    .string({ error: EVERY_RULE })
    .refine((v) => new RegExp(DURATION_PATTERN).test(v) && durationMs(v) >= MIN_EVERY_MS, EVERY_RULE)
    .nullish()
    .meta({ description: 'How often Accord certifies the APIs released to this environment (the newest release of each), e.g. P1D; left out or null: only on request (POST /v1/certifications)' }),
});

export const EndpointsRequest = z
  .strictObject({
    environments: z
      .record(z.string().regex(ENVIRONMENT_PATTERN, 'environment names are lower-case letters, digits and hyphens, 1–40, starting with a letter'), EndpointInput)
      .refine((e) => Object.keys(e).length <= MAX_ENVIRONMENTS, `at most ${MAX_ENVIRONMENTS} environments`)
      .meta({ description: 'Every environment of the partner (e.g. sandbox, production): the set replaces the stored one' }),
  })
  .meta({ id: 'PartnerEndpointsRequest' });
export type EndpointsRequest = z.output<typeof EndpointsRequest>;

type Row = typeof partnerEndpoints.$inferSelect;

/** An environment as anyone may read it: no credential, only whether one is stored. */
function toView(row: Row) {
  const auth =
    row.authType === 'private_key_jwt'
      ? { type: 'private_key_jwt' as const, tokenUrl: row.tokenUrl!, clientId: row.clientId!, scope: row.scope, keyId: row.keyId, alg: row.alg!, credentialStored: row.secret !== null }
      : { type: row.authType as 'none' | 'bearer', credentialStored: row.secret !== null };
  return { baseUrl: row.baseUrl, auth, certifyEvery: row.certifyEvery, updatedAt: row.updatedAt, updatedBy: row.updatedBy };
}

/** What the secret of an environment is sealed to: a value moved to another row does not open. */
const sealContext = (partner: string, environment: string) => `partner-endpoint:${partner}:${environment}`;

/** Admins manage every partner's endpoints; a partner its own (403 otherwise); an unknown partner is 404. */
async function requirePartner(deps: Pick<Deps, 'db'>, principal: Principal, partner: string): Promise<void> {
  if (principal.role === 'partner' && principal.partner !== partner) throw new AccordError('forbidden', `A partner manages its own endpoints only (this token speaks for ${principal.partner})`);
  const known = await deps.db.select({ partner: contractVersions.partner }).from(contractVersions).where(eq(contractVersions.partner, partner)).limit(1).get();
  if (!known) throw new AccordError('not_found', `No partner "${partner}": it has registered no contract`);
}

/** GET /v1/partners/{partner}/endpoints: the partner's environments, credentials left out. */
export async function getEndpoints(deps: Pick<Deps, 'db'>, principal: Principal, partner: string) {
  await requirePartner(deps, principal, partner);
  const rows = await deps.db.select().from(partnerEndpoints).where(eq(partnerEndpoints.partner, partner)).orderBy(partnerEndpoints.environment).all();
  return { partner, environments: Object.fromEntries(rows.map((r) => [r.environment, toView(r)])) };
}

/** A private key that cannot sign a client assertion with `alg` is refused here, not at the first certification run. */
async function keyRefusal(pem: string, alg: string): Promise<string | undefined> {
  try {
    const key = await importPKCS8(pem, alg);
    await new SignJWT({}).setProtectedHeader({ alg }).sign(key);
    return undefined;
  } catch (error) {
    return `must be a PKCS#8 PEM private key that signs ${alg} (${(error as Error).message})`;
  }
}

/**
 * PUT /v1/partners/{partner}/endpoints: replaces the partner's environments at once. URLs are
 * checked against the outbound address policy (`resolve` looks names up; the system resolver by
 * default); a credential left out keeps the stored one of the same kind; credentials are sealed
 * with ACCORD_SECRETS_KEY (503 when the server has none). Anything refused: 422 listing every
 * problem, nothing written.
 */
export async function putEndpoints(deps: Pick<Deps, 'db' | 'clock' | 'config'>, principal: Principal, partner: string, input: EndpointsRequest, options: { resolve?: ResolveHost } = {}) {
  await requirePartner(deps, principal, partner);
  const stored = new Map((await deps.db.select().from(partnerEndpoints).where(eq(partnerEndpoints.partner, partner)).all()).map((r) => [r.environment, r]));
  const errors: FieldError[] = [];
  const policy = outboundPolicy(deps.config);
  const forPartner = principal.role === 'partner';
  const secrets = new Map<string, string | null>();
  for (const [environment, endpoint] of Object.entries(input.environments)) {
    const at = `/environments/${environment}`;
    const urls: Array<[string, string]> = [[`${at}/baseUrl`, endpoint.baseUrl], ...(endpoint.auth.type === 'private_key_jwt' ? [[`${at}/auth/tokenUrl`, endpoint.auth.tokenUrl] as [string, string]] : [])];
    for (const [location, url] of urls) {
      const literal = checkUrl(url, policy);
      if (!literal.ok) errors.push({ location, message: literal.reason });
    }
    const auth = endpoint.auth;
    const given = auth.type === 'bearer' ? auth.token : auth.type === 'private_key_jwt' ? auth.privateKey : undefined;
    const previous = stored.get(environment);
    if (auth.type === 'none') secrets.set(environment, null);
    else if (given !== undefined) {
      if (auth.type === 'private_key_jwt') {
        const refusal = await keyRefusal(given, auth.alg);
        if (refusal) errors.push({ location: `${at}/auth/privateKey`, message: refusal });
      }
      secrets.set(environment, given);
    } else if (previous?.authType === auth.type && previous.secret !== null) secrets.set(environment, previous.secret);
    else errors.push({ location: `${at}/auth/${auth.type === 'bearer' ? 'token' : 'privateKey'}`, message: `is required: no ${auth.type === 'bearer' ? 'token' : 'private key'} is stored for ${environment} to keep` });
  }
  if (errors.length > 0) throw new AccordError('invalid_document', 'Invalid partner endpoints', { errors });
  // The cheap checks first: a request refused anyway makes no DNS query.
  for (const [environment, endpoint] of Object.entries(input.environments)) {
    const urls: Array<[string, string]> = [['baseUrl', endpoint.baseUrl], ...(endpoint.auth.type === 'private_key_jwt' ? [['auth/tokenUrl', endpoint.auth.tokenUrl] as [string, string]] : [])];
    for (const [field, url] of urls) {
      const refusal = await destinationRefusal(deps.config, forPartner, url, { resolve: options.resolve, timeoutMs: deps.config.webhookTimeoutMs });
      if (refusal) errors.push({ location: `/environments/${environment}/${field}`, message: refusal });
    }
  }
  if (errors.length > 0) throw new AccordError('invalid_document', 'Invalid partner endpoints', { errors });
  const fresh = [...secrets].filter(([environment, secret]) => secret !== null && secret !== stored.get(environment)?.secret);
  if (fresh.length > 0 && !deps.config.secretsKey) {
    throw new AccordError('unavailable', 'This server has no ACCORD_SECRETS_KEY, so it cannot store credentials: set the same key (openssl rand -hex 32) on every replica, or use auth type none');
  }
  const at = deps.clock().toISOString();
  const rows = Object.entries(input.environments).map(([environment, endpoint]) => {
    const auth = endpoint.auth;
    const secret = secrets.get(environment)!;
    const sealed = secret === null || secret === stored.get(environment)?.secret ? secret : sealSecret(deps.config.secretsKey!, secret, sealContext(partner, environment));
    return {
      partner,
      environment,
      baseUrl: new URL(endpoint.baseUrl).toString(),
      authType: auth.type,
      tokenUrl: auth.type === 'private_key_jwt' ? new URL(auth.tokenUrl).toString() : null,
      clientId: auth.type === 'private_key_jwt' ? auth.clientId : null,
      scope: auth.type === 'private_key_jwt' ? (auth.scope ?? null) : null,
      keyId: auth.type === 'private_key_jwt' ? (auth.keyId ?? null) : null,
      alg: auth.type === 'private_key_jwt' ? auth.alg : null,
      secret: sealed,
      certifyEvery: endpoint.certifyEvery ?? null,
      updatedAt: at,
      updatedBy: principal.name,
    };
  });
  await deps.db.transaction(async (tx) => {
    await tx.delete(partnerEndpoints).where(eq(partnerEndpoints.partner, partner)).run();
    if (rows.length > 0) await tx.insert(partnerEndpoints).values(rows).run();
  });
  return { partner, environments: Object.fromEntries([...rows].sort((a, b) => (a.environment < b.environment ? -1 : 1)).map((r) => [r.environment, toView(r)])) };
}

/** The credential Accord holds for a partner's environment, opened (for the certification runs that call it). */
export async function endpointCredential(deps: Pick<Deps, 'db' | 'config'>, partner: string, environment: string): Promise<{ row: Row; secret: string | null } | undefined> {
  const row = await deps.db.select().from(partnerEndpoints).where(and(eq(partnerEndpoints.partner, partner), eq(partnerEndpoints.environment, environment))).get();
  if (!row) return undefined;
  if (row.secret === null) return { row, secret: null };
  if (!deps.config.secretsKey) throw new AccordError('unavailable', `The credential of ${partner}/${environment} is sealed, and this server has no ACCORD_SECRETS_KEY to open it`);
  return { row, secret: openSecret(deps.config.secretsKey, row.secret, sealContext(partner, environment)) };
}
