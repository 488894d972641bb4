/**
 * The vocabulary of certification cases, apart from the suite that makes them: the server, the
 * API document and the CLI (which loads none of the suite) read it.
 */
export const CASE_CATEGORIES = ['contract', 'idempotency', 'duplicate-handling', 'failure', 'trace', 'deprecation'] as const;
export type CaseCategory = (typeof CASE_CATEGORIES)[number];
export const CASE_VERDICTS = ['pass', 'fail', 'error', 'pending'] as const;
export type CaseVerdict = (typeof CASE_VERDICTS)[number];
