import jsyaml from 'js-yaml';
import { AccordError } from '../errors.ts';

/** Most nodes a document may have once every alias is expanded (guards against alias bombs). */
export const MAX_EXPANDED_NODES = 1_000_000;

/**
 * Refuses documents whose aliases are used more than `maxAliases` times or whose expansion
 * would exceed MAX_EXPANDED_NODES. js-yaml shares aliased nodes by reference, so the check
 * walks the shared graph once (memoised) instead of expanding it.
 */
function assertBoundedAliases(root: unknown, maxAliases: number): void {
  if (typeof root !== 'object' || root === null) return;
  const refuse = (message: string) => new AccordError('invalid_document', `The YAML ${message}`, { errors: [{ location: '', message }] });
  /** Expanded node count of every finished node; a node on the current path has no entry yet. */
  const expanded = new Map<object, number>();
  const onPath = new Set<object>();
  let aliasUses = 0;
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
        if (++aliasUses > maxAliases) throw refuse(`uses aliases more than ${maxAliases} times`);
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
  try {
    data = jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA });
  } catch (error) {
    const mark = (error as { mark?: { line: number; column: number } }).mark;
    const reason = (error as { reason?: string }).reason ?? (error as Error).message;
    throw new AccordError('invalid_document', 'The body is not valid YAML', {
      errors: [{ location: mark ? `line ${mark.line + 1}, column ${mark.column + 1}` : '', message: reason }],
    });
  }
  assertBoundedAliases(data, options.maxAliases);
  return data;
}

/**
 * Serialises data as YAML with fixed options: no anchors, no line folding, key order kept, and
 * (default schema) strings that YAML 1.1 readers would take as dates or booleans quoted.
 */
export function dumpYaml(data: unknown): string {
  return jsyaml.dump(data, { noRefs: true, lineWidth: -1, indent: 2, sortKeys: false });
}
