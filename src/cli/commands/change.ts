import { missingFlags } from '../args.ts';
import { detailText, listText, openedText, type ChangeDetail, type ChangeSummary } from '../change-report.ts';
import { callServer, segment, sendJson } from '../client.ts';
import type { Command } from '../command.ts';
import { usageFailure } from '../errors.ts';

/** `accord change open`: opens a change request (POST /v1/changes). */
export const changeOpen: Command = {
  name: 'change open',
  synopsis: 'accord change open --partner P --api A --version V --summary TEXT [--flows F,F]',
  summary: 'open a change request for a registered version',
  help: `accord change open --partner P --api A --version V --summary TEXT [--flows F,F] [--format text|json]

Opens a change request for the registered version P/A@V (ACCORD_TOKEN: author or admin). The
server diffs it against production's version (else the one before it), hashes that diff and
derives from the policy what the change needs: approvals, acknowledgements from the consuming
partners, evidence kinds. --summary says what changes and why (3–5000 characters). --flows names
the control-matrix flows it touches (default: the flows covering the operations the diff changes).
Prints the change request's id, what it needs and who acts next. Exit 0 opened, 1 refused (no such
version, a retired one, a diff already rejected), 3 could not run.`,
  options: { partner: { type: 'string' }, api: { type: 'string' }, version: { type: 'string' }, summary: { type: 'string' }, flows: { type: 'string' } },
  async run({ values, positionals }, { config, print }) {
    const missing = missingFlags(values, ['partner', 'api', 'version', 'summary']);
    if (missing || positionals.length > 0) throw usageFailure(changeOpen, missing ?? `Unexpected argument ${positionals[0]}`);
    const flows = typeof values.flows === 'string' ? values.flows.split(',').map((f) => f.trim()).filter(Boolean) : undefined;
    const body = { partner: values.partner, api: values.api, version: values.version, summary: values.summary, ...(flows ? { flows } : {}) };
    print((await sendJson(config, 'POST', '/v1/changes', body)).json as ChangeSummary, openedText);
    return 0;
  },
};

/** `accord change show`: one change request with its reviews, acknowledgements and gate preview (GET /v1/changes/{id}). */
export const changeShow: Command = {
  name: 'change show',
  synopsis: 'accord change show <id> [--env E]',
  summary: 'a change request: diff, reviews, acknowledgements, gate preview, next step',
  help: `accord change show <id> [--env E] [--format text|json]

Shows change request <id>: what it changes (the breaking changes of its diff, and first those
found after review by a newer diff engine, which need a fresh review), who reviewed and
acknowledged it (and whether each still counts), the release gate's preview for environment E
(default production) and the command for each next step. A partner token reads the change
requests to its own APIs and those it is asked to acknowledge. Exit 0 shown, 1 refused (no such
change request, or not one this token may read), 3 could not run.`,
  options: { env: { type: 'string' } },
  async run({ values, positionals }, { config, print }) {
    if (positionals.length !== 1) throw usageFailure(changeShow);
    const query = typeof values.env === 'string' ? `?environment=${encodeURIComponent(values.env)}` : '';
    print((await callServer(config, 'GET', `/v1/changes/${segment(positionals[0])}${query}`)).json as ChangeDetail, detailText);
    return 0;
  },
};

/** `accord change list`: change requests, or those awaiting the caller (GET /v1/changes[?awaiting=me]). */
export const changeList: Command = {
  name: 'change list',
  synopsis: 'accord change list [--partner P] [--api A] | --awaiting-me',
  summary: 'change requests, newest first; --awaiting-me: those awaiting you',
  help: `accord change list [--partner P] [--api A] [--format text|json]
accord change list --awaiting-me [--format text|json]

Lists change requests, newest first, optionally of one partner or API (staff tokens). With
--awaiting-me, the open change requests that await this token: for a partner, those it is asked
to acknowledge and has not; for an approver or admin, those short of approvals that it may review
(not its own). A partner token may only use --awaiting-me. Exit 0 listed (also when empty),
1 refused, 3 could not run.`,
  options: { partner: { type: 'string' }, api: { type: 'string' }, 'awaiting-me': { type: 'boolean' } },
  async run({ values, positionals }, { config, print }) {
    if (positionals.length > 0) throw usageFailure(changeList, `Unexpected argument ${positionals[0]}`);
    const awaitingMe = values['awaiting-me'] === true;
    if (awaitingMe && (values.partner !== undefined || values.api !== undefined)) throw usageFailure(changeList, '--awaiting-me lists what awaits you; it does not go with --partner or --api');
    const query = new URLSearchParams(awaitingMe ? { awaiting: 'me' } : Object.entries({ partner: values.partner, api: values.api }).filter((e): e is [string, string] => typeof e[1] === 'string'));
    const path = `/v1/changes${query.size > 0 ? `?${query}` : ''}`;
    print((await callServer(config, 'GET', path)).json as ChangeSummary[], (changes) => listText(changes, awaitingMe));
    return 0;
  },
};
