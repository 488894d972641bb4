import { escapeSegment, isObject, pointerOfFragment, unescapeSegment, valueAt, type Json } from '../lib/json.ts';
import type { Direction, Level } from './types.ts';

/**
 * What the schema comparison's parts share (src/diff/schema-diff.ts drives them; the topic
 * checks in schema-keywords.ts, schema-bounds.ts, schema-properties.ts, schema-composition.ts
 * and schema-2020.ts fill nodes): the node and finding shapes, and local `$ref` resolution.
 */

/** A finding local to one schema node. */
export interface SchemaFinding {
  /**
   * What changed. The rule id is `<direction>-<target>-<kind>` (target: body, property,
   * parameter, parameter-property, header), composed by the caller, unless `id` is set.
   */
  kind: string;
  /** The whole rule id, for checks oasdiff names on their own (e.g. `new-required-request-property`). */
  id?: string;
  /** Ignored: a finding's level is its rule's (src/diff/rules); kept for hooks written before. */
  level?: Level;
  /** JSON pointer of the schema in the revision (base for removed parts). */
  location: string;
  /** Dotted property path inside the nearest named schema, for messages. */
  property: string;
  /** What changed as a partner names it (a property path); the root's name when absent. */
  subject?: string;
  /** The finding is about one property of the schema, named in `detail`. */
  child?: boolean;
  /** For `kind: 'type'`: how the accepted values changed (see TypeChange). */
  typeChange?: TypeChange;
  detail: string;
}

/**
 * A type or format change: whether old values stop fitting where values are JSON (`strong`: 1
 * is not "1") or text (`loose`), seen from the finding's direction; and whether the revision's
 * set of values is a superset (`widened`) or a subset (`narrowed`) of the base's.
 */
export interface TypeChange {
  strong: boolean;
  loose: boolean;
  widened: boolean;
  narrowed: boolean;
}

export interface SchemaNode {
  findings: SchemaFinding[];
  children: SchemaNode[];
}

/** Options of a schema comparison. */
export interface SchemaDiffOptions {
  /** "Now" for sunset dates. */
  now?: Date;
  /** Report deprecated properties without an x-sunset (policy: deprecation needs a sunset). */
  requireSunset?: boolean;
}

/** What a topic check (schema-keywords.ts, schema-bounds.ts, …) sees of one node being filled. */
export interface FillContext {
  b: Json;
  r: Json;
  dir: Direction;
  req: boolean;
  /** The schema is a map's value schema (additionalProperties). */
  mapValue: boolean;
  /** Location and property path of the node. */
  at: string;
  prop: string;
  options: Required<SchemaDiffOptions>;
  base: RefResolver;
  revision: RefResolver;
  /** Records a finding on the node (location and property default to the node's). */
  add(kind: string, detail: string, extra?: Partial<SchemaFinding>): void;
  /** Compares two sub-schemas as a child node. */
  child(b: unknown, r: unknown, location: string, property: string): void;
}

/** Resolves local `$ref`s with a per-document cache; returns the target and its pointer. */
export class RefResolver {
  private readonly cache = new Map<string, unknown>();
  private anchors: Map<string, string> | undefined;
  constructor(readonly doc: unknown) {}

  resolve(node: unknown, location: string): { node: unknown; location: string; name: string | undefined } {
    let current = node;
    let at = location;
    let name: string | undefined;
    // 3.1: `$dynamicRef` is followed like `$ref`; a plain-name fragment names a `$anchor`/`$dynamicAnchor`.
    for (let hops = 0; isObject(current) && typeof (current.$ref ?? current.$dynamicRef) === 'string' && hops < 32; hops++) {
      const ref: string = current.$ref ?? current.$dynamicRef;
      const pointer = ref.startsWith('#') ? (pointerOfFragment(ref.slice(1)) ?? (this.anchors ??= anchorPointers(this.doc)).get(ref.slice(1))) : undefined;
      if (pointer === undefined) return { node: undefined, location: at, name };
      at = pointer;
      name = unescapeSegment(pointer.split('/').pop()!);
      if (!this.cache.has(pointer)) this.cache.set(pointer, valueAt(this.doc, pointer));
      current = this.cache.get(pointer);
    }
    return { node: current, location: at, name };
  }
}

/**
 * Pointers of the schemas that declare a `$anchor` or `$dynamicAnchor`, by name (one of them
 * when a name is declared twice), so that `$ref: '#name'` and `$dynamicRef: '#name'` resolve. Walks the document once,
 * without recursion, and only when a reference of that form is met.
 */
export function anchorPointers(doc: unknown): Map<string, string> {
  const anchors = new Map<string, string>();
  const stack: Array<[unknown, string]> = [[doc, '']];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const [value, pointer] = stack.pop()!;
    if (typeof value !== 'object' || value === null || seen.has(value)) continue;
    seen.add(value);
    if (isObject(value)) {
      for (const k of ['$anchor', '$dynamicAnchor']) if (typeof value[k] === 'string' && !anchors.has(value[k])) anchors.set(value[k], pointer);
    }
    for (const [k, v] of Object.entries(value)) stack.push([v, `${pointer}/${escapeSegment(k)}`]);
  }
  return anchors;
}
