import type { Principal } from '../../../auth/principal.ts';
import { mayCall } from '../../../http/api.ts';
import { listCompensationApprovals } from '../../../http/operations/approvals.ts';
import { listFailureClusters } from '../../../http/operations/failure-clusters.ts';
import { listIncidents } from '../../../http/operations/incidents.ts';
import { getOpsOverview } from '../../../http/operations/ops-overview.ts';
import { listTransactions } from '../../../http/operations/transactions.ts';
import type { PageContext } from '../../layout.tsx';

/** The operations console's sections, in the order of the tab bar, each with the operation it reads (a tab shows only to who may call it). */
export const OPERATIONS_SECTIONS: Array<[href: string, label: string, operation: { method: string; path: string }]> = [
  ['/console/operations', 'Overview', getOpsOverview],
  ['/console/operations/transactions', 'Transactions', listTransactions],
  ['/console/operations/clusters', 'Failure clusters', listFailureClusters],
  ['/console/operations/compensations', 'Compensations awaiting approval', listCompensationApprovals],
  ['/console/operations/incidents', 'Incidents', listIncidents],
];

/** The sections `principal` may open. */
export function sectionsFor(principal: Principal): Array<[href: string, label: string]> {
  return OPERATIONS_SECTIONS.filter(([, , operation]) => mayCall(principal, operation)).map(([href, label]) => [href, label]);
}

/** The tab bar of the operations console: the sections the signed-in user may open; the current one is marked. */
export function OperationsNav(props: { ctx: PageContext }) {
  const path = props.ctx.path;
  const current = (href: string) => (href === '/console/operations' ? path === href : path === href || path.startsWith(`${href}/`));
  return (
    <nav aria-label="Operations sections">
      <ul class="tabs">
        {sectionsFor(props.ctx.principal).map(([href, label]) => (
          <li>
            <a href={href} aria-current={current(href) ? 'page' : undefined}>
              {label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
