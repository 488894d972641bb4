/**
 * Accord's token scopes: one vocabulary for every operation (declared per operation as
 * `scope` in its definition, src/http/operations/*, next to its roles) and for the exchange runtime.
 * A token limited to some scopes may call only operations needing one of them, and only within
 * what its role allows. Later features reuse these names; add new ones here.
 */
export const SCOPES = {
  'contracts:read': 'Read contracts: versions, documents, diffs, history, consumers, release notes; stateless diffs',
  'contracts:write': 'Register contract versions, set consumers, declare consumer usage, deprecate versions',
  'matrix:read': 'Read the control matrix and the policy; dry-run matrix checks',
  'matrix:write': 'Store control-matrix entries and the policy',
  'changes:read': 'Read change requests and review items',
  'changes:write': 'Open change requests',
  'changes:review': 'Approve or reject changes; close review items',
  'changes:acknowledge': 'Acknowledge a change as a consuming partner',
  'evidence:read': 'Read release evidence',
  'evidence:write': 'Record release evidence (JSON or JUnit)',
  'gate:check': 'Ask the release gate and read its decisions',
  'releases:read': 'Read release freezes',
  'releases:write': 'Record releases; freeze and unfreeze releases',
  'notices:read': 'Read notices (JSON and the Atom feed)',
  webhooks: 'Register, list and delete webhooks; read their delivery logs',
  endpoints: 'Read and set a partner’s endpoints and the credentials Accord calls them with',
  certifications: 'Start certification runs against a partner’s endpoint and read their reports',
  exchange: 'Call partner operations on the exchange runtime (/exchange/*)',
  'transactions:read': 'Find and list transactions',
  'transactions:write': 'Start transactions (control-matrix flows)',
  operator: 'Operator actions: retry and compensate transactions, inject faults, run fault experiments and synthetic transactions',
  'observability:read': 'Read SLA status, scorecards, operator views, injected faults and incidents',
  'incidents:write': 'Open incidents, write their postmortems and close them',
  tokens: 'Create, list and revoke tokens',
  'audit:read': 'Read the audit log',
} as const satisfies Record<string, string>;

export type Scope = keyof typeof SCOPES;

/** Every scope name, in the vocabulary's order. */
export const SCOPE_NAMES = Object.keys(SCOPES) as Scope[];

/** Whether `name` is a scope of the vocabulary. */
export function isScope(name: unknown): name is Scope {
  return typeof name === 'string' && Object.hasOwn(SCOPES, name);
}
