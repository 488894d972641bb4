/**
 * Escapes text for XML content and attributes, dropping the C0 control characters (other than
 * tab, LF and CR) that XML 1.0 cannot carry.
 */
export function escapeXml(text: string): string {
  return text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
