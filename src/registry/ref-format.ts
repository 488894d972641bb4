/**
 * Git's rules for reference names (git-check-ref-format(1)), so a name Accord derives from user
 * input (a tag such as `<partner>/<api>/v<version>`) is refused before anything is written,
 * instead of failing half-way inside git.
 */

/** Why `ref` (e.g. `refs/tags/acme/api/v1.0.0`) is not a valid Git reference name, or undefined when it is. */
export function refFormatProblem(ref: string): string | undefined {
  if (ref === '@') return 'is the single character "@"';
  if (ref.endsWith('/') || ref.startsWith('/')) return 'starts or ends with "/"';
  if (ref.endsWith('.')) return 'ends with "."';
  if (ref.includes('..')) return 'contains ".."';
  if (ref.includes('@{')) return 'contains "@{"';
  // Control characters, DEL, space and the characters git reserves for revision syntax.
  const bad = /[\x00-\x20\x7f~^:?*[\\]/.exec(ref);
  if (bad) return `contains ${JSON.stringify(bad[0])}`;
  for (const component of ref.split('/')) {
    if (component === '') return 'contains "//"';
    if (component.startsWith('.')) return `has a component starting with "." (${component})`;
    if (component.endsWith('.lock')) return `has a component ending with ".lock" (${component})`;
  }
  return undefined;
}
