import type { Principal } from '../../../auth/principal.ts';
import { mayReview, type QueuePage, type QueueRow, type QueueTab } from '../../../changes/queue.ts';
import { TableWrap } from '../../components/table-wrap.tsx';
import { Layout, type PageContext } from '../../layout.tsx';
import { Time } from '../../components/time.tsx';
import { StatusBadge, ClassBadge } from './parts.tsx';

/** The change-request queue's pages: the staff tabs and a partner's inbox. */

const TAB_TEXT: Record<QueueTab, { label: string; about: string }> = {
  review: { label: 'Awaiting review', about: 'Open change requests with fewer approvals than the policy requires.' },
  acks: { label: 'Awaiting acknowledgements', about: 'Open change requests with their approvals, still missing an acknowledgement from a consuming partner.' },
  ready: { label: 'Ready', about: 'Open change requests with their approvals and acknowledgements: what remains is evidence, the gate and the release.' },
  released: { label: 'Released', about: 'Change requests whose version was released (to any environment), deprecated or retired.' },
};
const MY_REVIEW = { label: 'Awaiting my review', about: 'Open change requests short of approvals that you may review: not opened by you, not of a version you registered, not reviewed by you yet.' };

/** A staff queue tab's label and what it holds, for this viewer. */
export function queueTabText(viewer: Principal, tab: QueueTab): { label: string; about: string } {
  return tab === 'review' && mayReview(viewer) ? MY_REVIEW : TAB_TEXT[tab];
}

export const PARTNER_TABS = {
  inbox: { label: 'Awaiting your acknowledgement', about: 'Open change requests to other partners’ APIs your organisation consumes: each needs your acknowledgement of its diff before it can be released.' },
  own: { label: 'Your APIs', about: 'The newest change request of each version of your own APIs, in any state.' },
};
export type PartnerTab = keyof typeof PARTNER_TABS;

function QueueTable(props: { rows: QueueRow[]; caption: string }) {
  return (
    <TableWrap label={props.caption}>
      <table>
        <caption class="muted">{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">Change</th>
            <th scope="col">Class</th>
            <th scope="col">Summary</th>
            <th scope="col">Opened</th>
            <th scope="col">Approvals</th>
            <th scope="col">Acknowledgements</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((r) => (
            <tr>
              <th scope="row">
                <a href={`/console/changes/${r.id}`}>{`${r.partner}/${r.api}@${r.version}`}</a>
              </th>
              <td>
                <ClassBadge breaking={r.breaking} />
              </td>
              <td>{r.summary}</td>
              <td>
                {r.createdBy}, <Time at={r.createdAt} />
              </td>
              <td>{`${r.approvals} of ${r.requiredApprovals}`}</td>
              <td>{r.requiredAcknowledgements === 0 ? 'none required' : `${r.acknowledgements} of ${r.requiredAcknowledgements}`}</td>
              <td>
                <StatusBadge row={r} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

export function Pagination(props: { page: QueuePage; href: (page: number) => string }) {
  const { page, hasMore } = props.page;
  if (page === 1 && !hasMore) return null;
  return (
    <nav class="pagination" aria-label="Pages">
      {page > 1 && <a href={props.href(page - 1)}>Newer change requests</a>}
      <span>Page {page}</span>
      {hasMore && <a href={props.href(page + 1)}>Older change requests</a>}
    </nav>
  );
}

export function QueuePageView(props: { ctx: PageContext; tabs: Array<{ id: string; label: string }>; current: string; about: string; list: QueuePage }) {
  const { ctx, list } = props;
  const label = props.tabs.find((t) => t.id === props.current)!.label;
  return (
    <Layout title="Change requests" ctx={ctx}>
      <nav aria-label="Change request queues">
        <ul class="tabs">
          {props.tabs.map((t) => (
            <li>
              <a href={`/console/changes?tab=${t.id}`} aria-current={t.id === props.current ? 'page' : undefined}>
                {t.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <p class="muted">{props.about}</p>
      {list.rows.length === 0 ? <p>{list.page === 1 ? 'No change requests here.' : 'No more change requests.'}</p> : <QueueTable rows={list.rows} caption={`${label}, newest first`} />}
      <Pagination page={list} href={(p) => `/console/changes?tab=${props.current}&page=${p}`} />
    </Layout>
  );
}
