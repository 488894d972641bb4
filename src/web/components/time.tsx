/** A UTC moment as the console shows it, to the minute ("2026-11-27 12:00 UTC"); nothing when absent. */
export function Time(props: { at: string | null | undefined }) {
  if (!props.at) return null;
  return <time datetime={props.at}>{`${props.at.slice(0, 16).replace('T', ' ')} UTC`}</time>;
}
