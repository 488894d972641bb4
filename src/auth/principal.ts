import { AccordError } from '../errors.ts';
import { gitSafeName } from './names.ts';
import type { Scope } from './scopes.ts';

export const ROLES = ['admin', 'author', 'approver', 'operator', 'ci', 'partner'] as const;
export type Role = (typeof ROLES)[number];

/** Every role but partner: the network's own staff and CI. */
export const STAFF_ROLES = ['admin', 'author', 'approver', 'operator', 'ci'] as const;

/** Who acts on running transactions (retry, compensate, approve compensations, faults) and manages incidents. */
export const OPERATOR_ROLES = ['admin', 'operator'] as const;

/** Who is calling: resolved from a bearer token. */
export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  /** Set for partner tokens only. */
  partner: string | null;
  /** The scopes the token is limited to; null or absent: everything its role allows. */
  scopes?: readonly Scope[] | null;
  /** When the token stops working; null or absent: never. */
  expiresAt?: string | null;
}

/** The identity used for work Accord does on its own (seeding, imports at start-up). */
export const SYSTEM: Principal = { tokenId: 'system', name: 'accord-system', role: 'admin', partner: null };

/** Whether the principal is a full admin: an admin token limited neither in scopes nor in time. */
export function isFullAdmin(principal: Pick<Principal, 'role' | 'scopes' | 'expiresAt'>): boolean {
  return principal.role === 'admin' && !principal.scopes && !principal.expiresAt;
}

/** Throws 403 unless the principal has one of `roles`. */
export function requireRole(principal: Principal, roles: readonly Role[], action: string): void {
  if (!roles.includes(principal.role)) {
    throw new AccordError('forbidden', `Role "${principal.role}" may not ${action}; needs ${roles.join(' or ')}`);
  }
}

/** Whether the principal's token may use `scope` (a token limited to scopes: only those; otherwise what its role allows). */
export function hasScope(principal: Pick<Principal, 'scopes'>, scope: Scope): boolean {
  return !principal.scopes || principal.scopes.includes(scope);
}

/** Throws 403 naming the scope when the principal's token is limited to scopes without `scope`. */
export function requireScope(principal: Principal, scope: Scope, action: string): void {
  if (!hasScope(principal, scope)) {
    throw new AccordError('forbidden', `This token is limited to the scopes ${principal.scopes!.join(', ')}; ${action} needs the scope "${scope}"`, { extra: { missingScope: scope } });
  }
}

/** The Git author line for commits made on behalf of a principal. */
export function gitAuthor(principal: Principal): { name: string; email: string } {
  return { name: gitSafeName(principal.name), email: `${principal.tokenId}@tokens.accord.invalid` };
}
