import type { FieldError } from '../errors.ts';
import { ACCORD_OPENAPI } from '../http/openapi.ts';
import { ROLES, type Role } from './principal.ts';
import { isScope, SCOPE_NAMES, type Scope } from './scopes.ts';

/** One secured operation of Accord's API, as its OpenAPI document declares it. */
export interface SecuredOperation {
  method: string;
  /** The OpenAPI path template, e.g. `/v1/changes/{id}/reviews`. */
  template: string;
  roles: readonly Role[];
  scope: Scope;
}

/** Every secured operation of the document, keyed by `METHOD template`. */
const OPERATIONS = new Map<string, SecuredOperation>();
for (const [template, item] of Object.entries(ACCORD_OPENAPI.paths)) {
  for (const [method, op] of Object.entries(item as Record<string, { security?: unknown[]; 'x-accord-roles'?: Role[]; 'x-accord-scope'?: Scope }>)) {
    if (method === 'parameters' || !op.security?.length) continue;
    OPERATIONS.set(`${method.toUpperCase()} ${template}`, { method: method.toUpperCase(), template, roles: op['x-accord-roles']!, scope: op['x-accord-scope']! });
  }
}

/** Roles that may use each scope: those of the operations needing it; any role may call the exchange. */
const SCOPE_ROLES = new Map<Scope, Set<Role>>([['exchange', new Set(ROLES)]]);
for (const op of OPERATIONS.values()) {
  const roles = SCOPE_ROLES.get(op.scope) ?? new Set<Role>();
  for (const role of op.roles) roles.add(role);
  SCOPE_ROLES.set(op.scope, roles);
}

/**
 * The secured operation a Hono route serves, or undefined for an undocumented one.
 * @param routePath Hono's route path, e.g. `/v1/changes/:id/reviews` (a trailing slash is ignored)
 */
export function securedOperation(method: string, routePath: string): SecuredOperation | undefined {
  const template = routePath.replace(/:(\w+)/g, '{$1}').replace(/(.)\/$/, '$1');
  return OPERATIONS.get(`${method === 'HEAD' ? 'GET' : method} ${template}`);
}

/** The scopes a token of `role` may be limited to (those of some operation the role may call). */
export function scopesOfRole(role: Role): Scope[] {
  return SCOPE_NAMES.filter((scope) => SCOPE_ROLES.get(scope)?.has(role));
}

/**
 * Checks a requested scope list for a role: an array of known scopes, each one the role can
 * use, and (when the creating token is itself limited) within the creator's own scopes.
 */
export function checkRequestedScopes(role: Role, requested: unknown, creatorScopes: readonly Scope[] | null | undefined): FieldError[] {
  if (requested === undefined || requested === null) {
    return creatorScopes ? [{ location: '/scopes', message: `a token limited to scopes (${creatorScopes.join(', ')}) may only create tokens with scopes listed within its own` }] : [];
  }
  if (!Array.isArray(requested) || requested.length === 0 || requested.length > SCOPE_NAMES.length) return [{ location: '/scopes', message: `must be a non-empty array of at most ${SCOPE_NAMES.length} scopes: ${SCOPE_NAMES.join(', ')}` }];
  const errors: FieldError[] = [];
  const allowed = new Set(scopesOfRole(role));
  requested.forEach((scope, i) => {
    if (!isScope(scope)) errors.push({ location: `/scopes/${i}`, message: `unknown scope ${JSON.stringify(scope)}; scopes are ${SCOPE_NAMES.join(', ')}` });
    else if (!allowed.has(scope)) errors.push({ location: `/scopes/${i}`, message: `role "${role}" cannot use scope "${scope}"; it can use ${[...allowed].join(', ')}` });
    else if (creatorScopes && !creatorScopes.includes(scope)) errors.push({ location: `/scopes/${i}`, message: `"${scope}" is not among the creating token's own scopes (${creatorScopes.join(', ')})` });
    else if (requested.indexOf(scope) !== i) errors.push({ location: `/scopes/${i}`, message: `"${scope}" is listed twice` });
  });
  return errors;
}
