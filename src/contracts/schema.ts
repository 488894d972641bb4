import { newAjv2020, type ValidateFunction } from '../lib/ajv.ts';
import { isObject } from '../lib/json.ts';
import type { OpenApiDocument } from './document.ts';


/**
 * Rewrites OpenAPI 3.0 schema dialect into JSON Schema 2020-12 in place: `nullable: true`
 * becomes a `null` type, boolean `exclusiveMinimum`/`exclusiveMaximum` become numbers.
 * 3.1 documents already use JSON Schema and are left as they are.
 */
function normalise30(node: unknown): void {
  const stack = [node];
  while (stack.length > 0) {
    const n = stack.pop();
    if (Array.isArray(n)) {
      stack.push(...n);
      continue;
    }
    if (!isObject(n)) continue;
    if (n.nullable === true) {
      if (typeof n.type === 'string') n.type = [n.type, 'null'];
      else if (Array.isArray(n.enum) && !n.enum.includes(null)) n.enum = [...n.enum, null];
      delete n.nullable;
    }
    for (const [flag, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
      if (typeof n[flag] === 'boolean') {
        if (n[flag] === true && typeof n[bound] === 'number') {
          n[flag] = n[bound];
          delete n[bound];
        } else delete n[flag];
      }
    }
    stack.push(...Object.values(n));
  }
}


/**
 * Validators for the schemas inside one contract: the whole document is registered with ajv
 * (formats on, unknown OpenAPI keywords ignored), so local `#/components/…` references
 * resolve, and any schema in it is compiled on demand by its JSON pointer.
 */
export class ContractSchemas {
  private readonly ajv = newAjv2020({ strict: false, allErrors: true, validateFormats: true }, true);
  private readonly cache = new Map<string, ValidateFunction>();
  private static next = 0;
  private readonly id = `urn:accord:contract:${ContractSchemas.next++}`;

  private readonly openapi30: boolean;

  constructor(readonly document: OpenApiDocument) {
    const doc = document;
    const copy = structuredClone(doc) as Record<string, unknown>;
    this.openapi30 = typeof doc.openapi === 'string' && doc.openapi.startsWith('3.0');
    if (this.openapi30) normalise30(copy);
    delete copy.$schema;
    delete copy.$id;
    this.ajv.addSchema(copy, this.id);
  }

  private readonly inline = new WeakMap<object, ValidateFunction>();

  /**
   * A validator for a schema object taken from this document (e.g. a resolved parameter's
   * schema): its local `#/…` references are pointed at the document.
   */
  compileInline(schema: object): ValidateFunction {
    let validate = this.inline.get(schema);
    if (!validate) {
      const rewrite = (node: unknown): unknown => {
        if (Array.isArray(node)) return node.map(rewrite);
        if (!isObject(node)) return node;
        return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#') ? `${this.id}${v}` : rewrite(v)]));
      };
      const copy = rewrite(structuredClone(schema)) as Record<string, unknown>;
      if (this.openapi30) normalise30(copy);
      validate = this.ajv.compile(copy);
      this.inline.set(schema, validate);
    }
    return validate;
  }

  /** The validator for the schema at `pointer` (e.g. `/components/schemas/Member`). */
  validator(pointer: string): ValidateFunction {
    let validate = this.cache.get(pointer);
    if (!validate) {
      validate = this.ajv.compile({ $ref: `${this.id}#${pointer.split('/').map((s) => encodeURIComponent(s).replace(/%2F/g, '/')).join('/')}` });
      this.cache.set(pointer, validate);
    }
    return validate;
  }
}
