import type { GateDecision } from '../../gate/check.ts';
import { callServer } from '../client.ts';
import type { Command } from '../command.ts';
import { CliFailure } from '../errors.ts';
import { gateJunit, gateMarkdown, gateText } from '../gate-report.ts';

const HELP = `accord gate check --partner P --api A --version V --env E [--format text|json|markdown|junit]
                  [--retry-while-pending N --retry-interval S] [--break-glass REASON]

Asks the release gate of the server at ACCORD_URL (ACCORD_TOKEN: ci, author, approver or admin)
whether P/A@V may be released to E. Prints a one-line verdict, then each unmet requirement and
how to meet it, what changed, how breakage is detected and how to recover. With
--retry-while-pending N it asks again up to N more times, S seconds apart (default 30), while
the answer is pending. --break-glass REASON (admin) passes regardless and opens a review item.
--json is short for --format json. Exit 0 pass, 1 fail, 2 still pending, 3 error (including a
request the server refused, such as an unknown version).`;

/** `accord gate check`: asks the release gate; its exit code is the verdict (0 pass, 1 fail, 2 pending, 3 error). */
export const gateCheck: Command = {
  name: 'gate check',
  synopsis: `accord gate check --partner P --api A --version V --env E [--format text|json|markdown|junit]
                 [--retry-while-pending N --retry-interval S] [--break-glass REASON]`,
  summary: 'ask the release gate (exit 0 pass, 1 fail, 2 pending, 3 error)',
  help: HELP,
  options: {
    partner: { type: 'string' },
    api: { type: 'string' },
    version: { type: 'string' },
    env: { type: 'string' },
    format: { type: 'string' },
    'retry-while-pending': { type: 'string' },
    'retry-interval': { type: 'string' },
    'break-glass': { type: 'string' },
  },
  async run({ values }, { config, io }) {
    const missing = ['partner', 'api', 'version', 'env'].filter((k) => !values[k]);
    if (missing.length > 0) throw new CliFailure(`Missing ${missing.map((m) => `--${m}`).join(', ')}\n${HELP.split('\n\n')[0]}`, 3, { kind: 'usage' });
    const format = (values.format as string | undefined) ?? 'text';
    if (!['text', 'json', 'markdown', 'junit'].includes(format)) throw new CliFailure('--format must be text, json, markdown or junit', 3, { kind: 'usage' });
    const retries = Number(values['retry-while-pending'] ?? 0);
    const interval = Number(values['retry-interval'] ?? 30);
    if (!Number.isInteger(retries) || retries < 0 || !(interval >= 0)) throw new CliFailure('--retry-while-pending takes a whole number, --retry-interval seconds', 3, { kind: 'usage' });
    const body = JSON.stringify({ partner: values.partner, api: values.api, version: values.version, environment: values.env, ...(values['break-glass'] ? { breakGlass: values['break-glass'] } : {}) });
    let decision: GateDecision;
    for (let attempt = 0; ; attempt++) {
      try {
        decision = (await callServer(config, 'POST', '/v1/gate/check', { text: body, contentType: 'application/json' })).json as GateDecision;
      } catch (error) {
        // Exit 1 means "the gate failed"; a request the server refused is an error.
        throw error instanceof CliFailure ? new CliFailure(error.message, 3, error) : error;
      }
      if (decision.verdict !== 'pending' || attempt >= retries) break;
      io.err(`accord: gate pending (${attempt + 1}/${retries}); asking again in ${interval} s`);
      await new Promise((resolve) => setTimeout(resolve, interval * 1000));
    }
    io.out(format === 'json' ? JSON.stringify(decision, null, 2) : format === 'markdown' ? gateMarkdown(decision) : format === 'junit' ? gateJunit(decision) : gateText(decision));
    return decision.verdict === 'pass' ? 0 : decision.verdict === 'fail' ? 1 : 2;
  },
};
