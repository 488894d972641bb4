import { createHash, randomBytes } from 'node:crypto';
import { count, eq } from 'drizzle-orm';
import { keyAfter, keyOrder, pageOf, type KeyPart, type Page, type Paged } from '../lib/pages.ts';
import type { Config } from '../config.ts';
import type { Deps } from '../deps.ts';
import { tokens } from '../db/index.ts';
import { onSignal } from '../db/signals.ts';
import { AccordError, type FieldError } from '../errors.ts';
import { NEVER, ttlOf, type TokenRequest } from './token-request.ts';
import { isFullAdmin, type Principal, type Role } from './principal.ts';
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

/** Why a bearer token was not accepted. */
export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired';

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

/**
 * What a valid token request may still not ask of this creator: a lifetime beyond the
 * creator's, scopes its role cannot use or outside the creator's own.
 */
function creatorErrors(input: TokenRequest, creator: Creator, roleScopes: readonly Scope[] | undefined, now: Date): FieldError[] {
  const errors: FieldError[] = [];
  if (input.expiresIn !== undefined && creator.expiresAt) {
    const requested = input.expiresIn === NEVER ? Number.POSITIVE_INFINITY : now.getTime() + ttlOf(input.expiresIn)!;
    if (requested > Date.parse(creator.expiresAt)) errors.push({ location: '/expiresIn', message: `must not outlive the creating token, which expires at ${creator.expiresAt}` });
  }
  if (!input.scopes) {
    if (creator.scopes) errors.push({ location: '/scopes', message: `a token limited to scopes (${creator.scopes.join(', ')}) may only create tokens with scopes listed within its own` });
    return errors;
  }
  input.scopes.forEach((scope, i) => {
    if (roleScopes && !roleScopes.includes(scope)) errors.push({ location: `/scopes/${i}`, message: `role "${input.role}" cannot use scope "${scope}"; it can use ${roleScopes.join(', ')}` });
    else if (creator.scopes && !creator.scopes.includes(scope)) errors.push({ location: `/scopes/${i}`, message: `"${scope}" is not among the creating token's own scopes (${creator.scopes.join(', ')})` });
  });
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

/**
 * Creates a token and returns its secret, which is shown this once and stored only as a hash.
 * Without `expiresIn` the token lives `config.tokenDefaultTtlMs` (ACCORD_TOKEN_DEFAULT_TTL), or
 * forever when that is unset or no config is given (`expiresIn: "never"`: forever regardless);
 * without `scopes` it may do everything its role allows. A creating token bounds both: the new
 * token expires by the creator's expiry at the latest (a longer `expiresIn` is refused with 422)
 * and is limited to scopes within the creator's.
 * @param input a request of the TokenRequest shape (parse it with that schema first)
 * @param options.secret an externally supplied secret (ACCORD_ADMIN_TOKEN); generated when absent
 * @param options.creator the creating token (absent: the operator, through the CLI or at first start)
 * @param options.scopesOfRole the scopes each role can use (src/http/api.ts derives them from the operations); the API and the CLI pass it, trusted code that leaves it out is not checked against it
 */
export async function createToken(
  deps: Pick<Deps, 'db' | 'clock'> & { config?: Pick<Config, 'tokenDefaultTtlMs'> },
  createdBy: string,
  input: TokenRequest,
  options: { secret?: string; creator?: Creator; scopesOfRole?: (role: Role) => readonly Scope[] } = {},
): Promise<TokenView & { token: string }> {
  const creator = options.creator ?? {};
  const now = deps.clock();
  const errors = creatorErrors(input, creator, options.scopesOfRole?.(input.role), now);
  if (errors.length > 0) throw new AccordError('invalid_document', 'Invalid token request', { errors });
  const secret = options.secret ?? `acc_${randomBytes(32).toString('base64url')}`;
  if (secret.length < 24) throw new AccordError('bad_request', 'A token must be at least 24 characters long');
  const row = await deps.db
    .insert(tokens)
    .values({
      id: `tok_${randomBytes(8).toString('hex')}`,
      name: input.name.trim(),
      role: input.role,
      partner: input.role === 'partner' ? input.partner! : null,
      secretHash: hashSecret(secret),
      createdAt: now.toISOString(),
      createdBy,
      revokedAt: null,
      expiresAt: expiryOf(input, deps.config?.tokenDefaultTtlMs, creator, now),
      scopes: input.scopes ? JSON.stringify(input.scopes) : null,
    })
    .returning()
    .get();
  await deps.db.$signal('tokens');
  return { ...toView(row), token: secret };
}

/** The order of the token list: newest first, ties by id. */
const TOKEN_ORDER: KeyPart<typeof tokens.$inferSelect>[] = [
  { column: tokens.createdAt, desc: true, of: (r) => r.createdAt },
  { column: tokens.id, of: (r) => r.id },
];

/** One page of the tokens, newest first, without secrets. */
export async function listTokens(deps: Pick<Deps, 'db'>, page: Page = { limit: 1000 }): Promise<Paged<TokenView>> {
  const rows = await deps.db.select().from(tokens).where(keyAfter(TOKEN_ORDER, page.after)).orderBy(...keyOrder(TOKEN_ORDER)).limit(page.limit + 1).all();
  const paged = pageOf(rows, page.limit, TOKEN_ORDER);
  return { ...paged, items: paged.items.map(toView) };
}

/**
 * Revokes a token on behalf of `by`. A full admin (an admin token unlimited in scopes and time)
 * may be revoked only by a full admin (403 otherwise: a lesser token cannot remove a greater
 * one), and only while another full admin remains (409 otherwise: everyone would be locked out of
 * managing tokens, or left with tokens that expire).
 */
export async function revokeToken(deps: Pick<Deps, 'db' | 'clock'>, id: string, by: Pick<Principal, 'role' | 'scopes' | 'expiresAt'>): Promise<TokenView> {
  return await deps.db.transaction(async (tx) => {
    const row = await tx.select().from(tokens).where(eq(tokens.id, id)).get();
    if (!row) throw new AccordError('not_found', `No token ${id}`);
    if (row.revokedAt) return toView(row);
    const target = toView(row);
    if (isFullAdmin(target)) {
      if (!isFullAdmin(by)) throw new AccordError('forbidden', 'Only a full admin token (not limited to scopes, never expiring) may revoke a full admin token');
      const others = (await tx.select().from(tokens).where(eq(tokens.role, 'admin')).all()).map(toView).filter((t) => t.id !== id && !t.revokedAt && isFullAdmin(t));
      if (others.length === 0) throw new AccordError('conflict', 'This is the last full admin token (not revoked, not limited to scopes, never expiring); create another full admin before revoking it');
    }
    const revoked = toView((await tx.update(tokens).set({ revokedAt: deps.clock().toISOString() }).where(eq(tokens.id, id)).returning().get())!);
    await tx.$signal('tokens');
    return revoked;
  });
}

/** A token as authentication sees it. */
interface TokenRecord {
  principal: Principal;
  revoked: boolean;
  expiresAt: string | null;
}

// Hot path: tokens are cached by SHA-256 of the secret until any token changes (creation or
// revocation bumps the generation), so a revocation takes effect at once. Expiry is checked on
// every use, cached or not.
let tokensGeneration = 0;
// Any replica's change (signals.ts): a revocation takes effect everywhere.
onSignal('tokens', () => void tokensGeneration++);
const resolved = new WeakMap<object, { generation: number; byHash: Map<string, TokenRecord | undefined> }>();

async function tokenRecord(deps: Pick<Deps, 'db'>, secret: string): Promise<TokenRecord | undefined> {
  let cache = resolved.get(deps.db);
  if (cache?.generation !== tokensGeneration) {
    cache = { generation: tokensGeneration, byHash: new Map() };
    resolved.set(deps.db, cache);
  }
  const hash = hashSecret(secret);
  if (cache.byHash.has(hash)) return cache.byHash.get(hash);
  const record = await lookupToken(deps, hash);
  if (cache.byHash.size < 10_000) cache.byHash.set(hash, record);
  return record;
}

async function lookupToken(deps: Pick<Deps, 'db'>, hash: string): Promise<TokenRecord | undefined> {
  const row = (await deps.db.$sql.get('SELECT id, name, role, partner, revoked_at AS "revokedAt", expires_at AS "expiresAt", scopes FROM tokens WHERE secret_hash = ?', [hash])) as { id: string; name: string; role: Role; partner: string | null; revokedAt: string | null; expiresAt: string | null; scopes: string | null } | undefined;
  if (!row) return undefined;
  const scopes = row.scopes === null ? null : (JSON.parse(row.scopes) as Scope[]);
  return { principal: { tokenId: row.id, name: row.name, role: row.role, partner: row.partner, scopes, expiresAt: row.expiresAt }, revoked: row.revokedAt !== null, expiresAt: row.expiresAt };
}

/**
 * The principal of a token by its id (a console session holds the id, never the secret), or
 * undefined when the token is unknown, revoked or expired: ending the token ends its sessions.
 */
export async function principalOfTokenId(deps: Pick<Deps, 'db' | 'clock'>, id: string): Promise<Principal | undefined> {
  const row = await deps.db.select().from(tokens).where(eq(tokens.id, id)).get();
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
export async function resolveToken(deps: Pick<Deps, 'db' | 'clock'>, secret: string): Promise<{ principal: Principal } | { failure: AuthFailure; expiresAt?: string }> {
  const record = await tokenRecord(deps, secret);
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
export async function ensureAdminToken(deps: Pick<Deps, 'db' | 'clock'>, configured: string | undefined): Promise<{ token: string; generated: boolean } | undefined> {
  const existing = (await deps.db.select({ n: count() }).from(tokens).get())!.n;
  if (existing > 0) return undefined;
  const created = await createToken({ db: deps.db, clock: deps.clock }, 'accord-system', { role: 'admin', name: 'initial admin' }, { secret: configured });
  return { token: created.token, generated: configured === undefined };
}
