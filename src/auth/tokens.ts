import { createHash, randomBytes } from 'node:crypto';
import { count, eq } from 'drizzle-orm';
import type { Config } from '../config.ts';
import type { Deps } from '../context.ts';
import { checkIds } from '../contracts/ids.ts';
import { tokens } from '../db/index.ts';
import { AccordError, type FieldError } from '../errors.ts';
import { durationMs } from '../matrix/durations.ts';
import { checkRequestedScopes } from './operations.ts';
import { tokenNameProblem } from './names.ts';
import { isFullAdmin, ROLES, type Principal, type Role } from './principal.ts';
import type { Scope } from './scopes.ts';

/** What listing shows of a token: never the secret or its hash. */
export interface TokenView {
  id: string;
  name: string;
  role: Role;
  partner: string | null;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
  /** When the token stops working; null = never. */
  expiresAt: string | null;
  /** The scopes it is limited to; null = everything its role allows. */
  scopes: Scope[] | null;
}

/** What a token request may carry. */
export interface TokenRequest {
  role?: unknown;
  partner?: unknown;
  name?: unknown;
  /** ISO 8601 duration, e.g. P30D, or `never`. */
  expiresIn?: unknown;
  scopes?: unknown;
}

/** Why a bearer token was not accepted. */
export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired';

/** The longest lifetime a token may be given (100 years; longer is `expiresIn: "never"`). */
const MAX_TTL_MS = 36_500 * 86_400_000;
/** The `expiresIn` of a token that does not expire. */
const NEVER = 'never';

/** The token creating another, as far as it bounds what it may create. */
export interface Creator {
  /** Its own scopes: a limited token only creates tokens within them. */
  scopes?: readonly Scope[] | null;
  /** Its own expiry: it only creates tokens that expire by then. */
  expiresAt?: string | null;
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

function toView(row: typeof tokens.$inferSelect): TokenView {
  const { id, name, role, partner, createdAt, createdBy, revokedAt, expiresAt } = row;
  return { id, name, role: role as Role, partner, createdAt, createdBy, revokedAt, expiresAt, scopes: row.scopes === null ? null : (JSON.parse(row.scopes) as Scope[]) };
}

/** Checks a token request; returns findings (empty when valid). */
function checkTokenInput(input: TokenRequest, creator: Creator, now: Date): FieldError[] {
  const errors: FieldError[] = [];
  const roleValid = typeof input.role === 'string' && (ROLES as readonly string[]).includes(input.role);
  if (!roleValid) errors.push({ location: '/role', message: `must be one of ${ROLES.join(', ')}` });
  const nameProblem = tokenNameProblem(input.name);
  if (nameProblem) errors.push({ location: '/name', message: nameProblem });
  if (input.role === 'partner') {
    if (typeof input.partner !== 'string') errors.push({ location: '/partner', message: 'partner tokens must name their partner' });
    else errors.push(...checkIds({ '/partner': input.partner }));
  } else if (input.partner !== undefined && input.partner !== null) {
    errors.push({ location: '/partner', message: 'only partner tokens are bound to a partner' });
  }
  if (input.expiresIn !== undefined && input.expiresIn !== NEVER && ttlOf(input.expiresIn) === undefined) {
    errors.push({ location: '/expiresIn', message: 'must be an ISO 8601 duration of days, hours, minutes or seconds, longer than zero and at most P36500D (e.g. P30D, PT12H), or "never"' });
  } else if (input.expiresIn !== undefined && creator.expiresAt) {
    const requested = input.expiresIn === NEVER ? Number.POSITIVE_INFINITY : now.getTime() + ttlOf(input.expiresIn)!;
    if (requested > Date.parse(creator.expiresAt)) errors.push({ location: '/expiresIn', message: `must not outlive the creating token, which expires at ${creator.expiresAt}` });
  }
  if (roleValid) for (const e of checkRequestedScopes(input.role as Role, input.scopes, creator.scopes)) errors.push(e);
  return errors;
}

/**
 * When a new token expires (null: never): its `expiresIn`, else the default lifetime, and never
 * after its creator (a token cannot lend a token more time than it has itself).
 */
function expiryOf(input: TokenRequest, defaultTtlMs: number | undefined, creator: Creator, now: Date): string | null {
  const ttl = input.expiresIn === NEVER ? undefined : input.expiresIn === undefined ? defaultTtlMs : ttlOf(input.expiresIn);
  const own = ttl === undefined ? Number.POSITIVE_INFINITY : now.getTime() + ttl;
  const expires = Math.min(own, creator.expiresAt ? Date.parse(creator.expiresAt) : Number.POSITIVE_INFINITY);
  return expires === Number.POSITIVE_INFINITY ? null : new Date(expires).toISOString();
}

/** Milliseconds of a valid `expiresIn`, else undefined. */
function ttlOf(expiresIn: unknown): number | undefined {
  if (typeof expiresIn !== 'string') return undefined;
  let ms: number;
  try {
    ms = durationMs(expiresIn);
  } catch {
    return undefined;
  }
  return ms > 0 && ms <= MAX_TTL_MS ? ms : undefined;
}

/**
 * Creates a token and returns its secret, which is shown this once and stored only as a hash.
 * Without `expiresIn` the token lives `config.tokenDefaultTtlMs` (ACCORD_TOKEN_DEFAULT_TTL), or
 * forever when that is unset or no config is given (`expiresIn: "never"`: forever regardless);
 * without `scopes` it may do everything its role allows. A creating token bounds both: the new
 * token expires by the creator's expiry at the latest (a longer `expiresIn` is refused with 422)
 * and is limited to scopes within the creator's.
 * @param options.secret an externally supplied secret (ACCORD_ADMIN_TOKEN); generated when absent
 * @param options.creator the creating token (absent: the operator, through the CLI or at first start)
 */
export function createToken(
  deps: Pick<Deps, 'db' | 'clock'> & { config?: Pick<Config, 'tokenDefaultTtlMs'> },
  createdBy: string,
  input: TokenRequest,
  options: { secret?: string; creator?: Creator } = {},
): TokenView & { token: string } {
  const creator = options.creator ?? {};
  const now = deps.clock();
  const errors = checkTokenInput(input, creator, now);
  if (errors.length > 0) throw new AccordError('invalid_document', 'Invalid token request', { errors });
  const secret = options.secret ?? `acc_${randomBytes(32).toString('base64url')}`;
  if (secret.length < 24) throw new AccordError('bad_request', 'A token must be at least 24 characters long');
  const row = deps.db
    .insert(tokens)
    .values({
      id: `tok_${randomBytes(8).toString('hex')}`,
      name: (input.name as string).trim(),
      role: input.role as Role,
      partner: input.role === 'partner' ? (input.partner as string) : null,
      secretHash: hashSecret(secret),
      createdAt: now.toISOString(),
      createdBy,
      revokedAt: null,
      expiresAt: expiryOf(input, deps.config?.tokenDefaultTtlMs, creator, now),
      scopes: Array.isArray(input.scopes) ? JSON.stringify(input.scopes) : null,
    })
    .returning()
    .get();
  tokensGeneration++;
  return { ...toView(row), token: secret };
}

/** All tokens, newest first, without secrets. */
export function listTokens(deps: Pick<Deps, 'db'>): TokenView[] {
  return deps.db
    .select()
    .from(tokens)
    .all()
    .map(toView)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id));
}

/**
 * Revokes a token on behalf of `by`. A full admin (an admin token unlimited in scopes and time)
 * may be revoked only by a full admin (403 otherwise: a lesser token cannot remove a greater
 * one), and only while another full admin remains (409 otherwise: everyone would be locked out of
 * managing tokens, or left with tokens that expire).
 */
export function revokeToken(deps: Pick<Deps, 'db' | 'clock'>, id: string, by: Pick<Principal, 'role' | 'scopes' | 'expiresAt'>): TokenView {
  return deps.db.transaction((tx) => {
    const row = tx.select().from(tokens).where(eq(tokens.id, id)).get();
    if (!row) throw new AccordError('not_found', `No token ${id}`);
    if (row.revokedAt) return toView(row);
    const target = toView(row);
    if (isFullAdmin(target)) {
      if (!isFullAdmin(by)) throw new AccordError('forbidden', 'Only a full admin token (not limited to scopes, never expiring) may revoke a full admin token');
      const others = tx.select().from(tokens).where(eq(tokens.role, 'admin')).all().map(toView).filter((t) => t.id !== id && !t.revokedAt && isFullAdmin(t));
      if (others.length === 0) throw new AccordError('conflict', 'This is the last full admin token (not revoked, not limited to scopes, never expiring); create another full admin before revoking it');
    }
    const revoked = toView(tx.update(tokens).set({ revokedAt: deps.clock().toISOString() }).where(eq(tokens.id, id)).returning().get()!);
    tokensGeneration++;
    return revoked;
  });
}

/** A token as authentication sees it. */
interface TokenRecord {
  principal: Principal;
  revoked: boolean;
  expiresAt: string | null;
}

const lookups = new WeakMap<object, { get(hash: string): unknown }>();

// Hot path: tokens are cached by SHA-256 of the secret until any token changes (creation or
// revocation bumps the generation), so a revocation takes effect at once. Expiry is checked on
// every use, cached or not.
let tokensGeneration = 0;
const resolved = new WeakMap<object, { generation: number; byHash: Map<string, TokenRecord | undefined> }>();

function tokenRecord(deps: Pick<Deps, 'db'>, secret: string): TokenRecord | undefined {
  let cache = resolved.get(deps.db.$client);
  if (cache?.generation !== tokensGeneration) {
    cache = { generation: tokensGeneration, byHash: new Map() };
    resolved.set(deps.db.$client, cache);
  }
  const hash = hashSecret(secret);
  if (cache.byHash.has(hash)) return cache.byHash.get(hash);
  const record = lookupToken(deps, hash);
  if (cache.byHash.size < 10_000) cache.byHash.set(hash, record);
  return record;
}

function lookupToken(deps: Pick<Deps, 'db'>, hash: string): TokenRecord | undefined {
  let lookup = lookups.get(deps.db.$client);
  if (!lookup) {
    lookup = deps.db.$client.prepare('SELECT id, name, role, partner, revoked_at AS revokedAt, expires_at AS expiresAt, scopes FROM tokens WHERE secret_hash = ?');
    lookups.set(deps.db.$client, lookup);
  }
  const row = lookup.get(hash) as { id: string; name: string; role: Role; partner: string | null; revokedAt: string | null; expiresAt: string | null; scopes: string | null } | undefined;
  if (!row) return undefined;
  const scopes = row.scopes === null ? null : (JSON.parse(row.scopes) as Scope[]);
  return { principal: { tokenId: row.id, name: row.name, role: row.role, partner: row.partner, scopes, expiresAt: row.expiresAt }, revoked: row.revokedAt !== null, expiresAt: row.expiresAt };
}

/**
 * The principal of a token by its id (a console session holds the id, never the secret), or
 * undefined when the token is unknown, revoked or expired: ending the token ends its sessions.
 */
export function principalOfTokenId(deps: Pick<Deps, 'db' | 'clock'>, id: string): Principal | undefined {
  const row = deps.db.select().from(tokens).where(eq(tokens.id, id)).get();
  if (!row || row.revokedAt !== null) return undefined;
  if (row.expiresAt !== null && Date.parse(row.expiresAt) <= deps.clock().getTime()) return undefined;
  const scopes = row.scopes === null ? null : (JSON.parse(row.scopes) as Scope[]);
  return { tokenId: row.id, name: row.name, role: row.role as Role, partner: row.partner, scopes, expiresAt: row.expiresAt };
}

/** The secret of an `Authorization: Bearer <token>` header, or why there is none. */
export function bearerSecret(header: string | undefined): { secret: string } | { failure: 'missing' | 'malformed' } {
  if (header === undefined || header.trim() === '') return { failure: 'missing' };
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? { secret: match[1]! } : { failure: 'malformed' };
}

/** Resolves a bearer secret to its principal, or says why it is refused (unknown, revoked, expired). */
export function resolveToken(deps: Pick<Deps, 'db' | 'clock'>, secret: string): { principal: Principal } | { failure: AuthFailure; expiresAt?: string } {
  const record = tokenRecord(deps, secret);
  if (!record) return { failure: 'unknown' };
  if (record.revoked) return { failure: 'revoked' };
  if (record.expiresAt !== null && Date.parse(record.expiresAt) <= deps.clock().getTime()) return { failure: 'expired', expiresAt: record.expiresAt };
  return { principal: record.principal };
}

/**
 * On first start (no tokens at all) installs an admin token: `configured` if given, else a
 * generated one. It never expires (it is how the operator gets in). Returns the secret to print
 * once, or undefined when tokens already exist or the configured secret was used.
 */
export function ensureAdminToken(deps: Pick<Deps, 'db' | 'clock'>, configured: string | undefined): { token: string; generated: boolean } | undefined {
  const existing = deps.db.select({ n: count() }).from(tokens).get()!.n;
  if (existing > 0) return undefined;
  const created = createToken({ db: deps.db, clock: deps.clock }, 'accord-system', { role: 'admin', name: 'initial admin' }, { secret: configured });
  return { token: created.token, generated: configured === undefined };
}
