import { escapeSegment as escape, isObject, ownValue, type Json } from '../lib/json.ts';
import { objectAt, type DiffEngine, type OperationContext } from './context.ts';

/**
 * Security requirements (the API's and each operation's) and the security schemes of
 * components, compared as oasdiff does: a requirement is named by its schemes (`a AND b`),
 * scopes are compared within a requirement of the same name, and the anonymous requirement
 * `{}` is not a scheme.
 */

/** Requirements by name (`a AND b`), each with the scopes of its schemes. */
function requirements(list: unknown): Map<string, Map<string, Set<string>>> {
  const out = new Map<string, Map<string, Set<string>>>();
  for (const req of Array.isArray(list) ? list : []) {
    if (!isObject(req)) continue;
    const schemes = Object.keys(req).sort();
    const name = schemes.join(' AND ');
    const scopes = out.get(name) ?? new Map<string, Set<string>>();
    for (const s of schemes) {
      const value = ownValue(req, s);
      scopes.set(s, new Set([...(scopes.get(s) ?? []), ...(Array.isArray(value) ? value.filter((x): x is string => typeof x === 'string') : [])]));
    }
    out.set(name, scopes);
  }
  return out;
}

function compareRequirements(engine: DiffEngine, ctx: OperationContext | undefined, before: unknown, after: unknown, location: string): void {
  const prefix = ctx ? 'api-security' : 'api-global-security';
  const where = ctx ? `${ctx.method} ${ctx.path}` : 'the API';
  const b = requirements(before);
  const r = requirements(after);
  for (const [name, scopes] of r) {
    if (name === '') continue;
    const old = b.get(name);
    if (!old) {
      engine.report(ctx, `${prefix}-added`, location, `${where} now requires ${name}; clients without these credentials may be refused`, name);
      continue;
    }
    for (const [scheme, set] of scopes) {
      for (const scope of set) if (!old.get(scheme)?.has(scope)) engine.report(ctx, `${prefix}-scope-added`, location, `${where} now requires scope ${scope} of ${scheme}`, `scope ${scope} of ${scheme}`);
      for (const scope of old.get(scheme) ?? []) if (!set.has(scope)) engine.report(ctx, `${prefix}-scope-removed`, location, `${where} no longer requires scope ${scope} of ${scheme}`, `scope ${scope} of ${scheme}`);
    }
  }
  for (const name of b.keys()) if (name !== '' && !r.has(name)) engine.report(ctx, `${prefix}-removed`, location, `${where} no longer requires ${name}`, name);
}

/** Compares an operation's own security requirements. */
export function compareOperationSecurity(engine: DiffEngine, ctx: OperationContext, before: unknown, after: unknown): void {
  compareRequirements(engine, ctx, before, after, `${ctx.at}/security`);
}

const FLOWS = ['implicit', 'password', 'clientCredentials', 'authorizationCode'] as const;

/** Compares the API's security requirements and the security schemes of components. */
export function compareSecurity(engine: DiffEngine): void {
  compareRequirements(engine, undefined, engine.base.security, engine.rev.security, '/security');
  const schemesB = objectAt(objectAt(engine.base, 'components'), 'securitySchemes');
  const schemesR = objectAt(objectAt(engine.rev, 'components'), 'securitySchemes');
  for (const name of Object.keys(schemesR)) {
    if (!Object.hasOwn(schemesB, name)) engine.report(undefined, 'api-security-component-added', `/components/securitySchemes/${escape(name)}`, `security scheme ${name} added`, `security scheme ${name}`);
  }
  for (const name of Object.keys(schemesB)) {
    const at = `/components/securitySchemes/${escape(name)}`;
    const subject = `security scheme ${name}`;
    if (!Object.hasOwn(schemesR, name)) {
      engine.report(undefined, 'api-security-component-removed', at, `security scheme ${name} removed`, subject);
      continue;
    }
    const b = engine.baseRefs.resolve(schemesB[name], at).node;
    const r = engine.revRefs.resolve(schemesR[name], at).node;
    if (!isObject(b) || !isObject(r)) continue;
    if (b.type !== r.type) {
      engine.report(undefined, 'api-security-component-type-changed', `${at}/type`, `security scheme ${name} type changed from ${String(b.type)} to ${String(r.type)}`, name);
      continue;
    }
    // How the credential travels: oasdiff does not compare it, but a client sending it the old way is refused.
    const lower = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);
    const how = (s: Json) => JSON.stringify([s.in, s.type === 'apiKey' && s.in === 'header' ? lower(s.name) : s.name, lower(s.scheme)]);
    if (how(b) !== how(r)) engine.report(undefined, 'security-scheme-changed', at, `security scheme ${name} changed how clients send credentials (${how(b)} → ${how(r)}); needs review`, name);
    const fb = objectAt(b, 'flows');
    const fr = objectAt(r, 'flows');
    for (const flow of FLOWS) {
      if (!isObject(fb[flow]) || !isObject(fr[flow])) continue;
      const [ob, or] = [fb[flow] as Json, fr[flow] as Json];
      const flowAt = `${at}/flows/${flow}`;
      const label = `${name} (${flow})`;
      if (ob.authorizationUrl !== or.authorizationUrl) engine.report(undefined, 'api-security-component-oauth-url-changed', `${flowAt}/authorizationUrl`, `${label} authorization URL changed from ${String(ob.authorizationUrl)} to ${String(or.authorizationUrl)}`, label);
      if (ob.tokenUrl !== or.tokenUrl) engine.report(undefined, 'api-security-component-oauth-token-url-changed', `${flowAt}/tokenUrl`, `${label} token URL changed from ${String(ob.tokenUrl)} to ${String(or.tokenUrl)}`, label);
      const sb = objectAt(ob, 'scopes');
      const sr = objectAt(or, 'scopes');
      for (const s of Object.keys(sr)) {
        if (!Object.hasOwn(sb, s)) engine.report(undefined, 'api-security-component-oauth-scope-added', `${flowAt}/scopes`, `${label} scope ${s} added`, `scope ${s} of ${name}`);
        else if (sb[s] !== sr[s]) engine.report(undefined, 'api-security-component-oauth-scope-changed', `${flowAt}/scopes/${escape(s)}`, `${label} scope ${s} description changed`, `scope ${s} of ${name}`);
      }
      for (const s of Object.keys(sb)) if (!Object.hasOwn(sr, s)) engine.report(undefined, 'api-security-component-oauth-scope-removed', `${flowAt}/scopes`, `${label} scope ${s} removed`, `scope ${s} of ${name}`);
    }
  }
}
