import type { RuleSpec } from './types.ts';

/** Rules for schema keywords common to OpenAPI 3.0 and 3.1 (src/diff/schema-diff.ts), at every target. */
export const SCHEMA_RULES: RuleSpec[] = [];
