import type { Unmapped } from './types.ts';

/** oasdiff checks Accord implements differently or not at all, with the reason (docs/diff-rules.md). */
export const UNMAPPED: Unmapped[] = [
  {
    oasdiff: 'request-body-wrapped-in-one-of',
    reason: 'Reported as `request-body-type-changed` (breaking: the body no longer has one type) plus `request-body-one-of-added`, as oasdiff 1.15 reports it; the verdict is the same.',
  },
  {
    oasdiff: 'response-body-wrapped-in-one-of',
    reason: 'Reported as `response-body-type-changed` (breaking) plus `response-body-one-of-added`, as oasdiff 1.15 reports it; the verdict is the same.',
  },
  {
    oasdiff: 'request-parameter-property-list-of-types-narrowed',
    reason: 'A list of types inside a parameter\'s object value is reported as `request-parameter-property-type-changed` (breaking); the verdict is the same.',
  },
  {
    oasdiff: 'request-parameter-property-list-of-types-widened',
    reason: 'A list of types widened inside a parameter\'s object value is reported as `request-parameter-property-type-generalized` (info).',
  },
];
