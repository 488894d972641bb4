/** Display names of tokens: what they may contain, and how Git carries the older ones. */

// What a name may not contain, and how to say so. Names reach logs, terminals, Git author lines
// and review screens: characters that are invisible, reorder text or break lines would let one
// name pass for another there.
const FORBIDDEN_IN_NAMES: Array<[RegExp, string]> = [
  [/\p{Cc}/u, 'a control character'],
  [/\p{Cs}/u, 'a lone surrogate'],
  [/[\p{Cf}\p{Default_Ignorable_Code_Point}]/u, 'an invisible format or default-ignorable character (zero-width, joiner, byte-order mark, bidi control…)'],
  [/[\p{Zl}\p{Zp}]/u, 'a line or paragraph separator'],
  [/\p{Co}/u, 'a private-use character'],
  [/\p{Cn}/u, 'an unassigned code point'],
  [/[<>]/u, 'a < or >'],
];
const ANY_FORBIDDEN = new RegExp(FORBIDDEN_IN_NAMES.map(([re]) => re.source).join('|'), 'u');

/**
 * Why a token name cannot be used (undefined when it can): it must be 1–100 characters of
 * printable text, without control, format, default-ignorable, line/paragraph separator,
 * private-use, unassigned or surrogate code points, and without < or >.
 */
export function tokenNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.trim() === '' || name.length > 100) return 'must be a non-empty name of at most 100 characters';
  let position = 0;
  for (const char of name) {
    position++;
    if (!ANY_FORBIDDEN.test(char)) continue;
    const what = FORBIDDEN_IN_NAMES.find(([re]) => re.test(char))![1];
    const codePoint = `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    return `must not contain ${what}: ${codePoint} at character ${position}`;
  }
  return undefined;
}

/**
 * The name as a Git author line can carry it: characters a name may no longer contain (tokens
 * created before names were checked may have them) become U+FFFD.
 */
export function gitSafeName(name: string): string {
  return name.replace(new RegExp(ANY_FORBIDDEN.source, 'gu'), '\uFFFD');
}
