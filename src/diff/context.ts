import type { SchemaRoot } from './schema-ids.ts';
import type { OpenApiDocument } from '../contracts/document.ts';
import { isObject, type Json } from '../lib/json.ts';
import { levelOf, ruleOf } from './rules/index.ts';
import type { SchemaDiffer } from './schema-diff.ts';
import type { RefResolver } from './schema-node.ts';
import type { Direction, Level } from './types.ts';

/**
 * What the parts of the contract diff (operations, bodies, lifecycle, security, document)
 * share: the two documents, their resolvers, the schema differ, the clock and the deprecation
 * policy, and the two ways to record a finding. Pure data and closures: no I/O.
 */

/** The operation a finding belongs to. */
export interface OperationContext {
  method: string;
  /** Path template, or `webhook:<name>` for a 3.1 webhook (as oasdiff names them). */
  path: string;
  operationId: string | undefined;
  /** The operation's `summary` (revision's, or base's for removals). */
  summary?: string;
  /** JSON pointer of the operation in the revision (base for removals). */
  at: string;
  /** A draft or alpha operation: it may change freely, so nothing in it is breaking or a warning. */
  unstable?: boolean;
}


/** Records a finding with an explicit level (the schema findings carry their own). */
export type Emit = (ctx: OperationContext | undefined, rule: string, level: Level, direction: Direction, location: string, message: string, subject?: string) => void;

/** Emits every finding reachable from the schema roots of one operation and direction. */
export type { SchemaRoot };
export type Gather = (ctx: OperationContext, direction: Direction, roots: SchemaRoot[], unstable: boolean) => void;

/** oasdiff's `--deprecation-days-beta` / `--deprecation-days-stable`, and whether a deprecation needs a sunset. */
export interface DeprecationPolicy {
  /**
   * A deprecated operation or parameter must carry `x-sunset` (`…-deprecated-sunset-missing`).
   * Default: whenever the minimum days for its stability level are above 0, as in oasdiff.
   */
  requireSunset?: boolean;
  /** Minimum days between deprecation and sunset, by stability level (no level counts as stable). */
  minimumDays?: { beta?: number; stable?: number };
}

export interface DiffEngine {
  base: OpenApiDocument;
  rev: OpenApiDocument;
  schemas: SchemaDiffer;
  baseRefs: RefResolver;
  revRefs: RefResolver;
  now: Date;
  deprecation: DeprecationPolicy;
  emit: Emit;
  gather: Gather;
  /** Records a finding at its rule's default level and direction (src/diff/rules). */
  report: (ctx: OperationContext | undefined, rule: string, location: string, message: string, subject: string) => void;
  /** How many findings have been recorded so far. */
  findings: () => number;
}

/** Builds `report` over `emit`: level and direction from the rule table, never literals. */
export function reporter(emit: Emit): DiffEngine['report'] {
  return (ctx, rule, location, message, subject) => emit(ctx, rule, levelOf(rule), ruleOf(rule)!.direction, location, message, subject);
}

/** The fields of an object other than the given ones and vendor extensions, as comparable JSON. */
export function remainder(node: Json | undefined, ignore: Set<string>): string {
  if (!isObject(node)) return 'null';
  return JSON.stringify(Object.fromEntries(Object.entries(node).filter(([k]) => !ignore.has(k) && !k.startsWith('x-')).sort(([a], [b]) => a.localeCompare(b))));
}

/** JSON of a value with object keys sorted, so key order is not a change. */
export function canonical(value: unknown): string {
  return JSON.stringify(value ?? null, (_, v: unknown) => (isObject(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v));
}

/** The object under `key` of a node, or an empty one. */
export function objectAt(node: unknown, key: string): Json {
  return isObject(node) && Object.hasOwn(node, key) && isObject(node[key]) ? node[key] : {};
}
