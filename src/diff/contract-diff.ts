import type { OpenApiDocument } from '../contracts/document.ts';
import { isObject } from '../lib/json.ts';
import { reporter, type DeprecationPolicy, type DiffEngine, type Emit, type OperationContext } from './context.ts';
import { compareDocument, versionPolicy } from './document.ts';
import { compareOperations } from './operations.ts';
import { applyLevels, levelOf } from './rules/index.ts';
import { SchemaDiffer } from './schema-diff.ts';
import { RefResolver, type SchemaNode } from './schema-node.ts';
import { schemaContext, schemaRuleId, type SchemaRoot } from './schema-ids.ts';
import { compareSecurity } from './security.ts';
import { LEVEL_ORDER, summarise, type Change, type DiffResult, type Direction, type Level } from './types.ts';

export type { DeprecationPolicy, OperationContext } from './context.ts';

export interface DiffOptions {
  /** "Now" for sunset dates (inject for tests). */
  now?: Date;
  /**
   * Level overrides by rule id or former id (policy.yaml `diff.levels`): e.g. raise
   * `api-security-added` to breaking, or lower `request-parameter-removed` to info.
   */
  levels?: Record<string, Level>;
  /** Sunset requirements for deprecations (policy.yaml `diff.deprecation`); oasdiff's defaults when absent. */
  deprecation?: DeprecationPolicy;
  /**
   * Report oasdiff's versioning checks (`api-version-not-bumped`…: a breaking change without a
   * major `info.version` increase). Off by default: registration already refuses such a version.
   */
  versionPolicy?: boolean;
}

/**
 * Compares two OpenAPI 3.x documents operation by operation and classifies every difference
 * that can affect a partner: breaking, warning (needs review) or info, with oasdiff's check ids
 * and levels (src/diff/rules) unless the policy's `levels` say otherwise. Pure: the same
 * documents and options give the same result. Documents need not be strictly valid.
 */
export function diffContracts(baseDoc: unknown, revisionDoc: unknown, options: DiffOptions = {}): DiffResult {
  const now = options.now ?? new Date();
  const base = (isObject(baseDoc) ? baseDoc : {}) as OpenApiDocument;
  const rev = (isObject(revisionDoc) ? revisionDoc : {}) as OpenApiDocument;
  const schemas = new SchemaDiffer(base, rev, { now, requireSunset: options.deprecation?.requireSunset ?? false });
  const baseRefs = new RefResolver(base);
  const revRefs = new RefResolver(rev);
  const changes: Change[] = [];
  // Findings of draft and alpha operations: never breaking, whatever the policy raises.
  const unstable = new Set<Change>();

  const emit: Emit = (ctx, rule, level, direction, location, message, subject) => {
    const change: Change = {
      rule,
      level: ctx?.unstable && level !== 'info' ? 'info' : level,
      direction,
      ...(ctx ? { method: ctx.method, path: ctx.path, ...(ctx.operationId ? { operationId: ctx.operationId } : {}), ...(ctx.summary ? { summary: ctx.summary } : {}) } : {}),
      ...(subject ? { subject } : {}),
      location,
      message,
    };
    changes.push(change);
    if (ctx?.unstable) unstable.add(change);
  };

  /**
   * Emits every finding reachable from the schema roots of one operation and direction, under
   * the rule id its position gives it (src/diff/schema-ids.ts) and that rule's level. A schema
   * reached from several roots of the same kind is reported once.
   */
  const gather = (ctx: OperationContext, direction: Direction, roots: SchemaRoot[], unstable: boolean) => {
    const seen = new Map<string, Set<SchemaNode>>();
    for (const root of roots) {
      const context = schemaContext(root);
      if (!seen.has(context)) seen.set(context, new Set());
      const visited = seen.get(context)!;
      const stack = [root.node];
      while (stack.length > 0) {
        const node = stack.pop()!;
        if (visited.has(node)) continue;
        visited.add(node);
        for (const f of node.findings) {
          const rule = schemaRuleId(direction, root, node === root.node, f);
          if (rule === undefined) continue;
          const level = levelOf(rule);
          const where = !f.child && f.property ? ` ${f.property}` : '';
          const subject = f.subject === undefined ? root.subject : root.target === 'body' ? f.subject : `${root.subject} ${f.subject}`;
          emit(ctx, rule, unstable && level === 'breaking' ? 'info' : level, direction, f.location, `${root.subject}${where}: ${f.detail}`, subject);
        }
        for (const child of node.children) stack.push(child);
      }
    }
  };

  const engine: DiffEngine = { base, rev, schemas, baseRefs, revRefs, now, deprecation: options.deprecation ?? {}, emit, gather, report: reporter(emit), findings: () => changes.length };
  compareOperations(engine);
  compareSecurity(engine);
  compareDocument(engine);

  const levelled = applyLevels(changes, options.levels).map((c, i) => (unstable.has(changes[i]!) ? changes[i]! : c));
  const version = options.versionPolicy ? versionPolicy(base, rev, levelled) : undefined;
  if (version) levelled.push(...applyLevels([version], options.levels));
  levelled.sort((a, b) => LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level] || (a.path ?? '').localeCompare(b.path ?? '') || (a.method ?? '').localeCompare(b.method ?? '') || a.location.localeCompare(b.location));
  return summarise(levelled);
}
