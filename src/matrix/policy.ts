import type { Deps } from '../deps.ts';
import type { DeprecationPolicy, DiffOptions } from '../diff/contract-diff.ts';
import type { Level } from '../diff/types.ts';
import { getMatrixDocument, latestMatrixRow } from './store.ts';

/** How the policy classifies contract diffs (policy.yaml `diff`); oasdiff's defaults where absent. */
export interface DiffPolicy {
  /** Level of a new security requirement (`api-security-added`, `api-global-security-added`); oasdiff: info. */
  securityRequirementAdded?: Level;
  /** Level overrides by rule id or former id; they win over `securityRequirementAdded`. */
  levels?: Record<string, Level>;
  /** oasdiff's --deprecation-days-beta / --deprecation-days-stable, and whether a deprecation needs a sunset. */
  deprecation?: DeprecationPolicy;
  /** Report oasdiff's versioning checks (a breaking change without a major info.version increase). */
  versionPolicy?: boolean;
}

/** The governance policy in force, with every default filled in. */
export interface Policy {
  approvals: { breaking: number; 'non-breaking': number };
  evidence: { breaking: string[]; 'non-breaking': string[] };
  acknowledgements: { breaking: 'all-consumers' | 'none'; 'non-breaking': 'all-consumers' | 'none' };
  deprecation: { minimumNoticeDays: number };
  diff: DiffPolicy;
  costs: CostPolicy;
  /** Per environment, the evidence kinds Accord itself must have produced (passing, unexpired, for the content) before a release there. */
  accordEvidence: Record<string, string[]>;
}

/** What a partner's unreliability costs (policy.yaml `costs`): a unit cost per manual intervention, compensation and duplicate handled. */
export interface CostPolicy {
  currency: string;
  manualIntervention: number;
  compensation: number;
  duplicate: number;
}

/** The governance policy used when none has been registered, and the defaults of one that is. */
export const DEFAULT_POLICY: Policy = {
  approvals: { breaking: 2, 'non-breaking': 1 },
  evidence: { breaking: ['contract-test', 'replay-test', 'duplicate-handling-test', 'failure-injection', 'rollback-plan', 'runbook'], 'non-breaking': ['contract-test'] },
  acknowledgements: { breaking: 'all-consumers', 'non-breaking': 'none' },
  deprecation: { minimumNoticeDays: 90 },
  diff: {},
  costs: { currency: 'USD', manualIntervention: 150, compensation: 40, duplicate: 0.5 },
  accordEvidence: {},
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
    costs: { ...DEFAULT_POLICY.costs, ...stored.costs },
    accordEvidence: stored.accordEvidence ?? DEFAULT_POLICY.accordEvidence,
  };
}

/** The contract-diff options a policy asks for: its level overrides and deprecation requirements. */
export function diffOptionsOf(policy: Pick<Policy, 'diff'>, now: Date): DiffOptions {
  const { securityRequirementAdded: added, levels, deprecation, versionPolicy } = policy.diff;
  const all = { ...(added ? { 'api-security-added': added, 'api-global-security-added': added } : {}), ...levels };
  return { now, ...(Object.keys(all).length > 0 ? { levels: all } : {}), ...(deprecation ? { deprecation } : {}), ...(versionPolicy ? { versionPolicy } : {}) };
}

/** Options for contract diffs under the policy in force (clock, level overrides, deprecation requirements). */
export async function policyDiffOptions(deps: Pick<Deps, 'db' | 'registry' | 'clock' | 'config'>): Promise<DiffOptions> {
  return diffOptionsOf(await currentPolicy(deps), deps.clock());
}
