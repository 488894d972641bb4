import type { Child } from 'hono/jsx';
import { HTTP_METHODS } from '../../contracts/operations.ts';
import { resolveLocal } from '../../contracts/document.ts';
import { escapeSegment, isObject, pointerOfFragment, unescapeSegment, type Json } from '../../lib/json.ts';

/** What ApiReference renders: any OpenAPI 3.x document object, within bounds. */
export interface ApiReferenceProps {
  /** The parsed document (a registered contract, or Accord's own ACCORD_API_DOCUMENT). */
  document: unknown;
  /** Prefix of every id the reference gives its elements (default "ref"). */
  idPrefix?: string;
  /** At most this many operations, parameters, responses and schema nodes rendered in all (default 3,000). */
  maxNodes?: number;
  /** Schemas nested deeper than this many levels are cut (default 10). */
  maxDepth?: number;
}

/** Component kinds the reference renders, each in its own part of the Components section. */
const COMPONENT_KINDS = [
  ['schemas', 'Schemas'],
  ['parameters', 'Parameters'],
  ['requestBodies', 'Request bodies'],
  ['responses', 'Responses'],
  ['headers', 'Headers'],
  ['securitySchemes', 'Security schemes'],
] as const;
type ComponentKind = (typeof COMPONENT_KINDS)[number][0];

/** Components of one kind that get an anchor (and so a heading); a `$ref` to any other is shown as text. */
const ANCHORED_PER_KIND = 500;
/** Characters of one description shown, and of every description of the page together. */
const DESCRIPTION_CHARS = 1_500;
const TOTAL_TEXT_CHARS = 200_000;
/** Tags (groups of operations) shown, in the contents and in the operations. */
const TAGS_SHOWN = 100;
/** Enum values listed per schema. */
const ENUM_VALUES = 20;
/** Share of the node budget the operations may use before the components get theirs. */
const OPERATIONS_SHARE = 0.6;

/** The state of one rendering: what is left of the budgets, and the ids handed out. */
interface Ctx {
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
function uniqueId(ctx: Ctx, ...parts: string[]): string {
  const base = [ctx.prefix, ...parts].join('-').replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 120);
  let id = base;
  for (let n = 2; ctx.ids.has(id); n++) id = `${base}-${n}`;
  ctx.ids.add(id);
  return id;
}

/** Takes one node from the budget; false when it is spent. */
function spend(ctx: Ctx): boolean {
  if (ctx.nodes <= 0) return false;
  ctx.nodes--;
  return true;
}

/** A string value clipped to the per-description and page-wide character budgets. */
function clip(ctx: Ctx, value: unknown, max = DESCRIPTION_CHARS): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const room = Math.min(max, ctx.chars);
  ctx.chars -= Math.min(value.length, room);
  return value.length <= room ? value : `${value.slice(0, room)}… (${value.length - room} more characters not shown)`;
}

/** A short scalar for inline display (enum values, defaults): JSON for non-strings, clipped. */
function scalar(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

function description(ctx: Ctx, value: unknown): Child {
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

function more(count: number, what: string): Child {
  if (count <= 0) return null;
  return <li class="muted">{`… ${count} more ${what} not shown (the reference is bounded)`}</li>;
}

/** A link to an anchored component for a `$ref`, or the reference as text. */
function refLink(ctx: Ctx, ref: string): Child {
  const pointer = ref.startsWith('#') ? pointerOfFragment(ref.slice(1)) : undefined;
  const id = pointer === undefined ? undefined : ctx.anchors.get(`#${pointer}`);
  const name = unescapeSegment(ref.slice(ref.lastIndexOf('/') + 1));
  return id ? <a href={`#${id}`}>{name}</a> : <code>{ref}</code>;
}

/** The words that describe a schema on one line: type, format, flags, enum, bounds. */
function schemaFacts(ctx: Ctx, schema: Json, required: boolean): Child[] {
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
function schemaTree(ctx: Ctx, schema: unknown): Child {
  if (!spend(ctx)) return <p class="muted">Schema not shown (the reference is bounded).</p>;
  return <ul class="schema">{schemaItem(ctx, undefined, schema, false, 0)}</ul>;
}

/** Media types of a request body, response or header with their schemas. */
function content(ctx: Ctx, value: unknown): Child {
  if (!isObject(value)) return null;
  const types = Object.keys(value);
  const items: Child[] = [];
  let i = 0;
  for (; i < types.length && spend(ctx); i++) {
    const media = value[types[i]!];
    items.push(
      <li>
        <code>{types[i]}</code>
        {isObject(media) && media.schema !== undefined && schemaTree(ctx, media.schema)}
      </li>,
    );
  }
  return (
    <ul class="media">
      {items}
      {more(types.length - i, 'media types')}
    </ul>
  );
}

function parameterTable(ctx: Ctx, parameters: unknown[]): Child {
  const rows: Child[] = [];
  let i = 0;
  for (; i < parameters.length && spend(ctx); i++) {
    const raw = parameters[i];
    const p = resolveLocal(ctx.doc, raw);
    const fromRef = isObject(raw) && typeof raw.$ref === 'string' ? raw.$ref : undefined;
    if (!isObject(p)) {
      rows.push(<tr><td colspan={5}>{fromRef ? refLink(ctx, fromRef) : 'not a parameter'}</td></tr>);
      continue;
    }
    rows.push(
      <tr>
        <th scope="row">
          <code>{scalar(p.name)}</code>
          {fromRef && <> ({refLink(ctx, fromRef)})</>}
        </th>
        <td>{scalar(p.in)}</td>
        <td>{p.required === true ? 'required' : 'optional'}{p.deprecated === true ? ', deprecated' : ''}</td>
        <td>{isObject(p.schema) ? schemaFacts(ctx, p.schema, false).map((f) => [f, ' ']) : isObject(p.content) ? content(ctx, p.content) : null}</td>
        <td>{description(ctx, p.description)}</td>
      </tr>,
    );
  }
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">In</th>
            <th scope="col">Required</th>
            <th scope="col">Schema</th>
            <th scope="col">Description</th>
          </tr>
        </thead>
        <tbody>
          {rows}
          {i < parameters.length && <tr><td colspan={5} class="muted">{`… ${parameters.length - i} more parameters not shown (the reference is bounded)`}</td></tr>}
        </tbody>
      </table>
    </div>
  );
}

function requestBody(ctx: Ctx, raw: unknown): Child {
  const body = resolveLocal(ctx.doc, raw);
  if (!isObject(body)) return null;
  return (
    <>
      <p>
        {body.required === true ? 'Required.' : 'Optional.'} {isObject(raw) && typeof raw.$ref === 'string' && <>Defined as {refLink(ctx, raw.$ref)}.</>}
      </p>
      {description(ctx, body.description)}
      {content(ctx, body.content)}
    </>
  );
}

function response(ctx: Ctx, raw: unknown): Child {
  const resolved = resolveLocal(ctx.doc, raw);
  const fromRef = isObject(raw) && typeof raw.$ref === 'string' ? raw.$ref : undefined;
  if (!isObject(resolved)) return fromRef ? refLink(ctx, fromRef) : null;
  const headers = isObject(resolved.headers) ? Object.keys(resolved.headers) : [];
  return (
    <>
      {fromRef && <> ({refLink(ctx, fromRef)})</>}
      {description(ctx, resolved.description)}
      {headers.length > 0 && (
        <p>
          Headers:{' '}
          {headers.slice(0, 20).map((h, i) => [i > 0 ? ', ' : '', <code>{h}</code>])}
          {headers.length > 20 ? ` … ${headers.length - 20} more` : ''}
        </p>
      )}
      {content(ctx, resolved.content)}
    </>
  );
}

function responses(ctx: Ctx, value: unknown): Child {
  if (!isObject(value)) return null;
  const statuses = Object.keys(value);
  const items: Child[] = [];
  let i = 0;
  for (; i < statuses.length && spend(ctx); i++) {
    items.push(
      <li>
        <strong>{statuses[i]}</strong> {response(ctx, value[statuses[i]!])}
      </li>,
    );
  }
  return (
    <ul class="responses">
      {items}
      {more(statuses.length - i, 'responses')}
    </ul>
  );
}

interface Operation {
  method: string;
  path: string;
  operation: Json;
  parameters: unknown[];
}

/** Every operation of the document in document order (path-level parameters first, overridden by the operation's). */
function operationsOf(doc: Json): Operation[] {
  const out: Operation[] = [];
  if (!isObject(doc.paths)) return out;
  for (const path of Object.keys(doc.paths)) {
    const item = resolveLocal(doc, doc.paths[path]);
    if (!isObject(item)) continue;
    const shared: unknown[] = Array.isArray(item.parameters) ? item.parameters : [];
    for (const method of HTTP_METHODS) {
      if (isObject(item[method])) out.push({ method, path, operation: item[method], parameters: [...shared, ...(Array.isArray(item[method].parameters) ? item[method].parameters : [])] });
    }
  }
  return out;
}

function operation(ctx: Ctx, op: Operation): Child {
  const o = op.operation;
  const id = uniqueId(ctx, 'op', op.method, op.path);
  const security = Array.isArray(o.security) ? o.security.filter(isObject).flatMap((r: Json) => Object.keys(r)) : undefined;
  return (
    <article class="operation panel" aria-labelledby={id}>
      <h4 id={id}>
        <span class="method">{op.method.toUpperCase()}</span> <code>{op.path}</code>
      </h4>
      {typeof o.summary === 'string' && <p class="summary">{clip(ctx, o.summary, 300)}</p>}
      <p class="muted">
        {typeof o.operationId === 'string' && <>operationId <code>{scalar(o.operationId)}</code></>}
        {o.deprecated === true && <> <span class="badge warn">Deprecated</span></>}
        {security && <> · {security.length === 0 ? 'no authentication' : `authentication: ${security.slice(0, 10).join(', ')}`}</>}
      </p>
      {description(ctx, o.description)}
      {op.parameters.length > 0 && (
        <>
          <h5>Parameters</h5>
          {parameterTable(ctx, op.parameters)}
        </>
      )}
      {o.requestBody !== undefined && (
        <>
          <h5>Request body</h5>
          {requestBody(ctx, o.requestBody)}
        </>
      )}
      {isObject(o.responses) && (
        <>
          <h5>Responses</h5>
          {responses(ctx, o.responses)}
        </>
      )}
    </article>
  );
}

/** Operations grouped by their first tag: declared tags in order, then undeclared ones, then untagged operations. */
function groupByTag(doc: Json, ops: Operation[]): Array<{ name: string; description?: unknown; ops: Operation[] }> {
  const groups = new Map<string, { name: string; description?: unknown; ops: Operation[] }>();
  if (Array.isArray(doc.tags)) for (const t of doc.tags) if (isObject(t) && typeof t.name === 'string' && !groups.has(t.name)) groups.set(t.name, { name: t.name, description: t.description, ops: [] });
  const untagged: Operation[] = [];
  for (const op of ops) {
    const tag = Array.isArray(op.operation.tags) && typeof op.operation.tags[0] === 'string' ? op.operation.tags[0] : undefined;
    if (tag === undefined) untagged.push(op);
    else {
      if (!groups.has(tag)) groups.set(tag, { name: tag, ops: [] });
      groups.get(tag)!.ops.push(op);
    }
  }
  const out = [...groups.values()].filter((g) => g.ops.length > 0);
  if (untagged.length > 0) out.push({ name: out.length > 0 ? 'Other operations' : 'Operations', ops: untagged });
  return out;
}

function operations(ctx: Ctx, groups: ReturnType<typeof groupByTag>, ids: string[]): Child {
  const hidden = groups.slice(TAGS_SHOWN);
  return (
    <>
      {groups.slice(0, TAGS_SHOWN).map((g, gi) => {
        const items: Child[] = [];
        let i = 0;
        for (; i < g.ops.length && spend(ctx); i++) items.push(operation(ctx, g.ops[i]!));
        return (
          <section class="tag">
            <h3 id={ids[gi]}>{g.name}</h3>
            {description(ctx, g.description)}
            {items}
            {i < g.ops.length && <p class="muted">{`… ${g.ops.length - i} more operations not shown (the reference is bounded)`}</p>}
          </section>
        );
      })}
      {hidden.length > 0 && <p class="muted">{`… ${hidden.length} more tags with ${hidden.reduce((n, g) => n + g.ops.length, 0)} operations not shown (the reference is bounded)`}</p>}
    </>
  );
}

function componentBody(ctx: Ctx, kind: ComponentKind, value: unknown): Child {
  if (kind === 'schemas') return schemaTree(ctx, value);
  if (kind === 'parameters') return parameterTable(ctx, [value]);
  if (kind === 'requestBodies') return requestBody(ctx, value);
  if (kind === 'responses') return response(ctx, value);
  if (!isObject(value)) return null;
  if (kind === 'headers') {
    return (
      <>
        {description(ctx, value.description)}
        {value.schema !== undefined && schemaTree(ctx, value.schema)}
      </>
    );
  }
  const facts = (['type', 'scheme', 'bearerFormat', 'in', 'name', 'openIdConnectUrl'] as const).filter((k) => typeof value[k] === 'string');
  return (
    <>
      {facts.length > 0 && (
        <dl class="facts">
          {facts.map((k) => (
            <>
              <dt>{k}</dt>
              <dd>{scalar(value[k])}</dd>
            </>
          ))}
        </dl>
      )}
      {description(ctx, value.description)}
    </>
  );
}

function componentSections(ctx: Ctx, kinds: Array<{ kind: ComponentKind; title: string; id: string; names: string[] }>): Child {
  const components = ctx.doc.components as Json;
  return (
    <>
      {kinds.map((k) => (
        <section>
          <h3 id={k.id}>{k.title}</h3>
          {k.names.slice(0, ANCHORED_PER_KIND).map((name) => {
            const id = ctx.anchors.get(`#/components/${k.kind}/${escapeSegment(name)}`)!;
            return (
              <section class="component">
                <h4 id={id}>
                  <code>{name}</code>
                </h4>
                {spend(ctx) ? componentBody(ctx, k.kind, components[k.kind][name]) : <p class="muted">Not shown (the reference is bounded).</p>}
              </section>
            );
          })}
          {k.names.length > ANCHORED_PER_KIND && <p class="muted">{`… ${k.names.length - ANCHORED_PER_KIND} more ${k.title.toLowerCase()} not shown (the reference is bounded)`}</p>}
        </section>
      ))}
    </>
  );
}

/**
 * A server-rendered API reference of any OpenAPI 3.x document: overview and servers, operations
 * grouped by tag (parameters, request body and responses with their schemas as nested lists),
 * then the components, `$ref`s linking to them. Needs no script and no style beyond the console's
 * stylesheet. Bounded: nesting is cut at `maxDepth`, at most `maxNodes` parts and a fixed amount
 * of description text are rendered, and what is cut is counted ("… N more"), so a hostile or
 * huge document cannot blow up the page.
 */
export function ApiReference(props: ApiReferenceProps) {
  const doc: Json = isObject(props.document) ? props.document : {};
  const maxNodes = props.maxNodes ?? 3_000;
  const ctx: Ctx = { doc, prefix: props.idPrefix ?? 'ref', nodes: Math.floor(maxNodes * OPERATIONS_SHARE), chars: TOTAL_TEXT_CHARS, maxDepth: props.maxDepth ?? 10, anchors: new Map(), ids: new Set() };
  const components = isObject(doc.components) ? doc.components : {};
  const kinds = COMPONENT_KINDS.filter(([kind]) => isObject(components[kind]) && Object.keys(components[kind]).length > 0).map(([kind, title]) => {
    const names = Object.keys(components[kind]);
    for (const name of names.slice(0, ANCHORED_PER_KIND)) ctx.anchors.set(`#/components/${kind}/${escapeSegment(name)}`, uniqueId(ctx, kind, name));
    return { kind, title, id: uniqueId(ctx, 'components', kind), names };
  });
  const info = isObject(doc.info) ? doc.info : {};
  const servers = Array.isArray(doc.servers) ? doc.servers.filter(isObject) : [];
  const groups = groupByTag(doc, operationsOf(doc));
  const groupIds = groups.map((g) => uniqueId(ctx, 'tag', g.name));
  const ids = { overview: uniqueId(ctx, 'overview'), operations: uniqueId(ctx, 'operations'), components: uniqueId(ctx, 'components') };

  const overview = (
    <section aria-labelledby={ids.overview}>
      <h2 id={ids.overview}>Overview</h2>
      <dl class="facts">
        <dt>Title</dt>
        <dd>{clip(ctx, info.title, 300) ?? 'untitled'}</dd>
        <dt>Version</dt>
        <dd>{typeof info.version === 'string' ? scalar(info.version) : 'not given'}</dd>
        <dt>OpenAPI</dt>
        <dd>{typeof doc.openapi === 'string' ? scalar(doc.openapi) : 'not given'}</dd>
        {isObject(info.contact) && (typeof info.contact.name === 'string' || typeof info.contact.email === 'string') && (
          <>
            <dt>Contact</dt>
            <dd>{[info.contact.name, info.contact.email].filter((v) => typeof v === 'string').map(scalar).join(' · ')}</dd>
          </>
        )}
      </dl>
      {description(ctx, info.description)}
      <h3>Servers</h3>
      {servers.length === 0 ? (
        <p class="muted">No servers listed.</p>
      ) : (
        <ul>
          {servers.slice(0, 20).map((s) => (
            <li>
              <code>{scalar(s.url)}</code> {typeof s.description === 'string' && <span>— {clip(ctx, s.description, 300)}</span>}
            </li>
          ))}
          {more(servers.length - 20, 'servers')}
        </ul>
      )}
    </section>
  );
  const operationsView = operations(ctx, groups, groupIds);
  // What the operations left of their share goes to the components.
  ctx.nodes += maxNodes - Math.floor(maxNodes * OPERATIONS_SHARE);
  const componentsView = componentSections(ctx, kinds);
  return (
    <div class="api-reference">
      <nav aria-label="API reference contents">
        <ul>
          <li><a href={`#${ids.overview}`}>Overview</a></li>
          <li>
            <a href={`#${ids.operations}`}>Operations</a>
            {groups.length > 0 && (
              <ul>
                {groups.slice(0, TAGS_SHOWN).map((g, i) => (
                  <li><a href={`#${groupIds[i]}`}>{g.name}</a> <span class="muted">({g.ops.length})</span></li>
                ))}
              </ul>
            )}
          </li>
          {kinds.length > 0 && (
            <li>
              <a href={`#${ids.components}`}>Components</a>
              <ul>
                {kinds.map((k) => (
                  <li><a href={`#${k.id}`}>{k.title}</a> <span class="muted">({k.names.length})</span></li>
                ))}
              </ul>
            </li>
          )}
        </ul>
      </nav>
      {overview}
      <section aria-labelledby={ids.operations}>
        <h2 id={ids.operations}>Operations</h2>
        {groups.length === 0 ? <p class="muted">The document defines no operations.</p> : operationsView}
      </section>
      {kinds.length > 0 && (
        <section aria-labelledby={ids.components}>
          <h2 id={ids.components}>Components</h2>
          {componentsView}
        </section>
      )}
    </div>
  );
}
