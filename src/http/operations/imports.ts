import { z } from '@hono/zod-openapi';
import { BUMPS } from '../../diff/types.ts';
import { IMPORT_KINDS, MAX_IMPORT_FILES } from '../../imports/plan.ts';
import { defineOperation, json, jsonBodyOf, problem } from '../operation.ts';
import { DiffSummary } from './diff.ts';

/** /v1/imports: a folder of the registry layout, applied all or nothing (ADR 0019). */

const ImportRequest = z
  .object({
    files: z
      .array(
        z.object({
          path: z.string().min(1).max(1024).meta({ description: 'Registry-layout path: contracts/<partner>/<api>/<version>/openapi.yaml|yml|json, control-matrix/<flow>.yaml, control-matrix/policy.yaml, control-matrix/ruleset.yaml' }),
          content: z.string().meta({ description: 'The document as YAML or JSON text (by the path’s extension)' }),
        }),
      )
      .min(1)
      .max(MAX_IMPORT_FILES),
    dryRun: z.boolean().optional().meta({ description: 'Check everything and answer what would change; write nothing' }),
    allowRevert: z.boolean().optional().meta({ description: 'Store a matrix document whose content equals an older version of its entry (refused with rule `revert` otherwise)' }),
  })
  .meta({ id: 'ImportRequest' });

const ImportedFile = z
  .object({
    path: z.string(),
    kind: z.enum(IMPORT_KINDS),
    name: z.string().meta({ description: '<partner>/<api> for a contract, else the document’s name' }),
    version: z.union([z.string(), z.number().int()]).meta({ description: 'The contract version, or the matrix document’s version number (the new one, or the latest when unchanged)' }),
    action: z.enum(['created', 'proposed', 'unchanged']).meta({ description: 'created: a new version; proposed: a new version awaiting review; unchanged: identical to the latest' }),
    sha256: z.string(),
    diff: z
      .object({ against: z.union([z.string(), z.number().int()]), bump: z.enum(BUMPS), summary: DiffSummary })
      .optional()
      .meta({ description: 'Against the version before it (contracts and flows that have one)' }),
    warnings: z.array(z.unknown()).optional().meta({ description: 'Findings below error level, if any' }),
  })
  .meta({ id: 'ImportedFile' });

const ImportResult = z
  .object({
    dryRun: z.boolean(),
    applied: z.boolean().meta({ description: 'Whether new versions were stored (false for a dry run or when every file was unchanged)' }),
    files: z.array(ImportedFile).meta({ description: 'In the order they were applied: contracts (each API’s versions in semver order), the policy, the ruleset, the flows' }),
    totals: z.object({ files: z.number().int(), created: z.number().int(), proposed: z.number().int(), unchanged: z.number().int() }),
  })
  .meta({ id: 'ImportResult' });

export const importRegistryFiles = defineOperation({
  operationId: 'importRegistryFiles',
  method: 'post',
  path: '/v1/imports',
  tags: ['Imports'],
  summary: 'Import a folder of the registry layout, all or nothing',
  description:
    'Each file goes through the same checks as its own route (contract registration, matrix writes) in one database transaction and one Git update (one atomic push to a registry remote). Any refused file → 422 listing the findings of every refused file as `errors[{path, rule, location, message}]`, and nothing is written. A matrix document equal to an older version of its entry than the newest is refused with rule `revert` unless `allowRevert`. `dryRun` answers what would change and writes nothing. The policy and the ruleset need an admin (403 for the whole import), matrix documents the `matrix:write` scope. The body counts against ACCORD_BODY_LIMIT.',
  roles: ['admin', 'author'],
  scope: 'contracts:write',
  request: { body: jsonBodyOf(ImportRequest) },
  invalid: { detail: 'Invalid import: send {"files": [{"path", "content"}], "dryRun"?, "allowRevert"?}' },
  responses: { 200: json(ImportResult, 'Dry run, or nothing changed'), 201: json(ImportResult, 'New versions stored'), 413: problem, 422: problem, 503: problem },
});

export const importOperations = [importRegistryFiles];
