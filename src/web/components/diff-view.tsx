import type { DiffResult } from '../../diff/types.ts';

/** What DiffView shows: the diff, and (when known) the two documents for side-by-side fragments. */
export interface DiffViewProps {
  result: DiffResult;
  /** Version labels of the two sides (e.g. "1.1.0" → "2.0.0"); the base may be absent (first version). */
  fromVersion?: string | null;
  toVersion?: string;
  /** The parsed documents, for the side-by-side of changed schema fragments (omitted: no fragments). */
  base?: unknown;
  revision?: unknown;
}

/**
 * A diff for a governance board: findings grouped by operation, breaking first, each with its
 * plain-language consequence, the semver verdict, and the changed schema fragments side by side.
 * (Stub: the contracts helper implements it; its props are the interface.)
 */
export function DiffView(props: DiffViewProps) {
  return <pre>{JSON.stringify(props.result.summary)}</pre>;
}
