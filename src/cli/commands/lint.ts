import { lazyCommand, type Command } from '../command.ts';

/** `accord lint`: the network's style rules, offline, on contract files (exit 0 clean, 1 errors, 3 could not run). */
export const lint: Command = lazyCommand({
  name: 'lint',
  synopsis: 'accord lint <file…> [--ruleset <file>] [--format text|json|sarif] [--strict]',
  summary: 'check contracts against the style rules, offline',
  help: `accord lint <file…> [--ruleset <file>] [--format text|json|sarif] [--strict]

Lints OpenAPI documents with Spectral, offline: external $refs are findings, never fetched or
read. The ruleset is --ruleset, else control-matrix/ruleset.yaml of the registry-layout folder
the file sits in (the nearest folder above it holding control-matrix/), else spectral:oas
(recommended rules). A file at contracts/<partner>/<api>/<version>/openapi.yaml in that folder
is checked against the control-matrix flows that cover it (Idempotency-Key rule); when a newer
version of the same API sits next to it, its errors are reported as warnings, as the registry
does for older versions (--strict: not).
Text output: <file>:<line>:<column> <severity> <rule> <message>, then a summary line.
Exit 0 no error-level findings (warnings allowed), 1 error-level findings, 3 could not run
(unreadable file, unusable ruleset, usage).`,
  options: { ruleset: { type: 'string' }, format: { type: 'string' }, strict: { type: 'boolean' } },
}, () => import('../run/lint.ts'));
