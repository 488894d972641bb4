import { isObject, ownValue, type Json } from '../lib/json.ts';
import { compare2020, KEYWORDS_2020 } from './schema-2020.ts';
import { compareBounds } from './schema-bounds.ts';
import { compareComposition, compareDiscriminator, dropShadowed } from './schema-composition.ts';
import { compareDefault, compareEnum, comparePattern, compareType, key } from './schema-keywords.ts';
import { compareLifecycle, compareProperties } from './schema-properties.ts';
import { RefResolver, type FillContext, type SchemaDiffOptions, type SchemaNode } from './schema-node.ts';
import type { Direction, Level } from './types.ts';

/**
 * Cycle-safe, direction-aware comparison of two JSON Schemas (OpenAPI 3.0 or 3.1 dialect)
 * without dereferencing whole documents. Each pair of (base, revision) schema objects is a
 * node compared once per direction; its own findings are stored on it and its sub-schemas
 * are edges to other nodes, so recursive schemas make cycles in a graph instead of infinite
 * recursion, and a schema shared by many operations is compared once.
 *
 * A node's findings are facts about the pair, whatever position it is reached from; the
 * caller (src/diff/schema-ids.ts) names each finding's rule from its position — request or
 * response, body, property, parameter, header — as oasdiff does, and the rule table
 * (src/diff/rules/schema.ts) gives its level. The checks are split by topic: schema-keywords.ts
 * (type, nullability, enum, pattern, default), schema-bounds.ts, schema-properties.ts
 * (properties, requiredness, readOnly/writeOnly, deprecation) and schema-composition.ts
 * (oneOf/anyOf/allOf, discriminator).
 */

const DOC_KEYS = new Set(['description', 'title', 'example', 'examples', 'externalDocs', '$comment', 'xml', 'deprecated', '$schema', '$id', '$anchor', 'contentMediaType', 'contentEncoding']);
const HANDLED = new Set([
  'type', 'nullable', 'enum', 'const', 'x-extensible-enum', 'pattern', 'format', 'properties', 'required', 'items', 'additionalProperties',
  'oneOf', 'anyOf', 'allOf', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'minItems', 'maxItems',
  'minProperties', 'maxProperties', 'readOnly', 'writeOnly', 'default', '$ref', 'x-sunset', 'x-stability-level', 'multipleOf', 'uniqueItems',
  ...KEYWORDS_2020,
]);

/** Keywords the topic checks below compare (kept apart from HANDLED, which hooks extend). */
const COMPARED = new Set(['discriminator']);

export class SchemaDiffer {
  private readonly base: RefResolver;
  private readonly revision: RefResolver;
  private readonly options: Required<SchemaDiffOptions>;
  /** Nodes by base schema, revision schema and direction (plus `{}` for a map's value schema). */
  private readonly memo = new Map<object, Map<object, Partial<Record<string, SchemaNode>>>>();
  private static readonly EMPTY = {};

  constructor(baseDoc: unknown, revisionDoc: unknown, options: SchemaDiffOptions = {}) {
    this.base = new RefResolver(baseDoc);
    this.revision = new RefResolver(revisionDoc);
    this.options = { now: options.now ?? new Date(), requireSunset: options.requireSunset ?? false };
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
  private node(baseRaw: unknown, revRaw: unknown, direction: Direction, location: string, property: string, mapValue = false): SchemaNode {
    const b = this.base.resolve(baseRaw, location);
    const r = this.revision.resolve(revRaw, location);
    const bs = isObject(b.node) ? b.node : SchemaDiffer.EMPTY;
    const rs = isObject(r.node) ? r.node : SchemaDiffer.EMPTY;
    let byRev = this.memo.get(bs);
    if (!byRev) this.memo.set(bs, (byRev = new Map()));
    let entry = byRev.get(rs);
    if (!entry) byRev.set(rs, (entry = {}));
    const variant = mapValue ? `${direction}{}` : direction;
    const existing = entry[variant];
    if (existing) return existing;
    const node: SchemaNode = { findings: [], children: [] };
    entry[variant] = node;
    if (bs === rs) return node;
    // Inside a named component, findings are located there and property paths restart from its name.
    this.unfilled.push(() => this.fill(node, bs as Json, rs as Json, direction, r.name !== undefined ? r.location : b.name !== undefined ? b.location : location, r.name ?? b.name ?? property, mapValue));
    return node;
  }

  private fill(node: SchemaNode, b: Json, r: Json, dir: Direction, at: string, prop: string, mapValue: boolean): void {
    // `level` is ignored: the rule table gives every finding its level (hooks written before may pass one).
    const add = (kind: string, _level: Level | undefined, detail: string, location = at, property = prop) => node.findings.push({ kind, location, property, ...(property ? { subject: property } : {}), detail });
    const req = dir === 'request';
    const ctx: FillContext = {
      b,
      r,
      dir,
      req,
      mapValue,
      at,
      prop,
      options: this.options,
      base: this.base,
      revision: this.revision,
      add: (kind, detail, extra = {}) => node.findings.push({ kind, location: at, property: prop, ...(prop ? { subject: prop } : {}), detail, ...extra }),
      child: (bc, rc, location, property) => node.children.push(this.node(bc, rc, dir, location, property)),
    };

    compareType(ctx);
    compareEnum(ctx);
    comparePattern(ctx);
    compareBounds(ctx);
    compareDefault(ctx);
    compareLifecycle(ctx);
    compareProperties(ctx);

    // Arrays and maps: their item and value schemas are compared as children.
    if (isObject(b.items) && isObject(r.items)) ctx.child(b.items, r.items, `${at}/items`, `${prop}[]`);
    // Next to prefixItems, `items` is the schema of the rest (schema-2020.ts compares it).
    else if (key(b.items) !== key(r.items) && b.prefixItems === undefined && r.prefixItems === undefined) add('schema-changed', undefined, `"items" changed; needs review`);
    if (isObject(b.additionalProperties) && isObject(r.additionalProperties)) node.children.push(this.node(b.additionalProperties, r.additionalProperties, dir, `${at}/additionalProperties`, `${prop}{}`, true));

    compareComposition(ctx);
    compareDiscriminator(ctx);
    // Checks of other keywords add their findings here, before dropShadowed sees them all.
    // JSON Schema 2020-12 keywords; last, because a list of types or a nullable wrap replaces some findings above.
    compare2020({ node, b, r, dir, at, prop, child: (bs, rs, loc, p) => this.node(bs, rs, dir, loc, p), base: this.base, revision: this.revision });

    // Documentation-only and handled keywords aside, anything else that differs needs review.
    for (const k of new Set([...Object.keys(b), ...Object.keys(r)])) {
      if (DOC_KEYS.has(k) || HANDLED.has(k) || COMPARED.has(k) || (k.startsWith('x-') && k !== 'x-extensible-enum')) continue;
      if (key(ownValue(b, k)) !== key(ownValue(r, k))) add('schema-changed', undefined, `"${k}" changed; needs review`);
    }
    dropShadowed(node);
  }
}
