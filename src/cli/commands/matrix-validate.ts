import { lazyCommand, type Command } from '../command.ts';

/** `accord matrix validate`: checks control-matrix files offline, for CI. */
export const matrixValidate: Command = lazyCommand({
  name: 'matrix validate',
  synopsis: 'accord matrix validate <file|dir> [--contracts <dir>] [--json]',
  summary: 'check control-matrix entries offline (CI)',
  help: `accord matrix validate <file|dir> [--contracts <dir> | --no-contracts] [--json]

Checks control-matrix entries (and policy.yaml, and ruleset.yaml as the network ruleset loader
reads it) offline: the JSON Schema, then the cross-checks
against the contracts in --contracts (default: the contracts/ folder next to control-matrix/;
without one, pass --no-contracts to run only the other checks). Prints each finding with its
rule id and location. Exit 0 clean, 1 findings, 3 usage error.`,
  options: { contracts: { type: 'string' }, json: { type: 'boolean' }, 'no-contracts': { type: 'boolean' } },
}, () => import('../run/matrix-validate.ts'));
