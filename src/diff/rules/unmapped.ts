import type { Unmapped } from './types.ts';

/** oasdiff checks Accord implements differently or not at all, with the reason (docs/diff-rules.md). */
export const UNMAPPED: Unmapped[] = [];
