import { AccordError } from '../errors.ts';

export const ROLES = ['admin', 'author', 'approver', 'ci', 'partner'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling: resolved from a bearer token. */
export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  /** Set for partner tokens only. */
  partner: string | null;
}

/** The identity used for work Accord does on its own (seeding, imports at start-up). */
export const SYSTEM: Principal = { tokenId: 'system', name: 'accord-system', role: 'admin', partner: null };

/** Throws 403 unless the principal has one of `roles`. */
export function requireRole(principal: Principal, roles: readonly Role[], action: string): void {
  if (!roles.includes(principal.role)) {
    throw new AccordError('forbidden', `Role "${principal.role}" may not ${action}; needs ${roles.join(' or ')}`);
  }
}

/** The Git author line for commits made on behalf of a principal. */
export function gitAuthor(principal: Principal): { name: string; email: string } {
  return { name: principal.name, email: `${principal.tokenId}@tokens.accord.invalid` };
}
