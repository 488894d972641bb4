import path from 'node:path';
import { findContractFiles } from '../../contracts/files.ts';
import { findMatrixFiles } from '../../matrix/files.ts';
import { callServer } from '../client.ts';
import type { Command } from '../command.ts';
import { CliFailure, usageFailure } from '../errors.ts';
import { contentTypeOf, readInputFile } from '../files.ts';

/** `accord import`: registers a folder of the registry layout through the running server. */
export const importFolder: Command = {
  name: 'import',
  synopsis: 'accord import <dir>',
  summary: `register every contracts/<partner>/<api>/<version>/openapi.yaml
under <dir> through the running server`,
  help: `accord import <dir>

Registers every contracts/<partner>/<api>/<version>/openapi.yaml (or .json) under <dir>, in
semver order, then control-matrix/policy.yaml, control-matrix/ruleset.yaml and every
control-matrix/<flow>.yaml, through the server at ACCORD_URL with ACCORD_TOKEN (role author or
admin; the policy and the ruleset need admin).
Documents already registered with identical content are left as they are.`,
  options: {},
  async run({ positionals }, { config, io }) {
    const dir = positionals[0];
    if (!dir || positionals.length > 1) throw usageFailure(importFolder);
    const files = await findContractFiles(path.resolve(dir));
    const matrixFiles = await findMatrixFiles(path.resolve(dir));
    if (files.length === 0 && matrixFiles.length === 0) throw new CliFailure(`No contracts/<partner>/<api>/<version>/openapi.yaml or control-matrix/*.yaml under ${dir}`, 3);
    let created = 0;
    for (const f of files) {
      const query = `?version=${encodeURIComponent(f.version)}`;
      const result = await callServer(config, 'POST', `/v1/contracts/${f.partner}/${f.api}/versions${query}`, {
        text: await readInputFile(f.file),
        contentType: contentTypeOf(f.file),
      });
      if (result.status === 201) created++;
      io.out(`${result.status === 201 ? 'registered' : 'unchanged '} ${f.partner}/${f.api}@${f.version}`);
    }
    for (const f of matrixFiles) {
      const url = f.kind === 'policy' ? '/v1/policy' : f.kind === 'ruleset' ? '/v1/rulesets/network' : `/v1/control-matrix/${encodeURIComponent(f.name)}`;
      const result = await callServer(config, 'PUT', url, { text: await readInputFile(f.file), contentType: contentTypeOf(f.file) });
      if (result.status === 201) created++;
      io.out(`${result.status === 201 ? 'stored    ' : 'unchanged '} control-matrix/${f.name}`);
    }
    const total = files.length + matrixFiles.length;
    io.out(`${created} registered, ${total - created} unchanged.`);
    return 0;
  },
};
