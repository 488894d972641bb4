import jsyaml from 'js-yaml';
import { AccordError } from '../errors.ts';
import { nestedDeeperThan } from './json.ts';

/** Most nodes a document may have once every alias is expanded (guards against alias bombs). */
export const MAX_EXPANDED_NODES = 1_000_000;
/** Most characters that aliases of scalars may add (at least; or the document's own length). */
export const MAX_SCALAR_ALIAS_CHARS = 1_048_576;
/** Deepest nesting accepted in a document (deeper input would exhaust the stack). */
export const MAX_DEPTH = 256;

/**
 * Refuses documents whose aliases are used more than `maxAliases` times or whose expansion
 * would exceed MAX_EXPANDED_NODES. js-yaml shares aliased nodes by reference, so the check
 * walks the shared graph once (memoised) instead of expanding it.
 */
function assertBoundedAliases(root: unknown): void {
  if (typeof root !== 'object' || root === null) return;
  const refuse = (message: string) => new AccordError('invalid_document', `The YAML ${message}`, { errors: [{ location: '', message }] });
  /** Expanded node count of every finished node; a node on the current path has no entry yet. */
  const expanded = new Map<object, number>();
  const onPath = new Set<object>();
  const stack: Array<{ node: object; children: unknown[]; next: number; size: number }> = [];
  const enter = (node: object) => {
    onPath.add(node);
    stack.push({ node, children: Object.values(node), next: 0, size: 1 });
  };
  enter(root);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.next < frame.children.length) {
      const child = frame.children[frame.next++];
      if (typeof child !== 'object' || child === null) {
        frame.size++;
      } else if (onPath.has(child)) {
        throw refuse('has a recursive alias');
      } else if (expanded.has(child)) {
        frame.size += expanded.get(child)!;
      } else {
        enter(child);
      }
      continue;
    }
    stack.pop();
    onPath.delete(frame.node);
    if (frame.size > MAX_EXPANDED_NODES) throw refuse(`expands to more than ${MAX_EXPANDED_NODES} nodes through aliases`);
    expanded.set(frame.node, frame.size);
    if (stack.length > 0) stack[stack.length - 1]!.size += frame.size;
  }
}

/**
 * Parses YAML 1.2 (core schema: no timestamps, no custom tags, duplicate keys refused) into
 * plain data, with alias use bounded. Errors are 422 with a line/column location.
 */
export function parseYaml(text: string, options: { maxAliases: number }): unknown {
  let data: unknown;
  // js-yaml reports each node's start and end; a node whose text starts with "*" is an alias.
  const starts: number[] = [];
  let aliasUses = 0;
  let scalarAliasChars = 0;
  const scalarBudget = Math.max(MAX_SCALAR_ALIAS_CHARS, text.length);
  const listener = (event: 'open' | 'close', state: { position: number; result: unknown }) => {
    if (event === 'open') {
      starts.push(state.position);
      return;
    }
    let i = starts.pop()!;
    for (let ch = text.charCodeAt(i); ch === 0x20 || ch === 0x0a || ch === 0x0d || ch === 0x09; ch = text.charCodeAt(++i));
    if (text.charCodeAt(i) !== 0x2a /* * */ || i >= state.position) return;
    if (++aliasUses > options.maxAliases) throw new AccordError('invalid_document', `The YAML uses aliases more than ${options.maxAliases} times`, { errors: [{ location: '', message: `at most ${options.maxAliases} alias uses are allowed` }] });
    if (typeof state.result === 'string' && (scalarAliasChars += state.result.length) > scalarBudget) {
      throw new AccordError('invalid_document', `The YAML expands to more than ${scalarBudget} characters through aliases`, { errors: [{ location: '', message: 'alias expansion too large' }] });
    }
  };
  try {
    data = jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA, listener: listener as never });
  } catch (error) {
    if (error instanceof AccordError) throw error;
    const mark = (error as { mark?: { line: number; column: number } }).mark;
    const reason = (error as { reason?: string }).reason ?? (error as Error).message;
    throw new AccordError('invalid_document', 'The body is not valid YAML', {
      errors: [{ location: mark ? `line ${mark.line + 1}, column ${mark.column + 1}` : '', message: reason }],
    });
  }
  assertBoundedAliases(data);
  assertDepth(data);
  return data;
}

/** Refuses data nested deeper than MAX_DEPTH (iteratively, so the check itself cannot overflow). */
export function assertDepth(data: unknown): void {
  if (nestedDeeperThan(data, MAX_DEPTH)) throw new AccordError('invalid_document', `The document is nested deeper than ${MAX_DEPTH} levels`, { errors: [{ location: '', message: `at most ${MAX_DEPTH} levels of nesting` }] });
}

/**
 * Serialises data as YAML with fixed options: no anchors, no line folding, key order kept, and
 * (default schema) strings that YAML 1.1 readers would take as dates or booleans quoted.
 */
export function dumpYaml(data: unknown): string {
  return jsyaml.dump(data, { noRefs: true, lineWidth: -1, indent: 2, sortKeys: false });
}
