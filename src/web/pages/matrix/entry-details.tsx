import { AccordError } from '../../../errors.ts';
import type { FlowEntry, Step } from '../../../matrix/checks.ts';
import { durationMs, formatMs } from '../../../matrix/durations.ts';
import { toRow } from '../../../matrix/render.ts';
import { TableWrap } from '../../components/table-wrap.tsx';

/** A control-matrix flow entry in full (steps, idempotency, failure modes, observability, SLA, escalation), and the helpers that word it. */

const human = (duration: string) => formatMs(durationMs(duration));

/** Table cells that hold one item per line (the matrix renderer joins them with "\n"). */
export function Lines(props: { text: string }) {
  const lines = props.text.split('\n').filter(Boolean);
  if (lines.length === 0) return <span class="muted">none</span>;
  return (
    <ul class="cell">
      {lines.map((l) => (
        <li>{l}</li>
      ))}
    </ul>
  );
}

export function retries(step: Step, withJitter = true): string {
  const r = step.retry;
  if (r.maxAttempts <= 1) return 'no retries';
  return `${r.maxAttempts} attempts, backoff ${human(r.initial)} × ${r.multiplier} up to ${human(r.max)}${withJitter ? `, jitter ${Math.round(r.jitter * 100)}%` : ''}`;
}

export function compensation(c: Step['compensation'] & { note?: string; justification?: string }): string {
  const what = c.operationId ? `calls ${c.operationId}` : c.strategy === 'none' ? `none: ${c.justification ?? ''}` : c.strategy!;
  const shown = c.note ? `${what} (${c.note})` : what;
  return c.approval === 'required' ? `${shown}; waits for an operator's approval` : shown;
}

/** A query value that must be a version number (1, 2, …), or absent. */
export function versionParam(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^[1-9]\d{0,8}$/.test(raw)) throw new AccordError('bad_request', `?${name} must be a version number (1, 2, …), not "${raw}"`, { errors: [{ location: name, message: 'positive integer' }] });
  return Number(raw);
}


export function EntryDetails(props: { entry: FlowEntry & { description?: string } }) {
  const e = props.entry;
  const idem = e.idempotency;
  return (
    <>
      <dl class="facts">
        <dt>Description</dt>
        <dd>{e.description ?? <span class="muted">none</span>}</dd>
        <dt>Request type</dt>
        <dd>{e.requestType}</dd>
        <dt>Contract</dt>
        <dd>
          {e.contract.partner === '*' ? 'every partner' : e.contract.partner}: {e.contract.api} {e.contract.versions}
        </dd>
        <dt>Owner</dt>
        <dd>
          {e.owner.team} &lt;{e.owner.contact}&gt;
        </dd>
      </dl>

      <h2 id="steps">Steps</h2>
      <TableWrap label="Steps">
        <table aria-labelledby="steps">
          <thead>
            <tr>
              <th scope="col">Step</th>
              <th scope="col">Operation</th>
              <th scope="col">Timeout</th>
              <th scope="col">Retries</th>
              <th scope="col">Compensation</th>
              <th scope="col">Terminal states</th>
            </tr>
          </thead>
          <tbody>
            {e.steps.map((s) => (
              <tr>
                <th scope="row">{s.id}</th>
                <td>
                  <code>{s.operationId}</code>
                </td>
                <td>{human(s.timeout)}</td>
                <td>{retries(s)}</td>
                <td>{compensation(s.compensation)}</td>
                <td>{(s as Step & { expectedTerminalStates: string[] }).expectedTerminalStates.join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>

      <h2>Idempotency</h2>
      <dl class="facts">
        <dt>Key</dt>
        <dd>{idem.keySource.header ? `${idem.keySource.header} header` : `body ${idem.keySource.bodyPointers!.join(', ')}`}</dd>
        <dt>Fingerprint</dt>
        <dd>{idem.fingerprint.body ? 'the whole body' : idem.fingerprint.pointers!.join(', ')}</dd>
        <dt>Dedupe window</dt>
        <dd>{human(idem.dedupeWindow)}</dd>
        <dt>Replay policy</dt>
        <dd>{idem.replayPolicy}</dd>
        <dt>Business keys</dt>
        <dd>{idem.businessKeys.length > 0 ? idem.businessKeys.join(', ') : <span class="muted">none</span>}</dd>
      </dl>

      <h2 id="failure-modes">Failure modes</h2>
      <TableWrap label="Failure modes">
        <table aria-labelledby="failure-modes">
          <thead>
            <tr>
              <th scope="col">Failure</th>
              <th scope="col">Action</th>
              <th scope="col">Retry threshold</th>
              <th scope="col">Compensation</th>
              <th scope="col">Support owner</th>
              <th scope="col">Note</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(e.failureModes).map(([mode, f]) => (
              <tr>
                <th scope="row">{mode}</th>
                <td>{f.action}</td>
                <td>{f.retryThreshold}</td>
                <td>{f.compensation}</td>
                <td>{f.supportOwner}</td>
                <td>{(f as { note?: string }).note ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>

      <h2>Observability</h2>
      <dl class="facts">
        <dt>Required fields</dt>
        <dd>{e.observability.requiredFields.join(', ')}</dd>
        <dt>Metrics</dt>
        <dd>{e.observability.metrics.join(', ')}</dd>
      </dl>

      <h2 id="sla">SLA</h2>
      <TableWrap label="SLA targets">
        <table aria-labelledby="sla">
          <thead>
            <tr>
              <th scope="col">Target</th>
              <th scope="col">Percentile</th>
              <th scope="col">At most</th>
            </tr>
          </thead>
          <tbody>
            {(['timeToAcknowledge', 'timeToFinalize', 'duplicateResolution', 'remediationResponse'] as const).map((metric) => (
              <tr>
                <th scope="row">{metric}</th>
                <td>p{e.sla[metric]!.percentile}</td>
                <td>{human(e.sla[metric]!.target)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <h3>Interventions</h3>
      <Lines text={toRow(e, 0).interventions} />

      <h2 id="escalation">Escalation</h2>
      <TableWrap label="Escalation">
        <table aria-labelledby="escalation">
          <thead>
            <tr>
              <th scope="col">After</th>
              <th scope="col">Contact</th>
              <th scope="col">Channel</th>
            </tr>
          </thead>
          <tbody>
            {e.escalation.map((x) => (
              <tr>
                <th scope="row">{human(x.after)}</th>
                <td>{x.contact}</td>
                <td>{x.channel ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
    </>
  );
}

