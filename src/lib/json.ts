/** Small helpers for plain JSON data and JSON pointers (RFC 6901), shared by every domain. */

export type Json = Record<string, any>;

/** A plain object (not null, not an array). */
export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
 * The value at a JSON pointer, or undefined. With `uriFragment` the segments are also
 * percent-decoded, as in a `$ref` such as `#/paths/~1pets/get`.
 */
export function valueAt(root: unknown, pointer: string, options: { uriFragment?: boolean } = {}): unknown {
  let current = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = unescapeSegment(options.uriFragment ? decodeURIComponent(raw) : raw);
    current = isObject(current) || Array.isArray(current) ? (current as Json)[key] : undefined;
  }
  return current;
}
