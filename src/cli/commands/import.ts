import path from 'node:path';
import { findContractFiles } from '../../contracts/files.ts';
import { findMatrixFiles } from '../../matrix/files.ts';
import { requestServer, serverFailure } from '../client.ts';
import type { Command } from '../command.ts';
import { CliFailure, usageFailure } from '../errors.ts';
import { readInputFile } from '../files.ts';
import { importRefusalText, importText, type ImportAnswer } from '../import-report.ts';

/** The files under `dir` with their registry-layout paths, as POST /v1/imports takes them. */
async function layoutFiles(dir: string): Promise<Array<{ path: string; content: string }>> {
  const files: Array<{ path: string; content: string }> = [];
  for (const f of await findContractFiles(dir)) files.push({ path: `contracts/${f.partner}/${f.api}/${f.version}/${path.basename(f.file)}`, content: await readInputFile(f.file) });
  for (const f of await findMatrixFiles(dir)) files.push({ path: `control-matrix/${path.basename(f.file)}`, content: await readInputFile(f.file) });
  return files;
}

/** `accord import`: a folder of the registry layout through the running server, all or nothing. */
export const importFolder: Command = {
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
  async run({ values, positionals }, { config, print }) {
    const dir = positionals[0];
    if (!dir || positionals.length > 1) throw usageFailure(importFolder);
    const files = await layoutFiles(path.resolve(dir));
    if (files.length === 0) throw new CliFailure(`No contracts/<partner>/<api>/<version>/openapi.yaml or control-matrix/*.yaml under ${dir}`, 3);
    const request = { files, ...(values['dry-run'] ? { dryRun: true } : {}), ...(values['allow-revert'] ? { allowRevert: true } : {}) };
    const { status, json } = await requestServer(config, 'POST', '/v1/imports', { text: JSON.stringify(request), contentType: 'application/json' });
    if (status >= 400) {
      // Every refused file, each with its findings, rather than the one-paragraph summary other commands print.
      const failure = serverFailure(status, json);
      throw new CliFailure(importRefusalText(status, json), failure.exitCode, { status, problem: json, kind: failure.kind });
    }
    print(json as ImportAnswer, importText);
    return 0;
  },
};
