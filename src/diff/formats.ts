/** The forms the API renders a diff in (`?format=`), the default first. */
export const DIFF_FORMATS = ['json', 'markdown', 'text', 'sarif'] as const;
export type DiffFormat = (typeof DIFF_FORMATS)[number];

/** The forms `accord diff --format` prints: the API's, plus GitHub Actions annotations. */
export const CLI_DIFF_FORMATS = ['text', 'json', 'markdown', 'sarif', 'githubactions'] as const;
export type CliDiffFormat = (typeof CLI_DIFF_FORMATS)[number];
