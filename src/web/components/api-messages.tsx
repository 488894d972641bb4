import type { Child } from 'hono/jsx';
import { resolveLocal } from '../../contracts/document.ts';
import { isObject } from '../../lib/json.ts';
import { type Ctx, description, more, refLink, scalar, schemaFacts, schemaTree, spend } from './api-schema.tsx';
import { TableWrap } from './table-wrap.tsx';

/** An operation's parameters, request body and responses, as the API reference shows them. */

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

export function parameterTable(ctx: Ctx, parameters: unknown[]): Child {
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
    <TableWrap label="Parameters">
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
    </TableWrap>
  );
}

export function requestBody(ctx: Ctx, raw: unknown): Child {
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

export function response(ctx: Ctx, raw: unknown): Child {
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

export function responses(ctx: Ctx, value: unknown): Child {
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
