import { oneLine } from '../../lib/text.ts';
import { missingFlags } from '../args.ts';
import { segment, sendJson } from '../client.ts';
import type { Command } from '../command.ts';
import { usageFailure } from '../errors.ts';

/** What POST …/versions/{version}/deprecation answers, as far as the text reads it. */
interface Deprecation {
  partner: string;
  api: string;
  version: string;
  sunset: string;
  successor: string | null;
  reason: string;
  noticeId: string;
}

/** `partner/api@version` split into its parts; undefined when it is not that shape. */
function parseRef(text: string): { partner: string; api: string; version: string } | undefined {
  const match = /^([^/@\s]+)\/([^/@\s]+)@(\S+)$/.exec(text);
  return match ? { partner: match[1]!, api: match[2]!, version: match[3]! } : undefined;
}

/** `accord deprecate`: deprecates a released version with a sunset (POST /v1/contracts/{partner}/{api}/versions/{version}/deprecation). */
export const deprecate: Command = {
  name: 'deprecate',
  synopsis: 'accord deprecate <partner/api@version> --sunset DATE [--successor V] --reason TEXT',
  summary: 'deprecate a released version with a sunset; notifies its consumers',
  help: `accord deprecate <partner/api@version> --sunset DATE [--successor VERSION] --reason TEXT [--format text|json]

Deprecates a released contract version (ACCORD_TOKEN: author or admin), e.g.
  accord deprecate northwind-health/p2p-exchange@1.1.0 --sunset 2027-06-30 --successor 3.0.0 --reason "Superseded by 3.0.0"
--sunset (YYYY-MM-DD or an ISO timestamp) must be at least the policy's minimum notice away;
--successor is a registered version of the same API to move to. The provider and the consumers
get a deprecation notice (GET /v1/notices, the Atom feed, webhooks); the exchange answers with
Deprecation and Sunset headers. Exit 0 deprecated, 1 refused (not released, sunset too soon, no
such successor), 3 could not run.`,
  options: { sunset: { type: 'string' }, successor: { type: 'string' }, reason: { type: 'string' } },
  async run({ values, positionals }, { config, print }) {
    const target = positionals.length === 1 ? parseRef(positionals[0]!) : undefined;
    const missing = missingFlags(values, ['sunset', 'reason']);
    if (!target || missing) throw usageFailure(deprecate, missing ?? 'Name the version as partner/api@version, e.g. northwind-health/p2p-exchange@1.1.0');
    const body = { sunset: values.sunset, reason: values.reason, ...(typeof values.successor === 'string' ? { successor: values.successor } : {}) };
    const result = await sendJson(config, 'POST', `/v1/contracts/${segment(target.partner)}/${segment(target.api)}/versions/${segment(target.version)}/deprecation`, body);
    print(result.json as Deprecation, (d) =>
      [
        `Deprecated ${d.partner}/${d.api}@${d.version}: sunset ${d.sunset}, successor ${d.successor ?? 'none'}.`,
        `  Reason: ${d.reason}`,
        `  Notice ${d.noticeId} went to the provider and its consumers (notices, Atom feed, webhooks).`,
      ]
        .map(oneLine)
        .join('\n'),
    );
    return 0;
  },
};
