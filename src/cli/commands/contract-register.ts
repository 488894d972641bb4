import { callServer } from '../client.ts';
import type { Command } from '../command.ts';
import { usageFailure } from '../errors.ts';
import { contentTypeOf, readInputFile } from '../files.ts';

/** `accord contract register`: one contract version through the running server. */
export const contractRegister: Command = {
  name: 'contract register',
  synopsis: 'accord contract register <file> --partner P --api A [--version V]',
  summary: 'register one contract version through the running server',
  help: `accord contract register <file> --partner <id> --api <id> [--version <semver>]

Registers one OpenAPI 3.0/3.1 document (YAML or JSON, by file extension) through the server at
ACCORD_URL with ACCORD_TOKEN. The version defaults to the document's info.version.`,
  options: { partner: { type: 'string' }, api: { type: 'string' }, version: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, positionals }, { config, io }) {
    const file = positionals[0];
    if (!file || positionals.length > 1 || !values.partner || !values.api) throw usageFailure(contractRegister);
    const query = values.version ? `?version=${encodeURIComponent(values.version as string)}` : '';
    const result = await callServer(config, 'POST', `/v1/contracts/${encodeURIComponent(values.partner as string)}/${encodeURIComponent(values.api as string)}/versions${query}`, {
      text: await readInputFile(file),
      contentType: contentTypeOf(file),
    });
    const v = result.json as { partner: string; api: string; version: string; state: string; sha256: string; commit: string };
    if (values.json) io.out(JSON.stringify(v, null, 2));
    else io.out(`${result.status === 201 ? 'Registered' : 'Already registered (identical)'} ${v.partner}/${v.api}@${v.version} [${v.state}] commit ${v.commit.slice(0, 12)} sha256 ${v.sha256}`);
    return 0;
  },
};
