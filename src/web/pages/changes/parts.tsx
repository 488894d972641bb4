import { Time } from '../../components/time.tsx';
import { queueStatus } from '../../../changes/queue.ts';
import type { FoundAfterReview } from '../../../changes/snapshot.ts';
import type { ChangeEvidence } from '../../../changes/view.ts';
import { checkIds } from '../../../contracts/ids.ts';
import { AccordError } from '../../../errors.ts';
import type { GateFacts, Reason } from '../../../gate/evaluate.ts';
import { TableWrap } from '../../components/table-wrap.tsx';

/** Small pieces the change-request pages share: badges, times, parameters, reasons, evidence. */

export const STATUS_WORDS: Record<ReturnType<typeof queueStatus>, [string, string]> = {
  review: ['Awaiting review', 'pending'],
  acks: ['Awaiting acknowledgements', 'pending'],
  ready: ['Ready to release', 'ok'],
  released: ['Released', 'neutral'],
  rejected: ['Rejected', 'fail'],
};

export const DONE = {
  approved: 'Your approval is recorded.',
  rejected: 'Your rejection is recorded.',
  acknowledged: 'Your acknowledgement is recorded.',
  'gate-checked': 'A gate decision is recorded for this environment; its verdict is the preview below.',
  released: 'The release is recorded.',
} as const satisfies Record<string, string>;
export type Done = keyof typeof DONE;

/** Environments offered by the forms (any valid id may be typed into the URL). */
export const ENVIRONMENTS = ['production', 'staging', 'sandbox'];

function age(now: Date, at: string): string {
  const days = Math.floor((now.getTime() - Date.parse(at)) / 86_400_000);
  return days <= 0 ? 'less than a day old' : days === 1 ? '1 day old' : `${days} days old`;
}

export function environmentParam(raw: unknown): string {
  if (raw === undefined || raw === '') return 'production';
  const errors = checkIds({ environment: typeof raw === 'string' ? raw : undefined });
  if (errors.length > 0) throw new AccordError('bad_request', 'Unknown environment', { errors });
  return raw as string;
}

export function StatusBadge(props: { row: Parameters<typeof queueStatus>[0] }) {
  const [words, tone] = STATUS_WORDS[queueStatus(props.row)];
  return <span class={`badge ${tone}`}>{words}</span>;
}

export function ClassBadge(props: { breaking: boolean }) {
  return props.breaking ? <span class="badge breaking">breaking</span> : <span class="badge neutral">non-breaking</span>;
}

export function ReasonList(props: { reasons: Reason[] }) {
  return (
    <ul class="reasons">
      {props.reasons.map((r) => (
        <li>
          <span class={`badge ${r.status}`}>{r.status}</span> <strong>{r.rule}</strong>: {r.message}
          {r.howToFix && r.status !== 'met' ? (
            <details>
              <summary>How to fix</summary>
              <p class="muted">{r.howToFix}</p>
            </details>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

/** A flow's SLA targets in words, e.g. "timeToAcknowledge p95 within PT5S". */
export function slaTargets(sla: GateFacts['flows'][number]['sla']): string[] {
  return Object.entries(sla).flatMap(([name, target]) => (name === 'interventions' || Array.isArray(target) ? [] : [`${name} p${target.percentile} within ${target.target}`]));
}

export function ExternalLink(props: { uri: string }) {
  return /^https?:\/\//i.test(props.uri) ? <a href={props.uri}>{props.uri}</a> : <code>{props.uri}</code>;
}

export function EvidenceTable(props: { evidence: ChangeEvidence[]; now: Date }) {
  if (props.evidence.length === 0) return <p>No evidence recorded for the kinds this change requires.</p>;
  return (
    <TableWrap label="Newest records of each required kind">
      <table>
        <caption class="muted">Newest records of each required kind</caption>
        <thead>
          <tr>
            <th scope="col">Kind</th>
            <th scope="col">Result</th>
            <th scope="col">Environment</th>
            <th scope="col">Produced</th>
            <th scope="col">Recorded</th>
            <th scope="col">Bound to this content</th>
            <th scope="col">Report</th>
          </tr>
        </thead>
        <tbody>
          {props.evidence.map((e) => (
            <tr>
              <th scope="row">{e.kind}</th>
              <td>
                <span class={`badge ${e.result === 'pass' ? 'pass' : 'fail'}`}>{e.result}</span>
                {e.expiresAt ? (
                  <span class="muted">
                    {' '}
                    {Date.parse(e.expiresAt) <= props.now.getTime() ? 'expired' : 'expires'} <Time at={e.expiresAt} />
                  </span>
                ) : null}
              </td>
              <td>{e.environment}</td>
              <td>
                <Time at={e.producedAt} /> ({age(props.now, e.producedAt)})
              </td>
              <td>
                <Time at={e.createdAt} />
              </td>
              <td>{e.boundToContent ? <span class="badge ok">yes</span> : <span class="badge warn">no — other content, ignored</span>}</td>
              <td>
                <ExternalLink uri={e.uri} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

/** The breaking findings found after the change was reviewed (ADR 0022), if any. */
export function FoundAfterReviewPanel({ findings }: { findings: FoundAfterReview[] }) {
  if (findings.length === 0) return null;
  return (
    <section class="panel" aria-labelledby="found-after-review">
      <h2 id="found-after-review">Found after review</h2>
      <p role="alert">
        Accord's diff found {findings.length} breaking finding{findings.length === 1 ? '' : 's'} in this change after it was reviewed (a newer diff engine, or a policy that raised a rule's level). {findings.length === 1 ? 'It was' : 'They were'} added to the diff below; reviews and acknowledgements of the diff before no longer count, so the amended diff needs a fresh review.
      </p>
      <TableWrap label="Breaking findings found after review">
        <table>
          <caption class="muted">Breaking findings found after review</caption>
          <thead>
            <tr>
              <th scope="col">Where</th>
              <th scope="col">Finding</th>
              <th scope="col">Rule</th>
              <th scope="col">Found</th>
            </tr>
          </thead>
          <tbody>
            {findings.map((f) => (
              <tr>
                <th scope="row">{f.method && f.path ? `${f.method} ${f.path}` : f.location || '/'}</th>
                <td>{f.message}</td>
                <td>
                  <code>{f.rule}</code>
                </td>
                <td>
                  <Time at={f.at} /> <span class="muted">(reviewed diff {f.reviewedHash.slice(0, 12)})</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
    </section>
  );
}
