import type { FieldError } from '../errors.ts';
import { escapeSegment, isObject, pointerOfFragment, valueAt } from '../lib/json.ts';

/**
 * The references and in-place applicators of a document as a graph over JSON pointers, to find
 * local `$ref`s that point to nothing and schemas that only refer to themselves.
 *
 * An in-place applicator applies a subschema to the same instance: `$ref`, `$dynamicRef`,
 * `allOf`, `anyOf`, `oneOf`, `not`, `if`/`then`/`else`, `dependentSchemas`. A cycle made only of
 * those (A → A, A → B → A, `allOf: [self]`) never consumes instance depth, so validating against
 * it recurses forever. Cycles through a keyword that descends into the instance (`properties`,
 * `items`, `prefixItems`, `additionalProperties`, `patternProperties`, `contains`, …) are
 * ordinary recursion (a tree node with children) and are not edges here.
 */

const IN_PLACE_LISTS = ['allOf', 'anyOf', 'oneOf'] as const;
const IN_PLACE_SINGLE = ['not', 'if', 'then', 'else'] as const;
const REFERENCES = ['$ref', '$dynamicRef'] as const;

export interface SchemaGraph {
  /** Pointer of an object → pointers of the schemas it applies in place (its local references' targets included). */
  edges: Map<string, string[]>;
  /** Local references that resolve to nothing (own properties only: `#/components/schemas/constructor` is not Object's constructor). */
  dangling: FieldError[];
  /** One cycle per group of schemas that only refer to each other, as pointers (first = last). */
  cycles: string[][];
  /** Every pointer that lies in such a group → the cycle reported for its group. */
  cycleOf: Map<string, string[]>;
  /** Plain-name fragments (`$anchor`, `$dynamicAnchor`) → the pointer of the schema naming them. */
  anchors: Map<string, string>;
}

/**
 * The pointer a local reference (`#/…` or a plain-name fragment `#name`) resolves to, or
 * undefined when it resolves to nothing in the document.
 */
function resolveFragment(doc: unknown, ref: string, anchors: Map<string, string>): string | undefined {
  const fragment = ref.slice(1);
  if (fragment !== '' && !fragment.startsWith('/')) return anchors.get(fragment);
  const pointer = pointerOfFragment(fragment);
  return pointer === undefined || valueAt(doc, pointer) === undefined ? undefined : pointer;
}

/** Builds the graph of a parsed document. Iterative throughout: huge documents cannot overflow the stack. */
export function schemaGraph(doc: unknown): SchemaGraph {
  const edges = new Map<string, string[]>();
  const anchors = new Map<string, string>();
  const pending: Array<{ at: string; keyword: string; ref: string }> = [];
  const addEdge = (from: string, to: string) => {
    const list = edges.get(from);
    if (list) list.push(to);
    else edges.set(from, [to]);
  };
  const stack: Array<[unknown, string]> = [[doc, '']];
  while (stack.length > 0) {
    const [node, at] = stack.pop()!;
    if (Array.isArray(node)) {
      node.forEach((child, i) => stack.push([child, `${at}/${i}`]));
      continue;
    }
    if (!isObject(node)) continue;
    for (const anchor of [node.$anchor, node.$dynamicAnchor]) if (typeof anchor === 'string' && !anchors.has(anchor)) anchors.set(anchor, at);
    for (const keyword of REFERENCES) {
      const ref = Object.hasOwn(node, keyword) ? node[keyword] : undefined;
      if (typeof ref === 'string' && ref.startsWith('#')) pending.push({ at, keyword, ref });
    }
    for (const keyword of IN_PLACE_LISTS) {
      const list = Object.hasOwn(node, keyword) ? node[keyword] : undefined;
      if (Array.isArray(list)) list.forEach((sub, i) => isObject(sub) && addEdge(at, `${at}/${keyword}/${i}`));
    }
    for (const keyword of IN_PLACE_SINGLE) {
      if (Object.hasOwn(node, keyword) && isObject(node[keyword])) addEdge(at, `${at}/${keyword}`);
    }
    if (Object.hasOwn(node, 'dependentSchemas') && isObject(node.dependentSchemas)) {
      for (const [name, sub] of Object.entries(node.dependentSchemas)) if (isObject(sub)) addEdge(at, `${at}/dependentSchemas/${escapeSegment(name)}`);
    }
    for (const [key, child] of Object.entries(node)) stack.push([child, `${at}/${escapeSegment(key)}`]);
  }
  const dangling: FieldError[] = [];
  for (const { at, keyword, ref } of pending) {
    const target = resolveFragment(doc, ref, anchors);
    if (target === undefined) {
      dangling.push({ location: `${at}/${keyword}`, message: `${keyword} "${ref}" points to nothing in the document`, rule: 'dangling-ref' });
    } else addEdge(at, target);
  }
  const { cycles, cycleOf } = findCycles(edges);
  return { edges, dangling, cycles, cycleOf, anchors };
}

/**
 * Strongly connected components with a cycle (Tarjan, iterative), each reported as one of its
 * cycles (see cycleThrough).
 */
function findCycles(edges: Map<string, string[]>): { cycles: string[][]; cycleOf: Map<string, string[]> } {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const root of edges.keys()) {
    if (index.has(root)) continue;
    const work: Array<{ node: string; next: number }> = [];
    const open = (node: string) => {
      index.set(node, counter);
      low.set(node, counter++);
      stack.push(node);
      onStack.add(node);
      work.push({ node, next: 0 });
    };
    open(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const out = edges.get(frame.node) ?? [];
      if (frame.next < out.length) {
        const to = out[frame.next++]!;
        if (!index.has(to)) open(to);
        else if (onStack.has(to)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]!.node;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        const selfLoop = component.length === 1 && (edges.get(frame.node) ?? []).includes(frame.node);
        if (component.length > 1 || selfLoop) components.push(component);
      }
    }
  }
  const cycles: string[][] = [];
  const cycleOf = new Map<string, string[]>();
  for (const component of components) {
    const cycle = cycleThrough(component, edges);
    cycles.push(cycle);
    for (const member of component) cycleOf.set(member, cycle);
  }
  return { cycles, cycleOf };
}

/** A shortest cycle through the component's smallest pointer, inside the component (BFS). */
function cycleThrough(component: string[], edges: Map<string, string[]>): string[] {
  const members = new Set(component);
  const start = [...component].sort()[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i]!;
    for (const to of edges.get(node) ?? []) {
      if (!members.has(to)) continue;
      if (to === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(previous.get(path[0]!)!);
        return [...path, start];
      }
      if (!previous.has(to)) {
        previous.set(to, node);
        queue.push(to);
      }
    }
  }
  return [start, start];
}

/** The findings that refuse a document: dangling local references and self-only cycles, each with its pointer. */
export function referenceFindings(graph: SchemaGraph): FieldError[] {
  return [
    ...graph.dangling,
    ...graph.cycles.map((cycle) => ({
      location: cycle[0]!,
      message: `the schema refers only to itself (${cycle.join(' → ')}) through $ref, allOf, anyOf, oneOf, not, if/then/else or dependentSchemas, never descending into the instance: validating against it would never end`,
      rule: 'self-reference',
    })),
  ];
}

/**
 * The first self-only cycle a schema can reach (its own subtree and every local reference
 * followed), or undefined. `start` is the schema's pointer, or the schema object itself when it
 * was taken from the document without one (its references are followed by pointer).
 */
export function cycleReachedFrom(doc: unknown, graph: SchemaGraph, start: { pointer: string } | { schema: unknown }): string[] | undefined {
  if (graph.cycleOf.size === 0) return undefined;
  const visited = new Set<string>();
  const stack: Array<[unknown, string | undefined]> = 'pointer' in start ? [[valueAt(doc, start.pointer), start.pointer]] : [[start.schema, undefined]];
  while (stack.length > 0) {
    const [node, at] = stack.pop()!;
    if (at !== undefined) {
      if (visited.has(at)) continue;
      visited.add(at);
      const cycle = graph.cycleOf.get(at);
      if (cycle) return cycle;
    }
    if (typeof node !== 'object' || node === null) continue;
    if (at !== undefined) for (const to of graph.edges.get(at) ?? []) stack.push([valueAt(doc, to), to]);
    else if (isObject(node)) {
      for (const keyword of REFERENCES) {
        const ref = Object.hasOwn(node, keyword) ? node[keyword] : undefined;
        if (typeof ref === 'string' && ref.startsWith('#')) {
          const pointer = resolveFragment(doc, ref, graph.anchors);
          if (pointer !== undefined) stack.push([valueAt(doc, pointer), pointer]);
        }
      }
    }
    for (const [key, child] of Object.entries(node)) stack.push([child, at === undefined ? undefined : `${at}/${escapeSegment(key)}`]);
  }
  return undefined;
}
