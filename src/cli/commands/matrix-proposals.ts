import type { MatrixProposalView } from '../../matrix/proposals.ts';
import type { MatrixVersionView } from '../../matrix/store.ts';
import { oneLine } from '../../lib/text.ts';
import { callServer } from '../client.ts';
import type { Command } from '../command.ts';
import { CliFailure, usageFailure } from '../errors.ts';
import { contentTypeOf, readInputFile } from '../files.ts';

/**
 * `accord matrix propose | approve | reject`: the control matrix's change control (ADR 0018)
 * from the command line, against the server at ACCORD_URL with ACCORD_TOKEN.
 */

const path = (flow: string, rest = '') => `/v1/control-matrix/${encodeURIComponent(flow)}${rest}`;

function summaryLine(p: MatrixProposalView): string {
  const s = p.diff.summary;
  return `${s.breaking} breaking, ${s.warning} to review, ${s.info} informational${p.breaking ? ' (weakens a guarantee)' : ''}`;
}

function approvalsLine(p: MatrixProposalView): string {
  return `${p.approvals.counted} of ${p.approvals.required} approval${p.approvals.required === 1 ? '' : 's'}${p.approvals.by.length > 0 ? ` (${p.approvals.by.join(', ')})` : ''}`;
}

/** `accord matrix propose`: a new version of a flow entry, proposed for review against the approved version it was read from. */
export const matrixPropose: Command = {
  name: 'matrix propose',
  synopsis: 'accord matrix propose <flow> <file> [--format text|json]',
  summary: 'propose a change to a control-matrix flow for review',
  help: `accord matrix propose <flow> <file> [--format text|json]

Proposes <file> (YAML or JSON, by extension) as the next version of control-matrix flow <flow>
on the server at ACCORD_URL with ACCORD_TOKEN (author or admin). It reads the flow's approved
version first and sends its ETag as If-Match (If-None-Match: * for a new flow), so a change
written against a version that is no longer approved is refused (HTTP 412) instead of undoing
someone else's. Prints the proposal's number, its diff against the approved version and the
approvals it needs; it governs nothing until approvers approve it (accord matrix approve).
Exit 0 proposed (or unchanged), 1 refused, 3 error.`,
  options: {},
  async run({ positionals }, { config, print }) {
    const [flow, file] = positionals;
    if (!flow || !file || positionals.length > 2) throw usageFailure(matrixPropose);
    const text = await readInputFile(file);
    let precondition: Record<string, string> = { 'If-None-Match': '*' };
      try {
        const etag = (await callServer(config, 'GET', path(flow))).headers.get('etag');
        if (etag) precondition = { 'If-Match': etag };
      } catch (error) {
        // No approved version yet (a new flow, or only proposals): propose its first version.
        if (!(error instanceof CliFailure && error.status === 404)) throw error;
      }
      const put = await callServer(config, 'PUT', path(flow), { text, contentType: contentTypeOf(file) }, precondition);
      const stored = put.json as MatrixVersionView & Partial<MatrixProposalView>;
      const proposal = stored.status === 'proposed' ? ((await callServer(config, 'GET', path(flow, `/proposals/${stored.version}`))).json as MatrixProposalView) : undefined;
    print(proposal ?? stored, () => {
      if (!proposal) return `Unchanged: ${flow} version ${stored.version} (${stored.status}) already has this content.`;
      const base = proposal.baseVersion === null ? 'a new flow' : `against approved version ${proposal.baseVersion}`;
      return [
        oneLine(`${put.status === 201 ? 'Proposed' : 'Already proposed (identical)'}: ${flow} version ${proposal.version} (${base}) by ${proposal.createdBy}: ${summaryLine(proposal)}`),
        ...(proposal.diff.changes ?? []).map((c) => oneLine(`  ${c.level === 'warning' ? 'review' : c.level} ${c.location || '/'} ${c.message}`)),
        `Needs ${approvalsLine(proposal)} from approvers other than ${proposal.createdBy}: accord matrix approve ${flow} ${proposal.version}`,
      ].join('\n');
    });
    return 0;
  },
};

function reviewCommand(decision: 'approve' | 'reject'): Command {
  const verb = decision === 'approve' ? 'approve' : 'reject';
  const command: Command = {
    name: `matrix ${verb}`,
    synopsis: `accord matrix ${verb} <flow> <version> ${decision === 'reject' ? '--comment TEXT' : '[--comment TEXT]'} [--format text|json]`,
    summary: decision === 'approve' ? 'approve a proposed control-matrix change' : 'reject a proposed control-matrix change, saying why',
    help: `accord matrix ${verb} <flow> <version> ${decision === 'reject' ? '--comment TEXT' : '[--comment TEXT]'} [--format text|json]

${decision === 'approve' ? 'Approves' : 'Rejects'} proposal <version> of control-matrix flow <flow> on the server at ACCORD_URL
with ACCORD_TOKEN (approver or admin, never the proposal's author; once per person).${
      decision === 'approve'
        ? `
With the policy's number of approvals (approvals.breaking when the proposal weakens a
guarantee, else approvals.non-breaking) it becomes the approved version: the gate and the
runtime use it at once, and the flow's other open proposals are superseded.`
        : `
A rejected proposal never governs; its author proposes again with a changed entry.`
    }
Exit 0 recorded, 1 refused (the author, a second review, a proposal no longer open or written
against a version that is no longer approved), 3 error.`,
    options: { comment: { type: 'string' } },
    async run({ values, positionals }, { config, print }) {
      const [flow, version] = positionals;
      if (!flow || !version || positionals.length > 2) throw usageFailure(command);
      if (!/^[1-9]\d{0,8}$/.test(version)) throw usageFailure(command, `<version> must be a proposal's version number (1, 2, …), not "${version}"`);
      const comment = values.comment as string | undefined;
      if (decision === 'reject' && !comment?.trim()) throw usageFailure(command, '--comment says why the change is rejected');
      const body = JSON.stringify({ decision, ...(comment !== undefined ? { comment } : {}) });
      const result = (await callServer(config, 'POST', path(flow, `/proposals/${version}/reviews`), { text: body, contentType: 'application/json' })).json as { proposal: MatrixProposalView };
      print(result, ({ proposal: p }) => {
        if (p.status === 'approved') return oneLine(`Approved: ${flow} version ${p.version} is the approved version now and governs the gate and the runtime (${approvalsLine(p)}).`);
        if (p.status === 'rejected') return oneLine(`Rejected: ${flow} version ${p.version} (proposed by ${p.createdBy}) will not govern.`);
        return oneLine(`Recorded your approval of ${flow} version ${p.version}: ${approvalsLine(p)}; it stays proposed until ${p.approvals.required - p.approvals.counted} more approver(s) approve.`);
      });
      return 0;
    },
  };
  return command;
}

/** `accord matrix approve`: approves a proposal (exit 0 recorded, 1 refused, 3 error). */
export const matrixApprove = reviewCommand('approve');

/** `accord matrix reject`: rejects a proposal with a comment (exit 0 recorded, 1 refused, 3 error). */
export const matrixReject = reviewCommand('reject');
