import type { Deps } from '../deps.ts';
import { getMatrixDocument, latestMatrixRow } from './store.ts';

/** The governance policy in force, with every default filled in. */
export interface Policy {
  approvals: { breaking: number; 'non-breaking': number };
  evidence: { breaking: string[]; 'non-breaking': string[] };
  acknowledgements: { breaking: 'all-consumers' | 'none'; 'non-breaking': 'all-consumers' | 'none' };
  deprecation: { minimumNoticeDays: number };
  diff: { securityRequirementAdded: 'warning' | 'breaking' };
}

/** The governance policy used when none has been registered, and the defaults of one that is. */
export const DEFAULT_POLICY: Policy = {
  approvals: { breaking: 2, 'non-breaking': 1 },
  evidence: { breaking: ['contract-test', 'replay-test', 'duplicate-handling-test', 'failure-injection', 'rollback-plan', 'runbook'], 'non-breaking': ['contract-test'] },
  acknowledgements: { breaking: 'all-consumers', 'non-breaking': 'none' },
  deprecation: { minimumNoticeDays: 90 },
  diff: { securityRequirementAdded: 'warning' },
};

/** The governance policy in force: the latest registered version with defaults filled in, else DEFAULT_POLICY. */
export async function currentPolicy(deps: Pick<Deps, 'db' | 'registry' | 'config'>): Promise<Policy> {
  if (!await latestMatrixRow(deps, 'policy')) return DEFAULT_POLICY;
  const stored = (await getMatrixDocument(deps, 'policy', 'policy')).entry as Partial<Policy>;
  return {
    approvals: stored.approvals ?? DEFAULT_POLICY.approvals,
    evidence: stored.evidence ?? DEFAULT_POLICY.evidence,
    acknowledgements: { ...DEFAULT_POLICY.acknowledgements, ...stored.acknowledgements },
    deprecation: { ...DEFAULT_POLICY.deprecation, ...stored.deprecation },
    diff: { ...DEFAULT_POLICY.diff, ...stored.diff },
  };
}

/** Options for contract diffs under the policy in force (clock and security strictness). */
export async function policyDiffOptions(deps: Pick<Deps, 'db' | 'registry' | 'clock' | 'config'>): Promise<{ now: Date; strictSecurity: boolean }> {
  return { now: deps.clock(), strictSecurity: (await currentPolicy(deps)).diff.securityRequirementAdded === 'breaking' };
}
