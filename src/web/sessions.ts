import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { eq, lte, or } from 'drizzle-orm';
import type { Principal } from '../auth/principal.ts';
import { principalOfTokenId } from '../auth/tokens.ts';
import type { Deps } from '../deps.ts';
import { consoleSessions, changesOf } from '../db/index.ts';

/** A signed-in console user: the token's principal, the session's CSRF token and its cookie secret's hash. */
export interface Session {
  idHash: string;
  principal: Principal;
  csrf: string;
}

/** Refreshing last-seen on every page view would write on every read: once a minute is precise enough. */
const TOUCH_EVERY_MS = 60_000;

const hashOf = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** A random secret for a cookie or a form (256 bits, base64url). */
export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Compares two secrets in constant time (false when either is missing). */
export function sameSecret(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/**
 * Opens a session for a principal that just signed in with its token; returns the cookie's
 * secret (only its hash is stored).
 */
export async function openSession(deps: Pick<Deps, 'db' | 'clock' | 'config'>, principal: Principal): Promise<string> {
  const secret = randomSecret();
  const now = deps.clock();
  await deps.db
    .insert(consoleSessions)
    .values({
      idHash: hashOf(secret),
      tokenId: principal.tokenId,
      csrf: randomSecret(),
      createdAt: now.toISOString(),
      lastSeenAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + deps.config.sessionMaxMs).toISOString(),
    })
    .run();
  return secret;
}

/**
 * The session a cookie's secret names, or undefined when there is none or it ended: idle for
 * ACCORD_SESSION_IDLE, older than ACCORD_SESSION_MAX, or its token revoked or expired (an ended
 * session is deleted).
 */
export async function resolveSession(deps: Pick<Deps, 'db' | 'clock' | 'config'>, secret: string | undefined): Promise<Session | undefined> {
  if (!secret) return undefined;
  const idHash = hashOf(secret);
  const row = await deps.db.select().from(consoleSessions).where(eq(consoleSessions.idHash, idHash)).get();
  if (!row) return undefined;
  const now = deps.clock().getTime();
  const principal = await principalOfTokenId(deps, row.tokenId);
  if (!principal || now >= Date.parse(row.expiresAt) || now >= Date.parse(row.lastSeenAt) + deps.config.sessionIdleMs) {
    await deps.db.delete(consoleSessions).where(eq(consoleSessions.idHash, idHash)).run();
    return undefined;
  }
  if (now - Date.parse(row.lastSeenAt) >= TOUCH_EVERY_MS) {
    await deps.db.update(consoleSessions).set({ lastSeenAt: new Date(now).toISOString() }).where(eq(consoleSessions.idHash, idHash)).run();
  }
  return { idHash, principal, csrf: row.csrf };
}

/** Ends a session (sign-out). */
export async function closeSession(deps: Pick<Deps, 'db'>, idHash: string): Promise<void> {
  await deps.db.delete(consoleSessions).where(eq(consoleSessions.idHash, idHash)).run();
}

/** Deletes sessions past their absolute or idle end (the jobs loop calls it); returns how many. */
export async function purgeSessions(deps: Pick<Deps, 'db' | 'clock' | 'config'>): Promise<number> {
  const now = deps.clock().getTime();
  return changesOf(await deps.db
    .delete(consoleSessions)
    .where(or(lte(consoleSessions.expiresAt, new Date(now).toISOString()), lte(consoleSessions.lastSeenAt, new Date(now - deps.config.sessionIdleMs).toISOString())))
    .run());
}
