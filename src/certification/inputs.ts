import { resolveLocal } from '../contracts/document.ts';
import { isObject, type Json } from '../lib/json.ts';
import { bodyErrors, parameterErrors } from '../runtime/contract-check.ts';
import type { Route } from '../runtime/route-table.ts';

/**
 * The inputs a certification sends, derived from the contract: documented examples, variants of
 * them that stay valid against the request schema (drawn with a seeded generator, so a run is
 * repeatable), and inputs that break the schema on purpose. Every variant is checked locally
 * with the contract's own validator before it is sent.
 */

/** A small seeded generator (mulberry32): the same seed draws the same inputs. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The media type and example of the operation's request body, if it has one. */
export function requestBody(route: Route): { media: string; example: unknown } | undefined {
  const content = resolveLocal(route.schemas.document, route.op.operation.requestBody) as Json | undefined;
  if (!isObject(content?.content)) return undefined;
  const media = Object.keys(content.content).find((m) => /json/i.test(m));
  if (!media) return undefined;
  const entry = content.content[media] as Json;
  const example = entry.example ?? (isObject(entry.examples) ? (Object.values(entry.examples)[0] as Json | undefined)?.value : undefined);
  return { media, example };
}

/** Whether `body` is valid for the operation's request schema (checked locally, as the partner should). */
export function validBody(route: Route, media: string, body: unknown): boolean {
  return bodyErrors(route, media, body, { detailed: false }).length === 0;
}

const CANDIDATE_VALUES = ['certification-1', 'cert1', 'A1', '1', 'abc', 'member-1'];

/** A value for a parameter: a value already seen for its name, its example, its schema's example, enum or default, else a candidate its schema accepts. */
export function parameterValue(route: Route, parameter: Json, known: ReadonlyMap<string, string>): string | undefined {
  const seen = known.get(parameter.name as string);
  const schema = (resolveLocal(route.schemas.document, parameter.schema) ?? {}) as Json;
  const examples = isObject(parameter.examples) ? Object.values(parameter.examples).map((e) => (e as Json)?.value) : [];
  const candidates = [seen, parameter.example, ...examples, schema.example, ...(Array.isArray(schema.enum) ? schema.enum : []), schema.default, ...CANDIDATE_VALUES].filter((v) => v !== undefined && v !== null).map(String);
  return candidates.find((value) => parameterErrors({ ...route, op: { ...route.op, parameters: [parameter] } }, () => value).length === 0);
}

/** The path of `route` with its parameters filled in (known values first), or undefined when one cannot be. */
export function fillPath(route: Route, known: ReadonlyMap<string, string>): string | undefined {
  let path = route.template;
  for (const p of route.op.parameters.filter((q) => q.in === 'path')) {
    const value = parameterValue(route, p, known);
    if (value === undefined) return undefined;
    path = path.replaceAll(`{${p.name as string}}`, encodeURIComponent(value));
  }
  return path;
}

/** Required query and header parameters other than the ones the runner sets itself (Idempotency-Key, tracing, correlation). */
export function requiredParameters(route: Route, known: ReadonlyMap<string, string>): { query: Record<string, string>; headers: Record<string, string> } {
  const own = new Set(['idempotency-key', 'traceparent', 'tracestate', 'x-correlation-id', 'authorization', 'content-type', 'accept']);
  const query: Record<string, string> = {};
  const headers: Record<string, string> = {};
  for (const p of route.op.parameters) {
    if (!p.required || (p.in !== 'query' && p.in !== 'header') || own.has(String(p.name).toLowerCase())) continue;
    const value = parameterValue(route, p, known);
    if (value !== undefined) (p.in === 'query' ? query : headers)[p.name as string] = value;
  }
  return { query, headers };
}

const escapePointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

type Leaf = { pointer: string; value: string | number | boolean };

function leaves(value: unknown, pointer = ''): Leaf[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, `${pointer}/${i}`));
  if (isObject(value)) return Object.entries(value).flatMap(([k, v]) => leaves(v, `${pointer}/${escapePointer(k)}`));
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? [{ pointer, value }] : [];
}

function setAt(root: unknown, pointer: string, value: unknown): unknown {
  const copy = structuredClone(root);
  const segments = pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node = copy as Json;
  for (const s of segments.slice(0, -1)) node = node[s] as Json;
  node[segments.at(-1)!] = value;
  return copy;
}

function removeAt(root: unknown, pointer: string): unknown {
  const copy = structuredClone(root);
  const segments = pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node = copy as Json;
  for (const s of segments.slice(0, -1)) node = node[s] as Json;
  if (Array.isArray(node)) node.splice(Number(segments.at(-1)), 1);
  else delete node[segments.at(-1)!];
  return copy;
}

/** Other values of the same kind for a leaf: another digit or letter at the end, a longer string, a neighbouring number, the other boolean. */
function alternatives(value: string | number | boolean, random: () => number): unknown[] {
  if (typeof value === 'boolean') return [!value];
  if (typeof value === 'number') return [value + 1, value - 1, Math.floor(random() * 100)];
  const last = value.at(-1) ?? 'a';
  const digit = /\d/.test(last) ? String((Number(last) + 1 + Math.floor(random() * 8)) % 10) : undefined;
  const letter = /[a-y]/i.test(last) ? String.fromCharCode(last.charCodeAt(0) + 1) : /[zZ]/.test(last) ? 'a' : undefined;
  return [digit && value.slice(0, -1) + digit, letter && value.slice(0, -1) + letter, `${value}x`, value.slice(0, -1)].filter((v) => v !== undefined && v !== value);
}

/**
 * Another valid request: the example with one leaf changed (under `within` when given, e.g. the
 * flow's fingerprint pointers), chosen with `random`; undefined when no change stays valid.
 */
export function otherValidBody(route: Route, media: string, example: unknown, random: () => number, within?: string[]): unknown {
  const candidates = leaves(example).filter((l) => !within || within.some((w) => l.pointer === w || l.pointer.startsWith(`${w}/`)));
  const start = Math.floor(random() * Math.max(candidates.length, 1));
  for (let i = 0; i < candidates.length; i++) {
    const leaf = candidates[(start + i) % candidates.length]!;
    for (const value of alternatives(leaf.value, random)) {
      const body = setAt(example, leaf.pointer, value);
      if (validBody(route, media, body)) return body;
    }
  }
  return undefined;
}

/** Schema-derived valid variants of the example: without its optional members, then up to `count` seeded one-leaf changes. Distinct, each valid. */
export function validVariants(route: Route, media: string, example: unknown, random: () => number, count: number): unknown[] {
  const out: unknown[] = [];
  const seen = new Set([JSON.stringify(example)]);
  const add = (body: unknown) => {
    const text = JSON.stringify(body);
    if (body !== undefined && !seen.has(text) && validBody(route, media, body)) {
      seen.add(text);
      out.push(body);
    }
  };
  let minimal = example;
  for (const leaf of leaves(example).reverse()) {
    const without = removeAt(minimal, leaf.pointer);
    if (validBody(route, media, without)) minimal = without;
  }
  add(minimal);
  for (let i = 0; i < count * 3 && out.length < count + 1; i++) add(otherValidBody(route, media, example, random));
  return out;
}

/** Bodies that break the request schema: a required member left out, the wrong JSON type. Each checked invalid locally. */
export function invalidBodies(route: Route, media: string, example: unknown): Array<{ body: unknown; why: string }> {
  const out: Array<{ body: unknown; why: string }> = [];
  if (isObject(example)) {
    const key = Object.keys(example).find((k) => !validBody(route, media, removeAt(example, `/${escapePointer(k)}`)));
    if (key !== undefined) out.push({ body: removeAt(example, `/${escapePointer(key)}`), why: `the required member ${key} left out` });
  }
  const wrongType = Array.isArray(example) ? { not: 'an array' } : ['not', 'an object'];
  if (!validBody(route, media, wrongType)) out.push({ body: wrongType, why: `a JSON ${Array.isArray(example) ? 'object' : 'array'} where the schema wants ${Array.isArray(example) ? 'an array' : 'an object'}` });
  return out;
}

/** The values of the flow's fingerprint pointers in a body (undefined: the whole body is fingerprinted). */
export function fingerprintPointers(route: Route): string[] | undefined {
  const fingerprint = route.idempotencyFlowEntry?.idempotency.fingerprint as { body?: string; pointers?: string[] } | undefined;
  return fingerprint?.pointers;
}

