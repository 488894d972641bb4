import { createRoute, OpenAPIHono, z, type RouteConfig } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import type { Role } from '../auth/principal.ts';
import type { Scope } from '../auth/scopes.ts';
import { AccordError, ERROR_STATUS, type ErrorCode } from '../errors.ts';
import { fieldErrors, parseInput } from '../lib/validate.ts';
import type { AppEnv } from './env.ts';
import { jsonBody } from './request.ts';

/**
 * One definition per operation (ADR 0015): method, path, operationId, tags, summary, the roles
 * and token scope it needs, and zod schemas for its parameters, body and every response. Its
 * router serves it with `serve`, which validates the input from the same schemas; the served
 * /openapi.json is generated from the definitions, and authentication enforces roles and scope
 * from them (src/http/api.ts).
 */

const ERROR_CODES = Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]];

/** RFC 9457 problem details, Accord's one error shape. */
export const Problem = z
  .looseObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    code: z.enum(ERROR_CODES),
    requestId: z.string().optional(),
    errors: z.array(z.object({ location: z.string(), message: z.string(), rule: z.string().optional(), path: z.string().optional(), line: z.number().int().optional(), column: z.number().int().optional() })).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details; `errors` lists validation findings (JSON pointer or parameter name; `path`: the file of an import)' });

/** A problem response. */
export const problem = { description: 'Problem (RFC 9457)', content: { 'application/problem+json': { schema: Problem } } };

/** A JSON response with `schema`. */
export function json<S extends z.ZodType>(schema: S, description = 'OK') {
  return { description, content: { 'application/json': { schema } } };
}

/** A JSON request body with `schema` (required unless told otherwise). */
export function jsonBodyOf<S extends z.ZodType>(schema: S, required = true) {
  return { required, content: { 'application/json': { schema } } };
}

/** A path parameter schema with its description. */
export function pathParam(description: string) {
  return z.string().meta({ description });
}

/** What a caller's input failed as: the problem's code and detail when the body or parameters do not fit. */
export interface InvalidInput {
  /** The code of a body that does not fit (default 422 invalid_document). */
  code?: ErrorCode;
  /** The detail of a body that does not fit (default "Invalid request body"). */
  detail?: string;
  /** The detail of parameters that do not fit (default: names them and the first finding). */
  parameters?: string;
}

type Spec = Omit<RouteConfig, 'security' | 'operationId' | 'tags' | 'summary'> & {
  operationId: string;
  tags: [string, ...string[]];
  summary: string;
  /** Who may call it; `public` operations need no token. */
  roles: readonly Role[] | 'public';
  /** The token scope it needs (secured operations). */
  scope?: Scope;
  /** Problem code and detail of a body that does not fit its schema (default 422 "Invalid request body"). */
  invalid?: InvalidInput;
};

const INVALID = new WeakMap<object, InvalidInput>();

/**
 * Defines an operation. Secured ones get the bearer scheme, `x-accord-roles`, `x-accord-scope`
 * and the 401, 403 and 429 problems every authenticated call can answer.
 */
export function defineOperation<const S extends Spec>(spec: S) {
  const { roles, scope, invalid, responses, ...route } = spec;
  const secured = roles !== 'public';
  if (secured && !scope) throw new Error(`${spec.operationId} needs a scope`);
  const defined = createRoute({
    ...route,
    security: secured ? [{ bearer: [] }] : [],
    ...(secured ? { 'x-accord-roles': roles, 'x-accord-scope': scope } : {}),
    responses: {
      // Every body can be refused for its media type, its syntax and its size before it is read.
      ...(route.request?.body ? { 400: problem, 413: problem, 415: problem } : {}),
      ...responses,
      ...(secured ? { 401: problem, 403: problem, 429: problem, default: problem } : {}),
    },
  } as RouteConfig & Omit<S, 'roles' | 'scope' | 'invalid'>);
  if (invalid) INVALID.set(defined, invalid);
  return defined as typeof defined & Pick<S, 'method' | 'path' | 'request' | 'responses'>;
}

type Out<T> = T extends z.ZodType ? z.output<T> : undefined;
type RequestOf<R> = R extends { request: infer Q } ? Q : undefined;
type JsonSchemaOf<B> = B extends { content: { 'application/json': { schema: infer S } } } ? S : undefined;

/** The validated input of an operation: path parameters, query and JSON body, typed from its schemas. */
export interface OperationInput<R> {
  params: Out<RequestOf<R> extends { params: infer P } ? P : undefined>;
  query: Out<RequestOf<R> extends { query: infer Q } ? Q : undefined>;
  body: Out<JsonSchemaOf<RequestOf<R> extends { body: infer B } ? B : undefined>>;
}

/** A router of operations (OpenAPIHono: it validates parameters and query; /openapi.json comes from src/http/api.ts). */
export function operationsRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>();
}

/**
 * Serves `operation` on `app`: parameters and query are validated with its schemas by
 * @hono/zod-openapi; a JSON body is read once, has to be a JSON object (415 or 400 otherwise, as
 * everywhere in Accord) and is validated here with its schema. `handler` gets them typed.
 */
export function serve<R extends RouteConfig>(app: OpenAPIHono<AppEnv>, operation: R, handler: (c: Context<AppEnv>, input: OperationInput<R>) => Response | Promise<Response>): void {
  const invalid = INVALID.get(operation) ?? {};
  const body = operation.request?.body;
  const jsonSchema = (body?.content?.['application/json'] as { schema?: unknown } | undefined)?.schema;
  const middleware: MiddlewareHandler<AppEnv>[] = [];
  if (jsonSchema instanceof z.ZodType) middleware.push(jsonObject(jsonSchema, body?.required === true, invalid));
  // The body is not handed to the library: its validator would parse the text a second time and
  // answer media-type problems in its own words.
  app.openapi(
    { ...operation, request: { ...operation.request, body: undefined }, middleware },
    ((c: Context<AppEnv>) => handler(c, { params: c.req.valid('param' as never), query: c.req.valid('query' as never), body: c.req.valid('json' as never) } as OperationInput<R>)) as never,
    ((result: { success: boolean; error?: z.ZodError; target: string }) => {
      if (result.success) return;
      const errors = fieldErrors(result.error!, 'parameters');
      const names = [...new Set(errors.map((e) => e.location.split('.')[0]))];
      throw new AccordError('bad_request', invalid.parameters ?? `Invalid ${result.target === 'param' ? 'path' : 'query'} parameter${names.length > 1 ? 's' : ''} ${names.join(', ')}: ${errors[0]!.message}`, { errors });
    }) as never,
  );
}

/**
 * Accord's JSON body rules, then the schema: 415 unless application/json, 400 unless a JSON
 * object, 422 (or the operation's code) unless it fits. An optional body may be left out (no
 * Content-Type, or an empty body).
 */
function jsonObject(schema: z.ZodType, required: boolean, invalid: InvalidInput): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!required && (c.req.header('content-length') === '0' || !c.req.header('content-type'))) {
      c.req.addValidatedData('json', {});
      return next();
    }
    c.req.addValidatedData('json', parseInput(schema, await jsonBody(c), { code: invalid.code, detail: invalid.detail ?? 'Invalid request body' }) as object);
    await next();
  };
}
