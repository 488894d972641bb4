/** The operations console's sections, in the order of the tab bar. */
export const OPERATIONS_SECTIONS: Array<[href: string, label: string]> = [
  ['/console/operations', 'Overview'],
  ['/console/operations/transactions', 'Transactions'],
  ['/console/operations/clusters', 'Failure clusters'],
  ['/console/operations/compensations', 'Compensations awaiting approval'],
  ['/console/operations/incidents', 'Incidents'],
];

/** The tab bar of the operations console; `path` marks the current section. */
export function OperationsNav(props: { path: string }) {
  const current = (href: string) => (href === '/console/operations' ? props.path === href : props.path === href || props.path.startsWith(`${href}/`));
  return (
    <nav aria-label="Operations sections">
      <ul class="tabs">
        {OPERATIONS_SECTIONS.map(([href, label]) => (
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
