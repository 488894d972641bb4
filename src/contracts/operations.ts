import { isObject, unescapeSegment } from '../lib/json.ts';
import { resolveLocal, type OpenApiDocument } from './document.ts';

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** An operation located in a document, with its `$ref`s to parameters resolved. */
export interface LocatedOperation {
  operationId: string | undefined;
  method: (typeof HTTP_METHODS)[number];
  path: string;
  operation: Record<string, any>;
  /** Path-level and operation-level parameters, resolved, operation-level winning. */
  parameters: Array<Record<string, any>>;
}


/** Every operation of a document, in document order. */
export function listOperations(doc: OpenApiDocument): LocatedOperation[] {
  const out: LocatedOperation[] = [];
  const paths = isObject(doc.paths) ? doc.paths : {};
  for (const [path, rawItem] of Object.entries(paths)) {
    const item = resolveLocal(doc, rawItem);
    if (!isObject(item)) continue;
    const shared = (Array.isArray(item.parameters) ? item.parameters : []).map((p: unknown) => resolveLocal(doc, p)).filter(isObject);
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!isObject(operation)) continue;
      const own = (Array.isArray(operation.parameters) ? operation.parameters : []).map((p: unknown) => resolveLocal(doc, p)).filter(isObject);
      const key = (p: Record<string, any>) => `${p.in}:${p.name}`;
      const ownKeys = new Set(own.map(key));
      out.push({
        operationId: typeof operation.operationId === 'string' ? operation.operationId : undefined,
        method,
        path,
        operation,
        parameters: [...shared.filter((p: Record<string, any>) => !ownKeys.has(key(p))), ...own],
      });
    }
  }
  return out;
}

/** Operations by operationId. */
export function operationsById(doc: OpenApiDocument): Map<string, LocatedOperation> {
  const map = new Map<string, LocatedOperation>();
  for (const op of listOperations(doc)) if (op.operationId) map.set(op.operationId, op);
  return map;
}

/** True when the operation takes an `Idempotency-Key` request header. */
export function acceptsIdempotencyKey(op: LocatedOperation): boolean {
  return op.parameters.some((p) => p.in === 'header' && typeof p.name === 'string' && p.name.toLowerCase() === 'idempotency-key');
}

/** True for methods HTTP defines as idempotent (RFC 9110 §9.2.2). */
export function isIdempotentMethod(op: LocatedOperation): boolean {
  return ['get', 'head', 'put', 'delete', 'options', 'trace'].includes(op.method);
}

/** The request body schema of the operation's first JSON media type (`…json`), if any. */
export function requestBodySchema(doc: OpenApiDocument, op: LocatedOperation): unknown {
  const body = resolveLocal(doc, op.operation.requestBody);
  if (!isObject(body) || !isObject(body.content)) return undefined;
  const media = Object.keys(body.content).find((m) => /json/i.test(m)) ?? Object.keys(body.content)[0];
  return media && isObject(body.content[media]) ? body.content[media].schema : undefined;
}

/**
 * Whether a JSON pointer into a request body names something the schema declares: object
 * properties, array items (numeric segments), through `$ref`, `allOf`, `oneOf` and `anyOf`.
 * Cycle-safe.
 */
export function schemaHasPointer(doc: OpenApiDocument, schema: unknown, pointer: string): boolean {
  const segments = pointer
    .split('/')
    .slice(1)
    .map(unescapeSegment);
  const seen = new Set<string>();
  // A work list rather than recursion: long chains of references cannot exhaust the stack.
  const stack: Array<[unknown, number]> = [[schema, 0]];
  while (stack.length > 0) {
    const [node, index] = stack.pop()!;
    const resolved = resolveLocal(doc, node);
    if (!isObject(resolved)) continue;
    const visit = `${index}:${objectId(resolved)}`;
    if (seen.has(visit)) continue;
    seen.add(visit);
    if (index === segments.length) return true;
    for (const combinator of ['allOf', 'oneOf', 'anyOf'] as const) {
      if (Array.isArray(resolved[combinator])) for (const branch of resolved[combinator]) stack.push([branch, index]);
    }
    const segment = segments[index]!;
    if (isObject(resolved.properties) && Object.hasOwn(resolved.properties, segment)) stack.push([resolved.properties[segment], index + 1]);
    if (/^(0|[1-9]\d*)$/.test(segment)) {
      if (Array.isArray(resolved.prefixItems) && resolved.prefixItems[Number(segment)] !== undefined) stack.push([resolved.prefixItems[Number(segment)], index + 1]);
      if (resolved.items !== undefined) stack.push([resolved.items, index + 1]);
    }
  }
  return false;
}

const ids = new WeakMap<object, number>();
let nextId = 0;
function objectId(o: object): number {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = nextId++));
  return id;
}
