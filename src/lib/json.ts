/**
 * Small helpers for plain JSON data and JSON pointers (RFC 6901), shared by every domain.
 * User data may use any property name, `constructor`, `__proto__` and `toString` included:
 * these helpers read own properties only, never what an object inherits from its prototype.
 */

export type Json = Record<string, any>;

/** A plain object (not null, not an array). */
export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const ARRAY_INDEX = /^(0|[1-9]\d*)$/;

/**
 * The value an object holds under `key` as its own property (an array: at that index), or
 * undefined; never a value inherited from the prototype (`constructor`, `toString`, `__proto__`…).
 */
export function ownValue(container: unknown, key: string): unknown {
  if (Array.isArray(container)) return ARRAY_INDEX.test(key) ? container[Number(key)] : undefined;
  if (isObject(container)) return Object.hasOwn(container, key) ? container[key] : undefined;
  return undefined;
}

/** A dictionary without a prototype: every key, `__proto__` included, is an ordinary own property. */
export function emptyDictionary<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** Escapes one JSON-pointer segment (`~` → `~0`, `/` → `~1`). */
export function escapeSegment(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Unescapes one JSON-pointer segment. */
export function unescapeSegment(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

/**
 * The JSON pointer a `$ref` URI fragment spells (the part after `#`, percent-decoded per
 * segment, `~0`/`~1` escapes kept), or undefined when it is not a pointer or its percent-encoding
 * is malformed.
 */
export function pointerOfFragment(fragment: string): string | undefined {
  if (fragment !== '' && !fragment.startsWith('/')) return undefined;
  try {
    return fragment.split('/').map(decodeURIComponent).join('/');
  } catch {
    return undefined;
  }
}

/**
 * The value at a JSON pointer, or undefined (own properties only). With `uriFragment` the
 * segments are also percent-decoded, as in a `$ref` such as `#/paths/~1pets/get`.
 */
export function valueAt(root: unknown, pointer: string, options: { uriFragment?: boolean } = {}): unknown {
  const path = options.uriFragment ? pointerOfFragment(pointer) : pointer;
  if (path === undefined || (path !== '' && !path.startsWith('/'))) return undefined;
  let current = root;
  for (const segment of path.split('/').slice(1)) {
    current = ownValue(current, unescapeSegment(segment));
    if (current === undefined) return undefined;
  }
  return current;
}

/**
 * Whether data is nested deeper than `max` levels (objects and arrays). Iterative, so that a
 * 100,000-level JSON body is measured without exhausting the stack.
 */
export function nestedDeeperThan(data: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[data, 0]];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null || seen.has(node)) continue;
    if (depth > max) return true;
    seen.add(node);
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * nestedDeeperThan for JSON text, read before parsing it, without allocating: the exchange runs
 * it on every request body.
 */
export function jsonTextDeeperThan(text: string, max: number): boolean {
  // Nesting is at most the number of opening brackets: most bodies have too few to count exactly.
  let opening = 0;
  for (const bracket of ['{', '[']) {
    for (let i = text.indexOf(bracket); i !== -1 && opening <= max + 1; i = text.indexOf(bracket, i + 1)) opening++;
  }
  if (opening <= max + 1) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c /* \ */) i++;
      else if (ch === 0x22 /* " */) inString = false;
    } else if (ch === 0x22) inString = true;
    // The root container is at depth 0, so `max + 1` open brackets are allowed.
    else if (ch === 0x7b /* { */ || ch === 0x5b /* [ */) {
      if (++depth > max + 1) return true;
    } else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) depth--;
  }
  return false;
}

/**
 * Calls `visit` on every plain object in `root` (arrays are walked through), iteratively so deep
 * data cannot overflow the stack. A node's children are read after `visit` returns, so `visit`
 * may rewrite them.
 */
export function forEachObject(root: unknown, visit: (node: Json) => void): void {
  const stack = [root];
  while (stack.length > 0) {
    const n = stack.pop();
    // Pushed one by one: spreading a 200,000-item array into push() overflows the call stack.
    if (Array.isArray(n)) for (const item of n) stack.push(item);
    else if (isObject(n)) {
      visit(n);
      for (const child of Object.values(n)) stack.push(child);
    }
  }
}
