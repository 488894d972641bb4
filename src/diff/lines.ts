import jsyaml from 'js-yaml';
import { escapeSegment } from '../lib/json.ts';
import type { Change } from './types.ts';

/**
 * Where a JSON pointer of a diff finding is in the document's text, for annotations on a line
 * (SARIF regions, GitHub workflow commands). The text is read once by js-yaml (JSON is YAML)
 * with a listener that notes where each mapping key and sequence item starts, keyed by the
 * mapping or sequence the document holds; a lookup walks the pointer through the data, so the
 * index costs one parse and many lookups stay linear in the document's size.
 */

/** A 1-based line and column. */
export interface Position {
  line: number;
  column: number;
}

/** Where a pointer is: its position, and whether the whole pointer was found (else the nearest ancestor's). */
export interface Located extends Position {
  exact: boolean;
}

/** The positions of the JSON pointers of one document's text. */
export interface SourceLines {
  /** The position of `pointer` (of its nearest existing ancestor when it is not in the document). */
  locate(pointer: string): Located;
}

/** The segments of a JSON pointer (RFC 6901), unescaped. */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '' || !pointer.startsWith('/')) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

interface Frame {
  start: number;
  /** The nodes composed inside this one, in order: a mapping's alternate key, value, key, value. */
  children: Array<{ start: number; result: unknown }>;
}

/** Offsets of the first character of each line. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** Indexes `text` (YAML or JSON) for pointer lookups; a text that does not parse locates everything at line 1. */
export function sourceLines(text: string): SourceLines {
  const keysOf = new Map<object, Map<string, number>>();
  const itemsOf = new Map<unknown[], number[]>();
  const stack: Frame[] = [];
  const skipBlanks = (i: number) => {
    for (let ch = text.charCodeAt(i); ch === 0x20 || ch === 0x09 || ch === 0x0a || ch === 0x0d || ch === 0x2d; ch = text.charCodeAt(++i)) {
      // A "-" only starts a sequence item when a blank follows it (else it starts a scalar: -1, -x).
      if (ch === 0x2d && !/[ \t\r\n]/.test(text[i + 1] ?? '')) break;
    }
    return i;
  };
  const listener = (event: 'open' | 'close', state: { position: number; kind: string | null; result: unknown }) => {
    if (event === 'open') {
      stack.push({ start: state.position, children: [] });
      return;
    }
    const frame = stack.pop()!;
    const result = state.result;
    // An alias closes with its anchor's node, already indexed where it was defined.
    if (state.kind === 'mapping' && typeof result === 'object' && result !== null && !keysOf.has(result)) {
      const keys = new Map<string, number>();
      for (let i = 0; i < frame.children.length; i += 2) {
        const key = frame.children[i]!;
        if (!keys.has(String(key.result))) keys.set(String(key.result), key.start);
      }
      keysOf.set(result, keys);
    } else if (state.kind === 'sequence' && Array.isArray(result) && !itemsOf.has(result)) {
      itemsOf.set(result, frame.children.map((c) => c.start));
    }
    stack.at(-1)?.children.push({ start: skipBlanks(frame.start), result });
  };
  let data: unknown;
  let parsed = true;
  try {
    data = jsyaml.load(text, { schema: jsyaml.CORE_SCHEMA, listener: listener as never });
  } catch {
    parsed = false;
  }
  const starts = lineStarts(text);
  const position = (offset: number): Position => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo]! + 1 };
  };
  return {
    locate(pointer) {
      let node = data;
      let found: Position = { line: 1, column: 1 };
      for (const segment of pointerSegments(pointer)) {
        let offset: number | undefined;
        if (Array.isArray(node)) {
          const index = /^(0|[1-9]\d*)$/.test(segment) ? Number(segment) : -1;
          offset = itemsOf.get(node)?.[index];
          node = node[index];
        } else if (typeof node === 'object' && node !== null) {
          offset = keysOf.get(node)?.get(segment);
          node = Object.hasOwn(node, segment) ? (node as Record<string, unknown>)[segment] : undefined;
        }
        if (offset === undefined) return { ...found, exact: false };
        found = position(offset);
      }
      return { ...found, exact: parsed };
    },
  };
}

/** One compared document as a reader finds it: a URI (a file, a registry ref) and, when known, its text. */
export interface Artifact {
  uri: string;
  text?: string;
}

/** The two documents a diff compared. */
export interface DiffArtifacts {
  base?: Artifact;
  revision?: Artifact;
}

/** Where a finding is: which document, and the position in it when its text is known. */
export interface ChangeSite {
  side: 'base' | 'revision';
  artifact: Artifact;
  position?: Position;
}

/** The JSON pointer a finding points at: its location, or its operation's for findings located otherwise (openapi-diff's). */
export function pointerOf(change: Pick<Change, 'location' | 'method' | 'path'>): string {
  if (change.location === '' || change.location.startsWith('/')) return change.location;
  return change.method && change.path !== undefined ? `/paths/${escapeSegment(change.path)}/${change.method.toLowerCase()}` : '';
}

/**
 * Finds the sites of findings in the compared documents: the revision where the pointer is in it,
 * else the base where it is there (what the revision removed), else the revision's nearest
 * ancestor of the pointer. Each document's text is indexed once, on first use.
 */
export function changeLocator(artifacts: DiffArtifacts): (change: Pick<Change, 'location' | 'method' | 'path'>) => ChangeSite | undefined {
  const indexes = new Map<'base' | 'revision', SourceLines | undefined>();
  const index = (side: 'base' | 'revision') => {
    if (!indexes.has(side)) indexes.set(side, artifacts[side]?.text !== undefined ? sourceLines(artifacts[side].text) : undefined);
    return indexes.get(side);
  };
  return (change) => {
    const pointer = pointerOf(change);
    const revision = index('revision')?.locate(pointer);
    if (revision?.exact) return { side: 'revision', artifact: artifacts.revision!, position: strip(revision) };
    const base = index('base')?.locate(pointer);
    if (base?.exact) return { side: 'base', artifact: artifacts.base!, position: strip(base) };
    if (artifacts.revision) return { side: 'revision', artifact: artifacts.revision, ...(revision ? { position: strip(revision) } : {}) };
    if (artifacts.base) return { side: 'base', artifact: artifacts.base, ...(base ? { position: strip(base) } : {}) };
    return undefined;
  };
}

function strip(located: Located): Position {
  return { line: located.line, column: located.column };
}
