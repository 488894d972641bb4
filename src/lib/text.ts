const BREAKS: Record<string, string> = { '\r\n': '\\r\\n', '\r': '\\r', '\n': '\\n', '\u0085': '\\u0085', '\u2028': '\\u2028', '\u2029': '\\u2029' };

/**
 * `text` on one line, its line breaks written as escapes (`\n`). Renderers that print one item
 * per line apply it to each line, so a name or message taken from a document cannot start a line
 * of its own (and, say, forge a verdict in CI output).
 */
export function oneLine(text: string): string {
  return text.replace(/\r\n|[\r\n\u0085\u2028\u2029]/g, (br) => BREAKS[br]!);
}
