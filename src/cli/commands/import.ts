import { lazyCommand, type Command } from '../command.ts';

/** `accord import`: a folder of the registry layout through the running server, all or nothing. */
export const importFolder: Command = lazyCommand({
  name: 'import',
  synopsis: 'accord import <dir> [--dry-run] [--allow-revert] [--format text|json]',
  summary: `register every contract and control-matrix document under <dir>
through the running server, all or nothing`,
  help: `accord import <dir> [--dry-run] [--allow-revert] [--format text|json]

Sends every contracts/<partner>/<api>/<version>/openapi.yaml (or .json) and every
control-matrix/*.yaml (flows, policy.yaml, ruleset.yaml) under <dir> to the server at ACCORD_URL
with ACCORD_TOKEN (role author or admin; the policy and the ruleset need admin) as ONE import
(POST /v1/imports). The server checks every file as its own route would and stores all of them or
none: one refused file and nothing is written, and every refused file is listed. Documents already
stored with identical content are left as they are.

A control-matrix document equal to an older version of its entry than the newest (a stale
checkout) is refused unless --allow-revert. The whole import counts against the server's
ACCORD_BODY_LIMIT.

  --dry-run        check everything and print what would change; write nothing
  --allow-revert   store matrix documents equal to an older version again, as a new version
  --format json    print the server's answer as JSON, a refusal as {"error": {…, "problem"}} (--json: the same)

Exit status: 0 imported (or nothing to change), 1 refused (every problem printed with its file),
3 could not run (no such files, server unreachable, server error).`,
  options: { 'dry-run': { type: 'boolean' }, 'allow-revert': { type: 'boolean' } },
}, () => import('../run/import.ts'));
