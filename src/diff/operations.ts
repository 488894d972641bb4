import type { OpenApiDocument } from '../contracts/document.ts';
import { resolveLocal } from '../contracts/document.ts';
import { listOperations, type LocatedOperation } from '../contracts/operations.ts';
import { escapeSegment as escape, isObject, type Json } from '../lib/json.ts';
import { compareRequestBody, compareResponses } from './bodies.ts';
import { canonical, objectAt, remainder, type DiffEngine, type OperationContext, type SchemaRoot } from './context.ts';
import { operationLifecycle, operationRemoval, parameterLifecycle, parameterRemoval } from './lifecycle.ts';
import { compareOperationSecurity } from './security.ts';

/**
 * Operations of two documents matched by method and path template (parameter names erased,
 * so /pets/{id} and /pets/{petId} are one endpoint), 3.1 webhooks as the operations of a path
 * named `webhook:<name>` (as oasdiff names them); then, for each operation in both, its
 * parameters, request body, responses, security, stability and deprecation.
 */

/** An operation located in a document, with the parameters it inherits from its path item. */
interface Endpoint extends LocatedOperation {
  /** JSON pointer of the operation. */
  at: string;
  /** Keys (see paramKey) of the parameters declared on the path item, not the operation. */
  pathLevel: Set<string>;
  /** JSON pointer of each (resolved) parameter where it is declared. */
  pointers: Map<Json, string>;
  /** The webhook's name, for an operation of a webhook. */
  webhook?: string;
}

/** Path template with parameter names erased, so /pets/{id} and /pets/{petId} match. */
function pathKey(path: string): string {
  return path.replace(/\{[^}]+\}/g, '{}');
}

/** A parameter's identity: location and name (header names case-insensitive), path parameters by position. */
function paramKey(p: Json, path: string): string {
  if (p.in === 'path') {
    const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    return `path:#${names.indexOf(p.name)}`;
  }
  return `${p.in}:${p.in === 'header' ? String(p.name).toLowerCase() : p.name}`;
}

/** Every operation of a document's paths and webhooks, keyed by method and path template. */
function endpoints(doc: OpenApiDocument): Map<string, Endpoint> {
  const out = new Map<string, Endpoint>();
  const add = (ops: LocatedOperation[], items: Json, webhook: boolean) => {
    for (const o of ops) {
      const itemAt = `/${webhook ? 'webhooks' : 'paths'}/${escape(o.path)}`;
      const at = `${itemAt}/${o.method}`;
      const pointers = new Map<Json, string>();
      const declared = (list: unknown, where: string) =>
        (Array.isArray(list) ? list : []).flatMap((raw: unknown, i: number) => {
          const p = resolveLocal(doc, raw);
          if (!isObject(p)) return [];
          if (!pointers.has(p)) pointers.set(p, `${where}/parameters/${i}`);
          return [p];
        });
      const own = new Set(declared(o.operation.parameters, at).map((p: Json) => `${p.in}:${p.name}`));
      const item = resolveLocal(doc, items[o.path]);
      const shared = declared(isObject(item) ? item.parameters : undefined, itemAt);
      const pathLevel = new Set(shared.filter((p: Json) => !own.has(`${p.in}:${p.name}`)).map((p: Json) => paramKey(p, o.path)));
      const path = webhook ? `webhook:${o.path}` : o.path;
      out.set(`${o.method} ${pathKey(path)}`, { ...o, path, at, pathLevel, pointers, ...(webhook ? { webhook: o.path } : {}) });
    }
  };
  add(listOperations(doc), objectAt(doc, 'paths'), false);
  const webhooks = objectAt(doc, 'webhooks');
  if (Object.keys(webhooks).length > 0) add(listOperations({ ...doc, paths: webhooks }), webhooks, true);
  return out;
}

function contextOf(e: Endpoint, unstable = false): OperationContext {
  const summary = typeof e.operation.summary === 'string' && e.operation.summary.trim() !== '' ? e.operation.summary : undefined;
  return { method: e.method.toUpperCase(), path: e.path, operationId: e.operationId, ...(summary ? { summary } : {}), at: e.at, ...(unstable ? { unstable } : {}) };
}

/** Compares the operations (and webhooks) of the two documents. */
export function compareOperations(engine: DiffEngine): void {
  const baseOps = endpoints(engine.base);
  const revOps = endpoints(engine.rev);
  const revPaths = new Set([...revOps.values()].map((o) => pathKey(o.path)));
  const revWebhooks = new Set(Object.keys(objectAt(engine.rev, 'webhooks')));
  const baseWebhooks = new Set(Object.keys(objectAt(engine.base, 'webhooks')));

  for (const [key, b] of baseOps) {
    if (revOps.has(key)) continue;
    if (b.webhook !== undefined && !revWebhooks.has(b.webhook)) continue;
    const ctx = contextOf(b);
    const subject = `${ctx.method} ${ctx.path}`;
    const { rule, why } = operationRemoval(b.operation, b.webhook === undefined && !revPaths.has(pathKey(b.path)), engine.now);
    engine.report(ctx, rule, rule === 'api-invalid-stability-level' ? `${ctx.at}/x-stability-level` : ctx.at, `${subject} ${why}`, subject);
  }
  for (const name of baseWebhooks) if (!revWebhooks.has(name)) engine.report(undefined, 'webhook-removed', `/webhooks/${escape(name)}`, `webhook ${name} removed`, `webhook ${name}`);
  for (const name of revWebhooks) if (!baseWebhooks.has(name)) engine.report(undefined, 'webhook-added', `/webhooks/${escape(name)}`, `webhook ${name} added`, `webhook ${name}`);

  for (const [key, r] of revOps) {
    const b = baseOps.get(key);
    if (b) compareOperation(engine, b, r);
    else if (r.webhook === undefined || baseWebhooks.has(r.webhook)) {
      const ctx = contextOf(r);
      engine.report(ctx, 'endpoint-added', ctx.at, `${ctx.method} ${ctx.path} added`, `${ctx.method} ${ctx.path}`);
    }
  }
}

function compareOperation(engine: DiffEngine, b: Endpoint, r: Endpoint): void {
  const probe = contextOf(r);
  const before = engine.findings();
  const lifecycle = operationLifecycle(engine, probe, b.operation, r.operation);
  const ctx = contextOf(r, lifecycle.unstable);
  const at = ctx.at;

  const requestRoots: SchemaRoot[] = [];
  compareParameters(engine, ctx, b, r, requestRoots);
  compareRequestBody(engine, ctx, b.operation, r.operation, requestRoots);
  engine.gather(ctx, 'request', requestRoots, lifecycle.unstable);
  compareResponses(engine, ctx, b.operation, r.operation);
  compareOperationSecurity(engine, ctx, b.operation.security, r.operation.security);

  if (b.operationId !== undefined && b.operationId !== r.operationId) engine.report(ctx, 'api-operation-id-removed', `${at}/operationId`, `operationId ${b.operationId} ${r.operationId ? `replaced with ${r.operationId}` : 'removed'}`, `operationId ${b.operationId}`);
  else if (b.operationId === undefined && r.operationId !== undefined) engine.report(ctx, 'api-operation-id-added', `${at}/operationId`, `operationId ${r.operationId} added`, `operationId ${r.operationId}`);
  const tags = (op: Json) => new Set<string>(Array.isArray(op.tags) ? op.tags.filter((t: unknown): t is string => typeof t === 'string') : []);
  const tb = tags(b.operation);
  const tr = tags(r.operation);
  for (const t of tr) if (!tb.has(t)) engine.report(ctx, 'api-tag-added', `${at}/tags`, `tag ${t} added`, `tag ${t}`);
  for (const t of tb) if (!tr.has(t)) engine.report(ctx, 'api-tag-removed', `${at}/tags`, `tag ${t} removed`, `tag ${t}`);
  for (const k of ['callbacks', 'servers'] as const) {
    if (canonical(b.operation[k]) !== canonical(r.operation[k])) engine.report(ctx, `operation-${k}-changed`, `${at}/${k}`, `${k} of ${ctx.method} ${ctx.path} changed; needs review`, `${ctx.method} ${ctx.path}`);
  }

  // oasdiff reports an invalid stability level only on an operation that changed.
  if (lifecycle.invalid && (engine.findings() > before || canonical(b.operation) !== canonical(r.operation))) {
    engine.report(ctx, 'api-invalid-stability-level', `${at}/x-stability-level`, `${ctx.method} ${ctx.path} x-stability-level is invalid: ${lifecycle.invalid}`, `${ctx.method} ${ctx.path}`);
  }
}

const PARAM_DOC_KEYS = new Set(['name', 'in', 'description', 'example', 'examples', 'deprecated', 'required', 'schema', 'content']);

function paramSchema(p: Json): unknown {
  if (p.schema !== undefined) return p.schema;
  if (isObject(p.content)) return Object.values(p.content).find(isObject)?.schema;
  return undefined;
}

function compareParameters(engine: DiffEngine, ctx: OperationContext, b: Endpoint, r: Endpoint, roots: SchemaRoot[]): void {
  const at = ctx.at;
  const bp = new Map(b.parameters.map((p) => [paramKey(p, b.path), p]));
  const rp = new Map(r.parameters.map((p) => [paramKey(p, r.path), p]));
  for (const [k, p] of bp) {
    const subject = `${p.in} parameter ${p.name}`;
    const q = rp.get(k);
    if (!q) {
      const { rule, why } = parameterRemoval(p, engine.now);
      engine.report(ctx, rule, b.pointers.get(p) ?? `${b.at}/parameters`, `${subject} ${why}`, subject);
      continue;
    }
    const where = r.pointers.get(q) ?? `${at}/parameters`;
    if (p.required !== true && q.required === true) engine.report(ctx, 'request-parameter-became-required', `${where}/required`, `${subject} became required`, subject);
    if (p.required === true && q.required !== true && q.in !== 'path') engine.report(ctx, 'request-parameter-became-optional', `${where}/required`, `${subject} became optional`, subject);
    parameterLifecycle(engine, ctx, p, q, r.operation, `${where}/deprecated`, subject);
    if (remainder(p, PARAM_DOC_KEYS) !== remainder(q, PARAM_DOC_KEYS)) engine.report(ctx, 'request-parameter-serialization-changed', where, `${subject}: style, explode or another serialization field changed; needs review`, subject);
    roots.push({ node: engine.schemas.compare(paramSchema(p), paramSchema(q), 'request', `${where}/schema`, ''), target: 'parameter', subject, param: { in: String(q.in), required: q.required === true } });
  }
  for (const [k, q] of rp) {
    if (bp.has(k)) continue;
    const subject = `${q.in} parameter ${q.name}`;
    const where = r.pointers.get(q) ?? `${at}/parameters`;
    if (r.pathLevel.has(k)) {
      // A parameter the path item gives every operation: oasdiff's "default parameter"; a path
      // parameter declared there only now was used by the template before, so it is not new.
      if (q.in !== 'path') engine.report(ctx, q.required === true ? 'new-required-request-default-parameter-to-existing-path' : 'new-optional-request-default-parameter-to-existing-path', where, `${q.required === true ? 'required' : 'optional'} ${subject} added to every operation of ${r.path}`, subject);
    } else if (q.in === 'path') engine.report(ctx, 'new-request-path-parameter', where, `new ${subject}`, subject);
    else if (q.required === true) engine.report(ctx, 'new-required-request-parameter', where, `new required ${subject}`, subject);
    else engine.report(ctx, 'new-optional-request-parameter', where, `optional ${subject} added`, subject);
  }
}
