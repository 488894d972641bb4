import { oneLine } from '../../lib/text.ts';
import { missingFlags } from '../args.ts';
import { sendJson } from '../client.ts';
import type { Command } from '../command.ts';
import { usageFailure } from '../errors.ts';

/** What POST /v1/releases answers (Release), as far as the text reads it. */
interface Release {
  id: string;
  partner: string;
  api: string;
  version: string;
  environment: string;
  contentSha256: string;
  decisionId: string;
  state: string;
}

/** `accord release record`: records a release on a passing gate decision (POST /v1/releases). */
export const releaseRecord: Command = {
  name: 'release record',
  synopsis: 'accord release record --partner P --api A --version V --env E',
  summary: 'record a release (needs a passing gate decision for this content)',
  help: `accord release record --partner P --api A --version V --env E [--format text|json]

Records that P/A@V was released to environment E (ACCORD_TOKEN: ci or admin). Accepted only when
the latest gate decision for the version and environment (\`accord gate check\`) passed for exactly
the registered content and, unless it was break-glass, the gate still passes now. The version
moves forward to released; a breaking release notifies its consumers. Exit 0 recorded, 1 refused
(no passing decision, the gate no longer passes, a state that would move backwards, no such
version), 3 could not run.`,
  options: { partner: { type: 'string' }, api: { type: 'string' }, version: { type: 'string' }, env: { type: 'string' } },
  async run({ values, positionals }, { config, print }) {
    const missing = missingFlags(values, ['partner', 'api', 'version', 'env']);
    if (missing || positionals.length > 0) throw usageFailure(releaseRecord, missing ?? `Unexpected argument ${positionals[0]}`);
    const result = await sendJson(config, 'POST', '/v1/releases', { partner: values.partner, api: values.api, version: values.version, environment: values.env });
    print(result.json as Release, (r) =>
      oneLine(`Recorded release ${r.id}: ${r.partner}/${r.api}@${r.version} to ${r.environment} (content sha256 ${r.contentSha256.slice(0, 12)}…, gate decision ${r.decisionId}); the version is now ${r.state}.`),
    );
    return 0;
  },
};
