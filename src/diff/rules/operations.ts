import type { RuleSpec } from './types.ts';

/** Rules for paths, operations, parameters, bodies, responses, headers, security, lifecycle (src/diff/contract-diff.ts). */
export const OPERATION_RULES: RuleSpec[] = [];
