import type { RuleSpec } from './types.ts';

/** Rules for JSON Schema 2020-12 keywords of OpenAPI 3.1 documents (src/diff/schema-2020.ts). */
export const SCHEMA_2020_RULES: RuleSpec[] = [];
