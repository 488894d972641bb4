import type { Child } from 'hono/jsx';
import { HTTP_METHODS } from '../../contracts/operations.ts';
import { resolveLocal } from '../../contracts/document.ts';
import { escapeSegment, isObject, type Json } from '../../lib/json.ts';
import { clip, type Ctx, description, more, OPERATIONS_SHARE, scalar, schemaTree, spend, TAGS_SHOWN, TOTAL_TEXT_CHARS, uniqueId } from './api-schema.tsx';
import { parameterTable, requestBody, response, responses } from './api-messages.tsx';

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
