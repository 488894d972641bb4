import type { Config } from '../config.ts';
import { newAjv2020, type ErrorObject, type ValidateFunction } from '../lib/ajv.ts';
import { byteBoundedCaches } from '../lib/byte-cache.ts';
import { forEachObject, isObject } from '../lib/json.ts';
import type { OpenApiDocument } from './document.ts';
import { cycleReachedFrom, schemaGraph, type SchemaGraph } from './schema-graph.ts';


/**
 * Rewrites OpenAPI 3.0 schema dialect into JSON Schema 2020-12 in place: `nullable: true`
 * becomes a `null` type, boolean `exclusiveMinimum`/`exclusiveMaximum` become numbers.
 * 3.1 documents already use JSON Schema and are left as they are.
 */
function normalise30(node: unknown): void {
  forEachObject(node, (n) => {
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
  });
}


/**
 * Rewrites, in place, what ajv cannot see: it ignores a property named `__proto__` in
 * `properties`, `dependentRequired` and `dependentSchemas` (to protect itself), so such a
 * property would go unchecked and `additionalProperties: false` would refuse it. The same
 * constraints are restated with keywords ajv applies to every own key: `patternProperties`
 * anchored on the exact name, and `if: {required: [__proto__]}` for the dependencies.
 */
function restateProtoProperties(node: unknown): void {
  const PROTO = '__proto__';
  forEachObject(node, (n) => {
    const conditions: unknown[] = [];
    if (isObject(n.properties) && Object.hasOwn(n.properties, PROTO)) {
      const patterns = isObject(n.patternProperties) ? n.patternProperties : (n.patternProperties = {});
      const exact = '^__proto__$';
      patterns[exact] = Object.hasOwn(patterns, exact) ? { allOf: [patterns[exact], n.properties[PROTO]] } : n.properties[PROTO];
      delete n.properties[PROTO];
    }
    if (isObject(n.dependentRequired) && Object.hasOwn(n.dependentRequired, PROTO)) {
      conditions.push({ if: { required: [PROTO] }, then: { required: n.dependentRequired[PROTO] } });
      delete n.dependentRequired[PROTO];
    }
    if (isObject(n.dependentSchemas) && Object.hasOwn(n.dependentSchemas, PROTO)) {
      conditions.push({ if: { required: [PROTO] }, then: n.dependentSchemas[PROTO] });
      delete n.dependentSchemas[PROTO];
    }
    if (conditions.length > 0) n.allOf = [...(Array.isArray(n.allOf) ? n.allOf : []), ...conditions];
  });
}

/** A validator that refuses every value with one error (a schema that cannot be checked). */
function refusing(message: string): ValidateFunction {
  const error: ErrorObject = { instancePath: '', schemaPath: '#', keyword: 'self-reference', params: {}, message };
  return Object.assign(() => false, { errors: [error] }) as unknown as ValidateFunction;
}

/**
 * Validators for the schemas inside one contract: the whole document is registered with ajv
 * (formats on, unknown OpenAPI keywords ignored), so local `#/components/…` references
 * resolve, and any schema in it is compiled on demand by its JSON pointer, once.
 *
 * A schema that can reach a schema referring only to itself (A → A; registration refuses
 * those, but an older release may have stored one) gets a validator that refuses every value,
 * naming the cycle, instead of one that recurses until the stack is exhausted.
 */
export class ContractSchemas {
  // Validation stops at the first problem: with allErrors, one large invalid body (every item of a
  // 2-million-item array) cost minutes of CPU and most of a gigabyte in error objects. Every
  // problem is listed only on request (detailedValidator), for bodies small enough to afford it.
  private readonly ajv = newAjv2020({ strict: false, allErrors: false, validateFormats: true }, true);
  private detailedAjv: ReturnType<typeof newAjv2020> | undefined;
  private readonly schemaCopy: Record<string, unknown>;
  private readonly cache = new Map<string, ValidateFunction>();
  private readonly detailed = new Map<string, ValidateFunction>();
  private readonly inline = new WeakMap<object, ValidateFunction>();
  private static next = 0;
  private readonly id = `urn:accord:contract:${ContractSchemas.next++}`;
  private readonly openapi30: boolean;
  private readonly graph: SchemaGraph;

  constructor(readonly document: OpenApiDocument) {
    const doc = document;
    const copy = structuredClone(doc) as Record<string, unknown>;
    this.openapi30 = typeof doc.openapi === 'string' && doc.openapi.startsWith('3.0');
    this.graph = schemaGraph(doc);
    if (this.openapi30) normalise30(copy);
    restateProtoProperties(copy);
    delete copy.$schema;
    delete copy.$id;
    this.schemaCopy = copy;
    this.ajv.addSchema(copy, this.id);
  }

  /** The refusing validator for a schema that reaches a self-only cycle, or undefined. */
  private cycleGuard(start: { pointer: string } | { schema: unknown }): ValidateFunction | undefined {
    const cycle = cycleReachedFrom(this.document, this.graph, start);
    return cycle && refusing(`cannot be checked: the contract's schema ${cycle.join(' → ')} refers only to itself`);
  }

  /**
   * A validator for a schema object taken from this document (e.g. a resolved parameter's
   * schema): its local `#/…` references are pointed at the document.
   */
  compileInline(schema: object): ValidateFunction {
    let validate = this.inline.get(schema);
    if (!validate) {
      validate = this.cycleGuard({ schema });
      if (!validate) {
        const rewrite = (node: unknown): unknown => {
          if (Array.isArray(node)) return node.map(rewrite);
          if (!isObject(node)) return node;
          return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#') ? `${this.id}${v}` : rewrite(v)]));
        };
        const copy = rewrite(structuredClone(schema)) as Record<string, unknown>;
        if (this.openapi30) normalise30(copy);
        restateProtoProperties(copy);
        validate = this.ajv.compile(copy);
      }
      this.inline.set(schema, validate);
    }
    return validate;
  }

  /** The validator for the schema at `pointer` (e.g. `/components/schemas/Member`); it reports the first problem. */
  validator(pointer: string): ValidateFunction {
    return this.compiled(this.cache, this.ajv, pointer);
  }

  /** A validator for the schema at `pointer` that reports every problem (compiled on first use). */
  detailedValidator(pointer: string): ValidateFunction {
    if (!this.detailedAjv) {
      this.detailedAjv = newAjv2020({ strict: false, allErrors: true, validateFormats: true }, true);
      this.detailedAjv.addSchema(this.schemaCopy, this.id);
    }
    return this.compiled(this.detailed, this.detailedAjv, pointer);
  }

  private compiled(cache: Map<string, ValidateFunction>, ajv: ReturnType<typeof newAjv2020>, pointer: string): ValidateFunction {
    let validate = cache.get(pointer);
    if (!validate) {
      validate = this.cycleGuard({ pointer }) ?? ajv.compile({ $ref: `${this.id}#${pointer.split('/').map((s) => encodeURIComponent(s).replace(/%2F/g, '/')).join('/')}` });
      cache.set(pointer, validate);
    }
    return validate;
  }
}

/**
 * Estimated bytes of a ContractSchemas per byte of the contract's canonical YAML, once the
 * validators of every operation are compiled (V8 heap after GC, measured: 13.4 for the 24 KB
 * reference contract, 17.9–18.9 for 0.5–2 MB contracts), plus the parsed document it keeps alive
 * (see PARSED_BYTES_PER_YAML_BYTE); rounded up.
 */
export const CONTRACT_SCHEMAS_BYTES_PER_YAML_BYTE = 32;

/** A service's ContractSchemas by content hash, bounded by estimated bytes. */
export const contractSchemasCache = byteBoundedCaches<ContractSchemas>(CONTRACT_SCHEMAS_BYTES_PER_YAML_BYTE);

/**
 * The validators of a contract version, shared by every route table that serves it and kept
 * in a cache bounded by `config.cacheMaxBytes` (least recently used first out).
 * @param sha256 the version's content hash (versions are immutable)
 * @param yamlBytes the size of its canonical YAML, for the estimate
 * @param document its parsed document, used when the validators are not cached (callers then
 *   read operations from `.document`, so that one parse of the version stays alive, not two)
 */
export function contractSchemasOf(config: Pick<Config, 'cacheMaxBytes'>, sha256: string, yamlBytes: number, document: OpenApiDocument): ContractSchemas {
  const cache = contractSchemasCache(config);
  let schemas = cache.get(sha256)?.value;
  if (!schemas) {
    schemas = new ContractSchemas(document);
    cache.set(sha256, { value: schemas, sourceBytes: yamlBytes });
  }
  return schemas;
}
