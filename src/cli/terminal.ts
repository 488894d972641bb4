/**
 * What the CLI prints comes partly from other people (token names, review comments, change
 * summaries, server error details). Control characters in it could move the cursor, clear a CI
 * log or reorder text on screen (ANSI escapes, bidi overrides), so they are shown escaped.
 */
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]|(?![\ufe00-\ufe0f\u{e0100}-\u{e01ef}])\p{Default_Ignorable_Code_Point}/gu;

/**
 * `text` with every control character except newline and tab, every default-ignorable code point
 * (zero-width and bidi controls, invisible fillers; variation selectors stay, emoji need them) and the line/paragraph separators written as `\uXXXX`. Inside a
 * JSON string that escape means the same character, so JSON output stays equivalent.
 */
export function forTerminal(text: string): string {
  return text.replace(UNSAFE, (ch) => `\\u${ch.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}
