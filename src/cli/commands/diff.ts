import { lazyCommand, type Command } from '../command.ts';
import { CLI_DIFF_FORMATS } from '../../diff/formats.ts';

const FORMATS = CLI_DIFF_FORMATS.join('|');

/** `accord diff`: classifies the changes between two contracts or two control-matrix entries (exit 1 when one is at or above --fail-on). */
export const diff: Command = lazyCommand({
  name: 'diff',
  synopsis: `accord diff <base> <revision> [--format ${FORMATS}] [--fail-on breaking|warning]`,
  summary: `classify the changes between two contracts (files or
partner/api@version) or two control-matrix entries`,
  help: `accord diff <base> <revision> [--format ${FORMATS}] [--fail-on breaking|warning] [--no-openapi-diff]

Compares two OpenAPI documents — files (YAML or JSON) or registry refs such as
northwind-health/p2p-exchange@1.1.0 (fetched from ACCORD_URL with ACCORD_TOKEN) — or two
control-matrix entries, and prints every change classified breaking, warning or info, with
the version bump it requires and what it means for partners, grouped by operation.
openapi-diff runs as a second opinion within ACCORD_OPENAPI_DIFF_TIMEOUT_MS unless
--no-openapi-diff (it cannot read OpenAPI 3.1: skipped for 3.1 documents).

Formats: text (default), json (each change with its consequence), markdown (a changelog
for a board or a pull request), sarif (SARIF 2.1.0 for code scanning), githubactions
(::error/::warning/::notice annotations on the file and line of the change: the
revision's, or the base's for what it removed).
Exit 0 when nothing is at or above --fail-on (default breaking), 1 when something is, 3 on error.`,
  options: { format: { type: 'string' }, 'fail-on': { type: 'string' }, 'no-openapi-diff': { type: 'boolean' }, contracts: { type: 'string' } },
}, () => import('../run/diff.ts'));
