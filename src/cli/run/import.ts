import path from 'node:path';
import { findContractFiles } from '../../contracts/files.ts';
import { findMatrixFiles } from '../../matrix/files.ts';
import { requestServer, serverFailure } from '../client.ts';
import { CliFailure, usageFailure } from '../errors.ts';
import { readInputFile } from '../files.ts';
import { importRefusalText, importText, type ImportAnswer } from '../import-report.ts';
import type { CommandRun } from '../command.ts';

/** The files under `dir` with their registry-layout paths, as POST /v1/imports takes them. */
async function layoutFiles(dir: string): Promise<Array<{ path: string; content: string }>> {
  const files: Array<{ path: string; content: string }> = [];
  for (const f of await findContractFiles(dir)) files.push({ path: `contracts/${f.partner}/${f.api}/${f.version}/${path.basename(f.file)}`, content: await readInputFile(f.file) });
  for (const f of await findMatrixFiles(dir)) files.push({ path: `control-matrix/${path.basename(f.file)}`, content: await readInputFile(f.file) });
  return files;
}

/** What `accord import` does (its help: src/cli/commands/import.ts), loaded only when it runs. */
export const run: CommandRun = async ({ values, positionals }, { config, print }, command) => {
  const dir = positionals[0];
  if (!dir || positionals.length > 1) throw usageFailure(command);
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
};
