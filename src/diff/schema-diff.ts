import { escapeSegment, isObject, ownValue, pointerOfFragment, unescapeSegment, valueAt, type Json } from '../lib/json.ts';
import { anchorPointers, compare2020, KEYWORDS_2020 } from './schema-2020.ts';
import type { Direction, Level } from './types.ts';

/**
 * Cycle-safe, direction-aware comparison of two JSON Schemas (OpenAPI 3.0 or 3.1 dialect)
 * without dereferencing whole documents. Each pair of (base, revision) schema objects is a
 * node compared once per direction; its own findings are stored on it and its sub-schemas
 * are edges to other nodes, so recursive schemas make cycles in a graph instead of infinite
 * recursion, and a schema shared by many operations is compared once.
 */

/** A finding local to one schema node. */
export interface SchemaFinding {
  /** Rule suffix; the caller prefixes direction and target (body, property, parameter). */
  kind: string;
  level: Level;
  /** JSON pointer of the schema in the revision (base for removed parts). */
  location: string;
  /** Dotted property path inside the nearest named schema, for messages. */
  property: string;
  detail: string;
  /** What changed as a partner names it, where it is not `property` (a pattern, a dependent property). */
  subject?: string;
}

export interface SchemaNode {
  findings: SchemaFinding[];
  children: SchemaNode[];
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

const DOC_KEYS = new Set(['description', 'title', 'example', 'examples', 'externalDocs', '$comment', 'xml', 'deprecated', '$schema', '$id', '$anchor', 'contentMediaType', 'contentEncoding']);
const HANDLED = new Set([
  'type', 'nullable', 'enum', 'const', 'x-extensible-enum', 'pattern', 'format', 'properties', 'required', 'items', 'additionalProperties',
  'oneOf', 'anyOf', 'allOf', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'minItems', 'maxItems',
  'minProperties', 'maxProperties', 'readOnly', 'writeOnly', 'default', '$ref', 'x-sunset', 'x-stability-level', 'multipleOf', 'uniqueItems',
  ...KEYWORDS_2020,
]);

const TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array', 'null'];

/** The set of JSON types a schema admits, or undefined when it does not restrict the type. */
function typeSet(s: Json): Set<string> | undefined {
  let types: string[] | undefined;
  if (typeof s.type === 'string') types = [s.type];
  else if (Array.isArray(s.type)) types = s.type.filter((t: unknown): t is string => typeof t === 'string');
  if (!types) return undefined;
  const set = new Set(types);
  if (s.nullable === true || (Array.isArray(s.enum) && s.enum.includes(null))) set.add('null');
  return set;
}

/** The property names a schema requires (non-string entries of an invalid document ignored). */
function requiredNames(s: Json): Set<string> {
  return new Set(Array.isArray(s.required) ? s.required.filter((n: unknown): n is string => typeof n === 'string') : []);
}

function enumValues(s: Json): unknown[] | undefined {
  // `const` has rules of its own (schema-2020.ts).
  if (Array.isArray(s.enum)) return s.enum;
  return undefined;
}

function key(value: unknown): string {
  return JSON.stringify(value);
}

/** Lower bounds: a higher value is stricter. Upper bounds: a lower value is stricter. */
const LOWER = ['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties'] as const;
const UPPER = ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties'] as const;

function bound(s: Json, name: string): number | undefined {
  const v = s[name];
  if (typeof v === 'number') return v;
  // OpenAPI 3.0: exclusiveMinimum: true turns `minimum` exclusive.
  if (v === true && name === 'exclusiveMinimum' && typeof s.minimum === 'number') return s.minimum;
  if (v === true && name === 'exclusiveMaximum' && typeof s.maximum === 'number') return s.maximum;
  return undefined;
}

const KEBAB: Record<string, string> = {
  minimum: 'min', exclusiveMinimum: 'exclusive-min', minLength: 'min-length', minItems: 'min-items', minProperties: 'min-properties',
  maximum: 'max', exclusiveMaximum: 'exclusive-max', maxLength: 'max-length', maxItems: 'max-items', maxProperties: 'max-properties',
};

export class SchemaDiffer {
  private readonly base: RefResolver;
  private readonly revision: RefResolver;
  private readonly memo = new Map<object, Map<object, Partial<Record<Direction, SchemaNode>>>>();
  private static readonly EMPTY = {};

  constructor(baseDoc: unknown, revisionDoc: unknown) {
    this.base = new RefResolver(baseDoc);
    this.revision = new RefResolver(revisionDoc);
  }

  /**
   * The comparison node for a base and a revision schema seen from `direction`, with every
   * node below it filled in.
   * @param location pointer of the revision schema (where it is written inline)
   * @param property dotted property path for messages
   */
  compare(baseRaw: unknown, revRaw: unknown, direction: Direction, location: string, property: string): SchemaNode {
    const node = this.node(baseRaw, revRaw, direction, location, property);
    // Nodes are filled from a work list, not by recursion: a chain of thousands of schemas
    // (or a schema that refers only to itself) cannot exhaust the stack.
    for (let fill = this.unfilled.pop(); fill; fill = this.unfilled.pop()) fill();
    return node;
  }

  private readonly unfilled: Array<() => void> = [];

  /** The (memoised) node of a pair; a new node is queued to be filled. */
  private node(baseRaw: unknown, revRaw: unknown, direction: Direction, location: string, property: string): SchemaNode {
    const b = this.base.resolve(baseRaw, location);
    const r = this.revision.resolve(revRaw, location);
    const bs = isObject(b.node) ? b.node : SchemaDiffer.EMPTY;
    const rs = isObject(r.node) ? r.node : SchemaDiffer.EMPTY;
    let byRev = this.memo.get(bs);
    if (!byRev) this.memo.set(bs, (byRev = new Map()));
    let entry = byRev.get(rs);
    if (!entry) byRev.set(rs, (entry = {}));
    const existing = entry[direction];
    if (existing) return existing;
    const node: SchemaNode = { findings: [], children: [] };
    entry[direction] = node;
    if (bs === rs) return node;
    // Inside a named component, findings are located there and property paths restart from its name.
    this.unfilled.push(() => this.fill(node, bs as Json, rs as Json, direction, r.name !== undefined ? r.location : b.name !== undefined ? b.location : location, r.name ?? b.name ?? property));
    return node;
  }

  private fill(node: SchemaNode, b: Json, r: Json, dir: Direction, at: string, prop: string): void {
    const add = (kind: string, level: Level, detail: string, location = at, property = prop) => node.findings.push({ kind, level, location, property, detail });
    const req = dir === 'request';

    // Types (and nullability, which is the "null" type).
    const tb = typeSet(b);
    const tr = typeSet(r);
    if (tb && tr) {
      const lost = [...tb].filter((t) => !tr.has(t) && !(t === 'integer' && tr.has('number')));
      const gained = [...tr].filter((t) => !tb.has(t) && !(t === 'integer' && tb.has('number')));
      const narrowed = req ? lost : gained;
      const widened = req ? gained : lost;
      if (narrowed.includes('null')) add(req ? 'became-not-nullable' : 'became-nullable', 'breaking', req ? 'no longer accepts null' : 'may now be null');
      if (narrowed.some((t) => t !== 'null')) add('type-changed', 'breaking', `type changed from ${[...tb].join('|')} to ${[...tr].join('|')}`);
      else if (widened.includes('null')) add(req ? 'became-nullable' : 'became-not-nullable', 'info', req ? 'now accepts null' : 'is no longer null');
      else if (widened.length > 0) add('type-widened', 'info', `type widened from ${[...tb].join('|')} to ${[...tr].join('|')}`);
    } else if (!tb && tr && req && !tr.has('object') && TYPES.some((t) => !tr.has(t))) {
      add('type-changed', 'breaking', `type restricted to ${[...tr].join('|')}`);
    } else if (tb && !tr && !req && Object.keys(r).length > 0 && !r.oneOf && !r.anyOf && !r.allOf) {
      add('type-changed', 'breaking', `type ${[...tb].join('|')} is no longer declared`);
    }

    // Enumerations.
    const eb = enumValues(b);
    const er = enumValues(r);
    if (eb && er) {
      const rs = new Set(er.map(key));
      const bset = new Set(eb.map(key));
      const removed = eb.filter((v) => !rs.has(key(v)));
      const added = er.filter((v) => !bset.has(key(v)));
      if (removed.length) add('enum-value-removed', req ? 'breaking' : 'info', `enum value${removed.length > 1 ? 's' : ''} ${removed.map(key).join(', ')} removed`);
      if (added.length) add('enum-value-added', req ? 'info' : 'breaking', `enum value${added.length > 1 ? 's' : ''} ${added.map(key).join(', ')} added`);
    } else if (!eb && er && req) add('became-enum', 'breaking', `now restricted to ${er.map(key).join(', ')}`);
    else if (eb && !er && !req) add('enum-removed', 'breaking', 'is no longer restricted to an enum');
    const xb = b['x-extensible-enum'];
    const xr = r['x-extensible-enum'];
    if (Array.isArray(xb) && Array.isArray(xr)) {
      const removed = xb.filter((v) => !xr.map(key).includes(key(v)));
      const added = xr.filter((v) => !xb.map(key).includes(key(v)));
      if (removed.length) add('x-extensible-enum-value-removed', req ? 'breaking' : 'info', `x-extensible-enum value${removed.length > 1 ? 's' : ''} ${removed.map(key).join(', ')} removed`);
      if (added.length) add('x-extensible-enum-value-added', 'info', `x-extensible-enum value${added.length > 1 ? 's' : ''} ${added.map(key).join(', ')} added (clients must accept unknown values)`);
    }

    // Pattern and format.
    if (b.pattern !== r.pattern) {
      if (b.pattern === undefined) add('pattern-added', req ? 'breaking' : 'info', `pattern ${key(r.pattern)} added`);
      else if (r.pattern === undefined) add('pattern-removed', 'info', `pattern ${key(b.pattern)} removed`);
      else add('pattern-changed', req ? 'warning' : 'info', `pattern changed from ${key(b.pattern)} to ${key(r.pattern)}; needs review`);
    }
    if (b.format !== r.format) {
      if (b.format === undefined) add('format-added', req ? 'warning' : 'info', `format ${key(r.format)} added; needs review`);
      else if (r.format === undefined) add('format-removed', req ? 'info' : 'warning', `format ${key(b.format)} removed; needs review`);
      else add('format-changed', 'warning', `format changed from ${key(b.format)} to ${key(r.format)}; needs review`);
    }

    // Numeric, length and size bounds.
    for (const name of LOWER) {
      const vb = bound(b, name);
      const vr = bound(r, name);
      if (vb === vr) continue;
      const stricter = vr !== undefined && (vb === undefined || vr > vb);
      if (stricter) add(`${KEBAB[name]}-increased`, req ? 'breaking' : 'info', vb === undefined ? `${name} ${vr} added` : `${name} raised from ${vb} to ${vr}`);
      else add(`${KEBAB[name]}-decreased`, req ? 'info' : 'breaking', vr === undefined ? `${name} ${vb} removed` : `${name} lowered from ${vb} to ${vr}`);
    }
    for (const name of UPPER) {
      const vb = bound(b, name);
      const vr = bound(r, name);
      if (vb === vr) continue;
      const stricter = vr !== undefined && (vb === undefined || vr < vb);
      if (stricter) add(`${KEBAB[name]}-decreased`, req ? 'breaking' : 'info', vb === undefined ? `${name} ${vr} added` : `${name} lowered from ${vb} to ${vr}`);
      else add(`${KEBAB[name]}-increased`, req ? 'info' : 'breaking', vr === undefined ? `${name} ${vb} removed` : `${name} raised from ${vb} to ${vr}`);
    }
    if (b.multipleOf !== r.multipleOf) add('multiple-of-changed', req && r.multipleOf !== undefined ? 'breaking' : 'info', `multipleOf changed from ${key(b.multipleOf)} to ${key(r.multipleOf)}`);
    if (!!b.uniqueItems !== !!r.uniqueItems) add('unique-items-changed', req && r.uniqueItems ? 'breaking' : 'info', r.uniqueItems ? 'items must now be unique' : 'items need no longer be unique');

    // Object properties and required sets.
    this.properties(node, b, r, dir, at, prop);

    // Arrays.
    if (b.items !== undefined || r.items !== undefined) {
      if (isObject(b.items) && isObject(r.items)) node.children.push(this.node(b.items, r.items, dir, `${at}/items`, `${prop}[]`));
      else if (key(b.items) !== key(r.items)) add('items-changed', 'warning', 'array items changed; needs review');
    }

    // additionalProperties.
    const ab = b.additionalProperties;
    const ar = r.additionalProperties;
    if (isObject(ab) && isObject(ar)) node.children.push(this.node(ab, ar, dir, `${at}/additionalProperties`, `${prop}{}`));
    else if (ar === false && ab !== false && req) add('additional-properties-disallowed', 'breaking', 'no longer accepts additional properties');
    else if (ab === false && ar !== false && ar !== undefined && !req) add('additional-properties-allowed', 'warning', 'may now contain additional properties; needs review');

    // Composition.
    this.composition(node, b, r, dir, at, prop);

    // Documentation-only and handled keywords aside, anything else that differs needs review.
    for (const k of new Set([...Object.keys(b), ...Object.keys(r)])) {
      if (DOC_KEYS.has(k) || HANDLED.has(k) || (k.startsWith('x-') && k !== 'x-extensible-enum')) continue;
      if (key(ownValue(b, k)) !== key(ownValue(r, k))) add('schema-changed', 'warning', `"${k}" changed; needs review`);
    }
    if (!!b.readOnly !== !!r.readOnly || !!b.writeOnly !== !!r.writeOnly) add('access-changed', 'warning', `readOnly/writeOnly changed; needs review`);
    if (key(b.default) !== key(r.default) && b.default !== undefined) add('default-changed', 'warning', `default changed from ${key(b.default)} to ${key(r.default)}; needs review`);

    // JSON Schema 2020-12 keywords; last, because a list of types or a nullable wrap replaces some findings above.
    compare2020({ node, b, r, dir, at, prop, child: (bs, rs, loc, p) => this.node(bs, rs, dir, loc, p), base: this.base, revision: this.revision });
  }

  private properties(node: SchemaNode, b: Json, r: Json, dir: Direction, at: string, prop: string): void {
    const req = dir === 'request';
    const pb: Json = isObject(b.properties) ? b.properties : {};
    const pr: Json = isObject(r.properties) ? r.properties : {};
    const rb = requiredNames(b);
    const rr = requiredNames(r);
    const names = new Set([...Object.keys(pb), ...Object.keys(pr), ...rb, ...rr]);
    for (const name of names) {
      const loc = `${at}/properties/${escapeSegment(name)}`;
      const path = prop ? `${prop}.${name}` : name;
      // Property names are the author's: `constructor` or `__proto__` is a name like any other.
      const inBase = Object.hasOwn(pb, name);
      const inRev = Object.hasOwn(pr, name);
      const bp = this.base.resolve(ownValue(pb, name), loc).node as Json | undefined;
      const rp = this.revision.resolve(ownValue(pr, name), loc).node as Json | undefined;
      // Clients need not send readOnly properties nor expect writeOnly ones: their presence and
      // requiredness do not matter in that direction, but their constraints still do (a client
      // may echo a readOnly value back), as oasdiff judges it.
      const hidden = (p: Json | undefined) => isObject(p) && (req ? p.readOnly === true : p.writeOnly === true);
      if (hidden(rp) || (rp === undefined && hidden(bp))) {
        if (inBase && inRev) node.children.push(this.node(pb[name], pr[name], dir, loc, path));
        continue;
      }
      const add = (kind: string, level: Level, detail: string) => node.findings.push({ kind, level, location: loc, property: path, detail });
      if (inBase && !inRev) {
        if (req) add('property-removed', 'warning', `property ${path} removed; clients that send it may be refused; needs review`);
        else add(rb.has(name) ? 'required-property-removed' : 'property-removed', 'breaking', `property ${path} removed`);
        continue;
      }
      if (!inBase && inRev) {
        if (req) add(rr.has(name) ? 'required-property-added' : 'property-added', rr.has(name) ? 'breaking' : 'info', rr.has(name) ? `new required property ${path}` : `optional property ${path} added`);
        else add(rr.has(name) ? 'required-property-added' : 'property-added', 'info', `property ${path} added`);
        continue;
      }
      if (!rb.has(name) && rr.has(name)) {
        if (req) add('property-became-required', 'breaking', `property ${path} became required`);
        else add('property-became-required', 'info', `property ${path} is now always present`);
      } else if (rb.has(name) && !rr.has(name)) {
        if (req) add('property-became-optional', 'info', `property ${path} became optional`);
        else add('property-became-optional', 'breaking', `property ${path} became optional (may be absent)`);
      }
      if (inBase && inRev) node.children.push(this.node(pb[name], pr[name], dir, loc, path));
    }
  }

  /** Whether any finding reachable from a node is breaking. */
  private hasBreaking(root: SchemaNode): boolean {
    const seen = new Set<SchemaNode>();
    const stack = [root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (seen.has(node)) continue;
      seen.add(node);
      if (node.findings.some((f) => f.level === 'breaking')) return true;
      for (const child of node.children) stack.push(child);
    }
    return false;
  }

  /** A label to pair oneOf/anyOf alternatives by: the component name, else type and properties. */
  private signature(raw: unknown, resolver: RefResolver): string {
    if (isObject(raw) && typeof raw.$ref === 'string') return `ref:${raw.$ref.split('/').pop()}`;
    const node = resolver.resolve(raw, '').node;
    if (!isObject(node)) return 'any';
    return `${key(node.type ?? null)}:${Object.keys(isObject(node.properties) ? node.properties : {}).sort().join(',')}`;
  }

  private composition(node: SchemaNode, b: Json, r: Json, dir: Direction, at: string, prop: string): void {
    const req = dir === 'request';
    const add = (kind: string, level: Level, detail: string) => node.findings.push({ kind, level, location: at, property: prop, detail });
    for (const k of ['oneOf', 'anyOf', 'allOf'] as const) {
      const lb: unknown[] | undefined = Array.isArray(b[k]) ? b[k] : undefined;
      const lr: unknown[] | undefined = Array.isArray(r[k]) ? r[k] : undefined;
      const kebab = k === 'oneOf' ? 'one-of' : k === 'anyOf' ? 'any-of' : 'all-of';
      if (!lb && !lr) continue;
      if (!lb && lr) {
        const wrapped = !b.oneOf && !b.anyOf && !b.allOf && Object.keys(b).length > 0;
        if (k === 'allOf') add('all-of-added', req ? 'warning' : 'info', 'allOf added; needs review');
        else if (!wrapped) add(`${kebab}-added`, 'warning', `${k} added; needs review`);
        else if (k === 'oneOf') {
          // oneOf's exclusivity can refuse a payload that matches several alternatives.
          add('wrapped-in-one-of', req ? 'breaking' : 'warning', `wrapped in oneOf with ${lr.length} alternatives${req ? '' : '; needs review'}`);
        } else {
          // anyOf narrows only if no alternative accepts everything the old schema did.
          const widening = lr.some((alt) => !this.hasBreaking(new SchemaDiffer(this.base.doc, this.revision.doc).compare(b, alt, dir, at, '')));
          if (req) add('wrapped-in-any-of', widening ? 'info' : 'breaking', widening ? `wrapped in anyOf with ${lr.length} alternatives, one of which accepts what was accepted before` : `wrapped in anyOf whose alternatives all narrow what was accepted before`);
          else add('wrapped-in-any-of', 'warning', `wrapped in anyOf with ${lr.length} alternatives; needs review`);
        }
        continue;
      }
      if (lb && !lr) {
        add(`${kebab}-removed`, 'warning', `${k} removed; needs review`);
        continue;
      }
      // Pair alternatives by signature first, so reordering them is not a change.
      const pairs: Array<[number, number]> = [];
      const freeRev = new Set(lr!.map((_, i) => i));
      const unpairedBase: number[] = [];
      lb!.forEach((alt, i) => {
        const sig = this.signature(alt, this.base);
        const match = [...freeRev].find((j) => this.signature(lr![j], this.revision) === sig);
        if (match !== undefined) {
          pairs.push([i, match]);
          freeRev.delete(match);
        } else unpairedBase.push(i);
      });
      const restRev = [...freeRev];
      unpairedBase.forEach((i, n) => {
        if (n < restRev.length) {
          pairs.push([i, restRev[n]!]);
          freeRev.delete(restRev[n]!);
        }
      });
      for (const [i, j] of pairs) node.children.push(this.node(lb![i], lr![j], dir, `${at}/${k}/${j}`, prop));
      if (lr!.length > lb!.length) {
        if (k === 'allOf') add('all-of-added', req ? 'breaking' : 'info', `${lr!.length - lb!.length} allOf schema(s) added`);
        else add(`${kebab}-alternative-added`, req ? 'info' : 'breaking', `${lr!.length - lb!.length} ${k} alternative(s) added`);
      } else if (lr!.length < lb!.length) {
        if (k === 'allOf') add('all-of-removed', req ? 'info' : 'breaking', `${lb!.length - lr!.length} allOf schema(s) removed`);
        else add(`${kebab}-alternative-removed`, req ? 'breaking' : 'info', `${lb!.length - lr!.length} ${k} alternative(s) removed`);
      }
    }
  }
}
