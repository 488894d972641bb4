/**
 * Every representation Accord answers in besides its documents: its media type and the names
 * `format` accepts for it, the same on every API route and CLI command that has one (`md` is
 * `markdown`, `txt` is `text`).
 */
export const REPRESENTATIONS = {
  json: { type: 'application/json', names: ['json'] },
  markdown: { type: 'text/markdown; charset=utf-8', names: ['markdown', 'md'] },
  text: { type: 'text/plain; charset=utf-8', names: ['text', 'txt'] },
  sarif: { type: 'application/sarif+json', names: ['sarif'] },
  csv: { type: 'text/csv; charset=utf-8', names: ['csv'] },
} as const;
export type Representation = keyof typeof REPRESENTATIONS;

/** The representation a `format` name stands for (`md` → markdown), if any. */
export function representationNamed(name: string): Representation | undefined {
  return (Object.keys(REPRESENTATIONS) as Representation[]).find((r) => (REPRESENTATIONS[r].names as readonly string[]).includes(name.toLowerCase()));
}

