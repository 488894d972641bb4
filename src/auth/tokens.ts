import { createHash, randomBytes } from 'node:crypto';
import { and, count, eq, isNull } from 'drizzle-orm';
import type { Deps } from '../context.ts';
import { checkIds } from '../contracts/ids.ts';
import { tokens } from '../db/index.ts';
import { AccordError, type FieldError } from '../errors.ts';
import { ROLES, type Principal, type Role } from './principal.ts';

/** What listing shows of a token: never the secret or its hash. */
export interface TokenView {
  id: string;
  name: string;
  role: Role;
  partner: string | null;
  createdAt: string;
  createdBy: string;
  revokedAt: string | null;
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

function toView(row: typeof tokens.$inferSelect): TokenView {
  const { id, name, role, partner, createdAt, createdBy, revokedAt } = row;
  return { id, name, role: role as Role, partner, createdAt, createdBy, revokedAt };
}

// What a name may not contain, and how to say so. Names reach logs, terminals, Git author lines
// and review screens: characters that are invisible, reorder text or break lines would let one
// name pass for another there.
const FORBIDDEN_IN_NAMES: Array<[RegExp, string]> = [
  [/\p{Cc}/u, 'a control character'],
  [/\p{Cs}/u, 'a lone surrogate'],
  [/[\p{Cf}\p{Default_Ignorable_Code_Point}]/u, 'an invisible format or default-ignorable character (zero-width, joiner, byte-order mark, bidi control…)'],
  [/[\p{Zl}\p{Zp}]/u, 'a line or paragraph separator'],
  [/\p{Co}/u, 'a private-use character'],
  [/\p{Cn}/u, 'an unassigned code point'],
  [/[<>]/u, 'a < or >'],
];
const ANY_FORBIDDEN = new RegExp(FORBIDDEN_IN_NAMES.map(([re]) => re.source).join('|'), 'u');

/**
 * Why a token name cannot be used (undefined when it can): it must be 1–100 characters of
 * printable text, without control, format, default-ignorable, line/paragraph separator,
 * private-use, unassigned or surrogate code points, and without < or >.
 */
export function tokenNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.trim() === '' || name.length > 100) return 'must be a non-empty name of at most 100 characters';
  let position = 0;
  for (const char of name) {
    position++;
    if (!ANY_FORBIDDEN.test(char)) continue;
    const what = FORBIDDEN_IN_NAMES.find(([re]) => re.test(char))![1];
    const codePoint = `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    return `must not contain ${what}: ${codePoint} at character ${position}`;
  }
  return undefined;
}

/** Checks a token request; returns findings (empty when valid). */
function checkTokenInput(input: { role?: unknown; partner?: unknown; name?: unknown }): FieldError[] {
  const errors: FieldError[] = [];
  if (typeof input.role !== 'string' || !(ROLES as readonly string[]).includes(input.role)) {
    errors.push({ location: '/role', message: `must be one of ${ROLES.join(', ')}` });
  }
  const nameProblem = tokenNameProblem(input.name);
  if (nameProblem) errors.push({ location: '/name', message: nameProblem });
  if (input.role === 'partner') {
    if (typeof input.partner !== 'string') errors.push({ location: '/partner', message: 'partner tokens must name their partner' });
    else errors.push(...checkIds({ '/partner': input.partner }));
  } else if (input.partner !== undefined && input.partner !== null) {
    errors.push({ location: '/partner', message: 'only partner tokens are bound to a partner' });
  }
  return errors;
}

/**
 * Creates a token and returns its secret, which is shown this once and stored only as a hash.
 * @param secret an externally supplied secret (ACCORD_ADMIN_TOKEN); generated when absent
 */
export function createToken(
  deps: Pick<Deps, 'db' | 'clock'>,
  createdBy: string,
  input: { role?: unknown; partner?: unknown; name?: unknown },
  secret = `acc_${randomBytes(32).toString('base64url')}`,
): TokenView & { token: string } {
  const errors = checkTokenInput(input);
  if (errors.length > 0) throw new AccordError('invalid_document', 'Invalid token request', { errors });
  if (secret.length < 24) throw new AccordError('bad_request', 'A token must be at least 24 characters long');
  const row = deps.db
    .insert(tokens)
    .values({
      id: `tok_${randomBytes(8).toString('hex')}`,
      name: (input.name as string).trim(),
      role: input.role as Role,
      partner: input.role === 'partner' ? (input.partner as string) : null,
      secretHash: hashSecret(secret),
      createdAt: deps.clock().toISOString(),
      createdBy,
      revokedAt: null,
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

/** Revokes a token; refuses to revoke the last active admin token (that would lock everyone out). */
export function revokeToken(deps: Pick<Deps, 'db' | 'clock'>, id: string): TokenView {
  return deps.db.transaction((tx) => {
    const row = tx.select().from(tokens).where(eq(tokens.id, id)).get();
    if (!row) throw new AccordError('not_found', `No token ${id}`);
    if (row.revokedAt) return toView(row);
    if (row.role === 'admin') {
      const admins = tx.select({ n: count() }).from(tokens).where(and(eq(tokens.role, 'admin'), isNull(tokens.revokedAt))).get()!.n;
      if (admins <= 1) throw new AccordError('conflict', 'This is the last active admin token; create another admin token before revoking it');
    }
    const revoked = toView(tx.update(tokens).set({ revokedAt: deps.clock().toISOString() }).where(eq(tokens.id, id)).returning().get()!);
    tokensGeneration++;
    return revoked;
  });
}

const lookups = new WeakMap<object, { get(hash: string): unknown }>();

// Hot path: resolved principals are cached by SHA-256 of the secret until any token changes
// (creation or revocation bumps the generation), so a revocation takes effect at once.
let tokensGeneration = 0;
const resolved = new WeakMap<object, { generation: number; byHash: Map<string, Principal | undefined> }>();

/** Resolves a bearer secret to its principal, or undefined when unknown or revoked. */
export function authenticate(deps: Pick<Deps, 'db'>, secret: string): Principal | undefined {
  let cache = resolved.get(deps.db.$client);
  if (cache?.generation !== tokensGeneration) {
    cache = { generation: tokensGeneration, byHash: new Map() };
    resolved.set(deps.db.$client, cache);
  }
  const hash = hashSecret(secret);
  if (cache.byHash.has(hash)) return cache.byHash.get(hash);
  const principal = lookupPrincipal(deps, hash);
  if (cache.byHash.size < 10_000) cache.byHash.set(hash, principal);
  return principal;
}

function lookupPrincipal(deps: Pick<Deps, 'db'>, hash: string): Principal | undefined {
  let lookup = lookups.get(deps.db.$client);
  if (!lookup) {
    lookup = deps.db.$client.prepare('SELECT id, name, role, partner, revoked_at AS revokedAt FROM tokens WHERE secret_hash = ?');
    lookups.set(deps.db.$client, lookup);
  }
  const row = lookup.get(hash) as { id: string; name: string; role: Role; partner: string | null; revokedAt: string | null } | undefined;
  if (!row || row.revokedAt) return undefined;
  return { tokenId: row.id, name: row.name, role: row.role, partner: row.partner };
}

/**
 * The principal of an `Authorization: Bearer <token>` header; 401 when the header is missing,
 * malformed, or names an unknown or revoked token.
 */
export function principalFromAuthorization(deps: Pick<Deps, 'db'>, header: string | undefined): Principal {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) throw new AccordError('unauthorized', 'Send a bearer token: Authorization: Bearer <token>');
  const principal = authenticate(deps, match[1]!);
  if (!principal) throw new AccordError('unauthorized', 'The bearer token is unknown or revoked');
  return principal;
}

/**
 * On first start (no tokens at all) installs an admin token: `configured` if given, else a
 * generated one. Returns the secret to print once, or undefined when tokens already exist or
 * the configured secret was used.
 */
export function ensureAdminToken(deps: Pick<Deps, 'db' | 'clock'>, configured: string | undefined): { token: string; generated: boolean } | undefined {
  const existing = deps.db.select({ n: count() }).from(tokens).get()!.n;
  if (existing > 0) return undefined;
  const created = createToken(deps, 'accord-system', { role: 'admin', name: 'initial admin' }, configured);
  return { token: created.token, generated: configured === undefined };
}
