import type { Child } from 'hono/jsx';
import { isObject, pointerOfFragment, unescapeSegment, type Json } from '../../lib/json.ts';

/** The budgets, ids and schema rendering the API reference is built from. */

/** Characters of one description shown, and of every description of the page together. */
const DESCRIPTION_CHARS = 1_500;
export const TOTAL_TEXT_CHARS = 200_000;
/** Tags (groups of operations) shown, in the contents and in the operations. */
export const TAGS_SHOWN = 100;
/** Enum values listed per schema. */
const ENUM_VALUES = 20;
/** Share of the node budget the operations may use before the components get theirs. */
export const OPERATIONS_SHARE = 0.6;

/** The state of one rendering: what is left of the budgets, and the ids handed out. */
export interface Ctx {
  doc: Json;
  prefix: string;
  nodes: number;
  chars: number;
  maxDepth: number;
  /** `#/components/<kind>/<name>` → element id, for the anchored components. */
  anchors: Map<string, string>;
  ids: Set<string>;
}

/** A fresh element id built from `parts` (characters outside [A-Za-z0-9_.-] replaced), unique on the page. */
export function uniqueId(ctx: Ctx, ...parts: string[]): string {
  const base = [ctx.prefix, ...parts].join('-').replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 120);
  let id = base;
  for (let n = 2; ctx.ids.has(id); n++) id = `${base}-${n}`;
  ctx.ids.add(id);
  return id;
}

/** Takes one node from the budget; false when it is spent. */
export function spend(ctx: Ctx): boolean {
  if (ctx.nodes <= 0) return false;
  ctx.nodes--;
  return true;
}

/** A string value clipped to the per-description and page-wide character budgets. */
export function clip(ctx: Ctx, value: unknown, max = DESCRIPTION_CHARS): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const room = Math.min(max, ctx.chars);
  ctx.chars -= Math.min(value.length, room);
  return value.length <= room ? value : `${value.slice(0, room)}… (${value.length - room} more characters not shown)`;
}

/** A short scalar for inline display (enum values, defaults): JSON for non-strings, clipped. */
export function scalar(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

export function description(ctx: Ctx, value: unknown): Child {
  const text = clip(ctx, value);
  if (!text) return null;
  return (
    <div class="description">
      {text.split(/\n\s*\n/).map((p) => (
        <p>{p}</p>
      ))}
    </div>
  );
}

export function more(count: number, what: string): Child {
  if (count <= 0) return null;
  return <li class="muted">{`… ${count} more ${what} not shown (the reference is bounded)`}</li>;
}

/** A link to an anchored component for a `$ref`, or the reference as text. */
export function refLink(ctx: Ctx, ref: string): Child {
  const pointer = ref.startsWith('#') ? pointerOfFragment(ref.slice(1)) : undefined;
  const id = pointer === undefined ? undefined : ctx.anchors.get(`#${pointer}`);
  const name = unescapeSegment(ref.slice(ref.lastIndexOf('/') + 1));
  return id ? <a href={`#${id}`}>{name}</a> : <code>{ref}</code>;
}

/** The words that describe a schema on one line: type, format, flags, enum, bounds. */
export function schemaFacts(ctx: Ctx, schema: Json, required: boolean): Child[] {
  const facts: Child[] = [];
  if (typeof schema.$ref === 'string') facts.push(refLink(ctx, schema.$ref));
  const types = Array.isArray(schema.type) ? schema.type.filter((t: unknown) => typeof t === 'string') : typeof schema.type === 'string' ? [schema.type] : [];
  if (types.length > 0) facts.push(<span class="type">{types.join(' | ')}</span>);
  if (typeof schema.format === 'string') facts.push(<span>{`format ${scalar(schema.format)}`}</span>);
  if (required) facts.push(<strong class="required">required</strong>);
  if (schema.nullable === true) facts.push(<span>nullable</span>);
  if (schema.readOnly === true) facts.push(<span>read-only</span>);
  if (schema.writeOnly === true) facts.push(<span>write-only</span>);
  if (schema.deprecated === true) facts.push(<span class="badge warn">Deprecated</span>);
  if (Array.isArray(schema.enum)) {
    const shown = schema.enum.slice(0, ENUM_VALUES).map(scalar).join(', ');
    facts.push(<span>{`one of: ${shown}${schema.enum.length > ENUM_VALUES ? ` … ${schema.enum.length - ENUM_VALUES} more` : ''}`}</span>);
  }
  if (Object.hasOwn(schema, 'const')) facts.push(<span>{`always ${scalar(schema.const)}`}</span>);
  if (Object.hasOwn(schema, 'default')) facts.push(<span>{`default ${scalar(schema.default)}`}</span>);
  for (const [key, label] of [
    ['minimum', 'minimum'],
    ['exclusiveMinimum', 'greater than'],
    ['maximum', 'maximum'],
    ['exclusiveMaximum', 'less than'],
    ['minLength', 'min length'],
    ['maxLength', 'max length'],
    ['minItems', 'min items'],
    ['maxItems', 'max items'],
    ['minProperties', 'min properties'],
    ['maxProperties', 'max properties'],
    ['multipleOf', 'multiple of'],
  ] as const) {
    if (typeof schema[key] === 'number') facts.push(<span>{`${label} ${schema[key]}`}</span>);
  }
  if (schema.uniqueItems === true) facts.push(<span>unique items</span>);
  if (typeof schema.pattern === 'string') facts.push(<span>pattern <code>{scalar(schema.pattern)}</code></span>);
  return facts;
}

/** The child schemas of a schema, labelled: properties, items, additional properties, compositions. */
function schemaChildren(schema: Json): Array<{ label: string; schema: unknown; required?: boolean }> {
  const out: Array<{ label: string; schema: unknown; required?: boolean }> = [];
  const required = new Set(Array.isArray(schema.required) ? schema.required.filter((r: unknown) => typeof r === 'string') : []);
  if (isObject(schema.properties)) for (const name of Object.keys(schema.properties)) out.push({ label: name, schema: schema.properties[name], required: required.has(name) });
  if (isObject(schema.items)) out.push({ label: 'items', schema: schema.items });
  if (isObject(schema.additionalProperties)) out.push({ label: 'any other property', schema: schema.additionalProperties });
  for (const [key, words] of [['allOf', 'all of'], ['oneOf', 'exactly one of'], ['anyOf', 'any of']] as const) {
    if (Array.isArray(schema[key])) schema[key].forEach((s: unknown, i: number) => out.push({ label: `${words} #${i + 1}`, schema: s }));
  }
  if (isObject(schema.not)) out.push({ label: 'not', schema: schema.not });
  return out;
}

/** One schema as a list item: its name, facts and description, then its children as a nested list. */
function schemaItem(ctx: Ctx, label: string | undefined, schema: unknown, required: boolean, depth: number): Child {
  if (!isObject(schema)) {
    return <li>{label && <code>{label}</code>} <span>{schema === true ? 'anything' : schema === false ? 'nothing allowed' : 'not a schema'}</span></li>;
  }
  const children = typeof schema.$ref === 'string' && Object.keys(schema).length === 1 ? [] : schemaChildren(schema);
  let list: Child = null;
  if (children.length > 0) {
    if (depth + 1 >= ctx.maxDepth) list = <ul><li class="muted">{`… nested deeper than ${ctx.maxDepth} levels; not shown`}</li></ul>;
    else {
      const items: Child[] = [];
      let i = 0;
      for (; i < children.length && spend(ctx); i++) items.push(schemaItem(ctx, children[i]!.label, children[i]!.schema, children[i]!.required ?? false, depth + 1));
      list = (
        <ul>
          {items}
          {more(children.length - i, 'schema parts')}
        </ul>
      );
    }
  }
  return (
    <li>
      {label && <code class="name">{label}</code>} {schemaFacts(ctx, schema, required).map((f) => [f, ' '])}
      {description(ctx, schema.description)}
      {list}
    </li>
  );
}

/** A schema as a nested list (spends one node for its root; an empty list when the budget is spent). */
export function schemaTree(ctx: Ctx, schema: unknown): Child {
  if (!spend(ctx)) return <p class="muted">Schema not shown (the reference is bounded).</p>;
  return <ul class="schema">{schemaItem(ctx, undefined, schema, false, 0)}</ul>;
}
