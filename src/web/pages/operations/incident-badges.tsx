/** An incident's severity as a badge: sev1 danger, sev2 warning, sev3 neutral. */
export function SeverityBadge(props: { severity: string }) {
  return <span class={`badge ${props.severity === 'sev1' ? 'danger' : props.severity === 'sev2' ? 'warn' : 'neutral'}`}>{props.severity}</span>;
}

/** An incident's status as a badge: open fails, closed is fine. */
export function StatusBadge(props: { status: string }) {
  return <span class={`badge ${props.status === 'open' ? 'fail' : 'ok'}`}>{props.status}</span>;
}
