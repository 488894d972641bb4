import { oneLine } from '../../lib/text.ts';
import { segment, sendJson } from '../client.ts';
import type { Command } from '../command.ts';
import { usageFailure } from '../errors.ts';

/** What POST /v1/changes/{id}/acknowledgements answers, as far as the text reads it. */
interface Acknowledgement {
  id: string;
  changeId: string;
  partner: string;
  diffHash: string;
  createdBy: string;
}

/** `accord ack`: a consuming partner acknowledges a change request (POST /v1/changes/{id}/acknowledgements). */
export const ack: Command = {
  name: 'ack',
  synopsis: 'accord ack <id> [--comment TEXT]',
  summary: 'acknowledge a change request as a consuming partner',
  help: `accord ack <id> [--comment TEXT] [--format text|json]

Acknowledges change request <id> for the partner of ACCORD_TOKEN (a partner token): "we have seen
this change and are ready for it". Only a partner the change asks to acknowledge may (see
\`accord change list --awaiting-me\`); the acknowledgement is bound to the change's diff.
--comment says anything the partner wants to add. Exit 0 recorded, 1 refused (no such change
request, not asked, not a partner token), 3 could not run.`,
  options: { comment: { type: 'string' } },
  async run({ values, positionals }, { config, print }) {
    if (positionals.length !== 1) throw usageFailure(ack);
    const body = typeof values.comment === 'string' ? { comment: values.comment } : {};
    const result = await sendJson(config, 'POST', `/v1/changes/${segment(positionals[0])}/acknowledgements`, body);
    print(result.json as Acknowledgement, (a) =>
      [`Acknowledged change request ${a.changeId} for ${a.partner} as ${a.createdBy} (${a.id}, for diff ${a.diffHash.slice(0, 12)}).`, `Next: see what it still needs: accord change show ${a.changeId}`].map(oneLine).join('\n'),
    );
    return 0;
  },
};
