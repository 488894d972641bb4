import type { IncidentDetail } from '../../../incidents/detail.ts';
import { ACTION_AREAS, ACTION_STATUSES, LINK_KINDS } from '../../../incidents/postmortem.ts';
import type { AccordError } from '../../../errors.ts';
import { CsrfField, ErrorBox, type PageContext } from '../../layout.tsx';

/** A console form's text fields by name. */
export type Form = Record<string, string>;

/** Blank action-item rows the postmortem form offers besides the existing items. */
const BLANK_ITEMS = 2;

/** A form field's value, trimmed; undefined when empty. */
export const optional = (v: string | undefined) => (v === undefined || v.trim() === '' ? undefined : v.trim());

/** The postmortem form's fields: from the stored postmortem, or from a submission refused. */
export function postmortemForm(detail: IncidentDetail): Form {
  const pm = detail.postmortem;
  if (!pm) return {};
  const form: Form = {
    rootCause: pm.rootCause,
    timeToDetect: pm.detection.timeToDetect ?? '',
    how: pm.detection.how,
    compensationEffectiveness: pm.compensationEffectiveness,
    partnerCommunication: pm.partnerCommunication,
    governanceGaps: pm.governanceGaps,
  };
  pm.actionItems.forEach((a, i) => {
    Object.assign(form, { [`item${i}.id`]: a.id, [`item${i}.title`]: a.title, [`item${i}.area`]: a.area, [`item${i}.linkKind`]: a.link?.kind ?? '', [`item${i}.linkRef`]: a.link?.ref ?? '', [`item${i}.owner`]: a.owner ?? '', [`item${i}.status`]: a.status });
  });
  return form;
}

/** How many action-item rows a form holds (item0.…, item1.…). */
function itemRows(form: Form): number[] {
  const rows = new Set<number>();
  for (const key of Object.keys(form)) {
    const m = /^item(\d{1,3})\./.exec(key);
    if (m) rows.add(Number(m[1]));
  }
  return [...rows].sort((a, b) => a - b);
}

/** The PUT body a postmortem form stands for (rows without a title and a link are left out). */
export function postmortemInput(form: Form): unknown {
  const actionItems = itemRows(form)
    .filter((i) => optional(form[`item${i}.title`]) || optional(form[`item${i}.linkRef`]))
    .map((i) => ({
      ...(optional(form[`item${i}.id`]) ? { id: form[`item${i}.id`] } : {}),
      title: form[`item${i}.title`] ?? '',
      area: form[`item${i}.area`],
      link: { kind: form[`item${i}.linkKind`], ref: form[`item${i}.linkRef`] ?? '' },
      ...(optional(form[`item${i}.owner`]) ? { owner: form[`item${i}.owner`] } : {}),
      status: form[`item${i}.status`] ?? 'open',
    }));
  return {
    rootCause: form.rootCause ?? '',
    detection: { ...(optional(form.timeToDetect) ? { timeToDetect: optional(form.timeToDetect) } : {}), how: form.how ?? '' },
    compensationEffectiveness: form.compensationEffectiveness ?? '',
    partnerCommunication: form.partnerCommunication ?? '',
    governanceGaps: form.governanceGaps ?? '',
    actionItems,
  };
}

function TextArea(props: { id: string; name: string; label: string; value: string | undefined; max?: number }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <textarea id={props.id} name={props.name} required maxlength={props.max ?? 20000}>
        {props.value ?? ''}
      </textarea>
    </div>
  );
}

function Select(props: { id: string; name: string; label: string; options: readonly string[]; value: string | undefined }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <select id={props.id} name={props.name}>
        {props.options.map((o) => (
          <option value={o} selected={props.value === o}>
            {o}
          </option>
        ))}
      </select>
    </div>
  );
}

export function PostmortemForm(props: { ctx: PageContext; detail: IncidentDetail; form: Form; error?: AccordError }) {
  const { ctx, detail, form } = props;
  const rows = itemRows(form);
  const next = rows.length ? rows.at(-1)! + 1 : 0;
  const all = [...rows, ...Array.from({ length: BLANK_ITEMS }, (_, k) => next + k)];
  return (
    <form method="post" action={`/console/operations/incidents/${detail.id}/postmortem`} aria-labelledby="postmortem-form">
      <h3 id="postmortem-form">{detail.postmortem ? 'Edit the postmortem' : 'Write the postmortem'}</h3>
      <ErrorBox message={props.error?.message} errors={props.error?.errors} />
      <CsrfField csrf={ctx.csrf} />
      <TextArea id="pm-root-cause" name="rootCause" label="Root cause" value={form.rootCause} />
      <div class="field">
        <label for="pm-ttd">Time to detect (ISO 8601 duration, e.g. PT12M; default: from the start to the opening)</label>
        <input id="pm-ttd" name="timeToDetect" type="text" maxlength={40} value={form.timeToDetect ?? ''} />
      </div>
      <TextArea id="pm-how" name="how" label="How it was detected" value={form.how} max={5000} />
      <TextArea id="pm-compensation" name="compensationEffectiveness" label="Compensation effectiveness" value={form.compensationEffectiveness} />
      <TextArea id="pm-communication" name="partnerCommunication" label="Partner communication" value={form.partnerCommunication} />
      <TextArea id="pm-gaps" name="governanceGaps" label="Governance gaps" value={form.governanceGaps} />
      <h4>Action items</h4>
      <p class="muted">Each links to a change request (its id), a control-matrix proposal (flow/vN, e.g. member-match/v3) or an evidence requirement (an evidence kind of the policy). Leave a row's title and reference empty to drop it.</p>
      {all.map((i, n) => (
        <fieldset>
          <legend>{`Action item ${n + 1}`}</legend>
          {form[`item${i}.id`] ? <input type="hidden" name={`item${i}.id`} value={form[`item${i}.id`]} /> : null}
          <div class="field">
            <label for={`item${i}-title`}>Title</label>
            <input id={`item${i}-title`} name={`item${i}.title`} type="text" maxlength={300} value={form[`item${i}.title`] ?? ''} />
          </div>
          <Select id={`item${i}-area`} name={`item${i}.area`} label="Area" options={ACTION_AREAS} value={form[`item${i}.area`]} />
          <Select id={`item${i}-link-kind`} name={`item${i}.linkKind`} label="Links to" options={LINK_KINDS} value={form[`item${i}.linkKind`]} />
          <div class="field">
            <label for={`item${i}-link-ref`}>Reference</label>
            <input id={`item${i}-link-ref`} name={`item${i}.linkRef`} type="text" maxlength={200} value={form[`item${i}.linkRef`] ?? ''} />
          </div>
          <div class="field">
            <label for={`item${i}-owner`}>Owner (optional)</label>
            <input id={`item${i}-owner`} name={`item${i}.owner`} type="text" maxlength={200} value={form[`item${i}.owner`] ?? ''} />
          </div>
          <Select id={`item${i}-status`} name={`item${i}.status`} label="Status" options={ACTION_STATUSES} value={form[`item${i}.status`] ?? 'open'} />
        </fieldset>
      ))}
      <button type="submit">Save the postmortem</button>
    </form>
  );
}

