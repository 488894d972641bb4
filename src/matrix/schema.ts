/**
 * JSON Schemas (draft 2020-12) of the control matrix: one entry per business flow
 * (`control-matrix/<flow>.yaml`) and the governance policy (`control-matrix/policy.yaml`).
 * Unknown fields are refused everywhere, so a typo never silently drops a control.
 */

import { RULES } from '../diff/rules/index.ts';
import { LEVELS } from '../diff/types.ts';

export const FAILURE_MODES = [
  'partner-timeout',
  'downstream-validation-error',
  'member-mismatch',
  'duplicate-submission',
  'schema-drift',
  'partial-write',
  'delayed-event-propagation',
] as const;

export const INTERVENTION_ACTIONS = ['throttle', 'pause-retries', 'freeze-releases', 'page-owner', 'open-ticket'] as const;

export const EVIDENCE_KINDS = [
  'contract-test',
  'replay-test',
  'duplicate-handling-test',
  'failure-injection',
  'trace-completeness',
  'rollback-plan',
  'runbook',
  'synthetic-check',
] as const;

export const SLA_METRICS = ['timeToAcknowledge', 'timeToFinalize', 'duplicateResolution', 'remediationResponse'] as const;

/** ISO 8601 duration in days, hours, minutes and (fractional) seconds: P1D, PT30S, PT0.5S. */
export const DURATION_PATTERN = '^P(?!$)(\\d+D)?(T(?=\\d)(\\d+H)?(\\d+M)?(\\d+(\\.\\d+)?S)?)?$';

const id = { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' };
const duration = { type: 'string', pattern: DURATION_PATTERN, description: 'ISO 8601 duration such as PT30S, PT5M, P1D' };
const text = { type: 'string', minLength: 1, maxLength: 2000 };
const jsonPointer = { type: 'string', pattern: '^(/([^~/]|~[01])*)+$', description: 'JSON pointer into the request body' };

/** Whether running the compensation waits for an operator's approval (issue 18); default none. */
export const COMPENSATION_APPROVALS = ['required', 'none'] as const;
const approval = { enum: [...COMPENSATION_APPROVALS], description: 'required: the compensation waits in awaiting-approval until an operator approves or rejects it; default none' };

const compensation = {
  description: 'What undoes the step: an operation of the contract, or a strategy',
  oneOf: [
    { type: 'object', additionalProperties: false, required: ['operationId'], properties: { operationId: text, note: text, approval } },
    { type: 'object', additionalProperties: false, required: ['strategy'], properties: { strategy: { enum: ['mark-inactive', 'reversal-event'] }, note: text, approval } },
    { type: 'object', additionalProperties: false, required: ['strategy', 'justification'], properties: { strategy: { const: 'none' }, justification: { type: 'string', minLength: 10, maxLength: 2000 }, approval } },
  ],
};

/** SLA metrics an intervention rule may watch that are read live rather than sampled: the oldest compensation awaiting approval, in seconds. */
export const LIVE_SLA_METRICS = ['compensationApprovalWait'] as const;

const slaTarget = {
  type: 'object',
  additionalProperties: false,
  required: ['target', 'percentile'],
  properties: { target: duration, percentile: { type: 'number', exclusiveMinimum: 0, maximum: 100 } },
};

export const FLOW_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'urn:accord:control-matrix:flow',
  title: 'Accord control-matrix entry (one business flow)',
  type: 'object',
  additionalProperties: false,
  required: ['flow', 'title', 'requestType', 'owner', 'escalation', 'contract', 'steps', 'idempotency', 'failureModes', 'observability', 'sla'],
  properties: {
    flow: id,
    title: text,
    description: text,
    requestType: text,
    owner: {
      type: 'object',
      additionalProperties: false,
      required: ['team', 'contact'],
      properties: { team: text, contact: { type: 'string', format: 'email' } },
    },
    escalation: {
      type: 'array',
      minItems: 1,
      description: 'Ordered: each step starts `after` the incident opened',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['after', 'contact'],
        properties: { after: duration, contact: text, channel: { enum: ['pager', 'phone', 'email', 'chat', 'ticket'] } },
      },
    },
    contract: {
      type: 'object',
      additionalProperties: false,
      required: ['partner', 'api', 'versions'],
      properties: {
        partner: { anyOf: [id, { const: '*' }], description: 'A partner id, or * for every partner implementing the API' },
        api: id,
        versions: { type: 'string', minLength: 1, description: 'semver range, e.g. ">=1.0.0 <3.0.0"' },
      },
    },
    steps: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'operationId', 'timeout', 'retry', 'compensation', 'expectedTerminalStates'],
        properties: {
          id,
          operationId: text,
          timeout: duration,
          retry: {
            type: 'object',
            additionalProperties: false,
            required: ['maxAttempts', 'initial', 'multiplier', 'max', 'jitter'],
            properties: {
              maxAttempts: { type: 'integer', minimum: 1, maximum: 20 },
              initial: duration,
              multiplier: { type: 'number', minimum: 1, maximum: 10 },
              max: duration,
              jitter: { type: 'number', minimum: 0, maximum: 1, description: 'Fraction of each delay added at random' },
            },
          },
          compensation,
          expectedTerminalStates: {
            type: 'array',
            minItems: 1,
            uniqueItems: true,
            items: { enum: ['succeeded', 'failed', 'compensated', 'skipped', 'needs-attention'] },
          },
        },
      },
    },
    idempotency: {
      type: 'object',
      additionalProperties: false,
      required: ['keySource', 'fingerprint', 'dedupeWindow', 'replayPolicy', 'businessKeys'],
      properties: {
        keySource: {
          oneOf: [
            { type: 'object', additionalProperties: false, required: ['header'], properties: { header: { const: 'Idempotency-Key' } } },
            { type: 'object', additionalProperties: false, required: ['bodyPointers'], properties: { bodyPointers: { type: 'array', minItems: 1, items: jsonPointer } } },
          ],
        },
        fingerprint: {
          oneOf: [
            { type: 'object', additionalProperties: false, required: ['body'], properties: { body: { const: 'whole' } } },
            { type: 'object', additionalProperties: false, required: ['pointers'], properties: { pointers: { type: 'array', minItems: 1, items: jsonPointer } } },
          ],
        },
        dedupeWindow: duration,
        replayPolicy: { enum: ['return-original', 'reject', 'merge'] },
        businessKeys: { type: 'array', items: jsonPointer },
      },
    },
    failureModes: {
      type: 'object',
      additionalProperties: false,
      propertyNames: { enum: [...FAILURE_MODES] },
      patternProperties: {
        '': {
          type: 'object',
          additionalProperties: false,
          required: ['action', 'retryThreshold', 'compensation', 'supportOwner'],
          properties: {
            action: { enum: ['retry', 'retry-then-compensate', 'compensate', 'reject', 'manual-review', 'reconcile', 'alert'] },
            retryThreshold: { type: 'integer', minimum: 0, maximum: 20 },
            compensation: { type: 'string', minLength: 1, description: 'an operationId, mark-inactive, reversal-event or none' },
            supportOwner: text,
            note: text,
          },
        },
      },
    },
    observability: {
      type: 'object',
      additionalProperties: false,
      required: ['requiredFields', 'metrics'],
      properties: {
        requiredFields: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: '^[a-z][a-z0-9-]*$' } },
        metrics: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: '^[a-z_][a-z0-9_]*$' } },
      },
    },
    sla: {
      type: 'object',
      additionalProperties: false,
      required: [...SLA_METRICS, 'interventions'],
      properties: {
        timeToAcknowledge: slaTarget,
        timeToFinalize: slaTarget,
        duplicateResolution: slaTarget,
        remediationResponse: slaTarget,
        interventions: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['metric', 'above', 'window', 'for', 'actions'],
            properties: {
              metric: { enum: [...SLA_METRICS, 'errorRate', ...LIVE_SLA_METRICS], description: 'compensationApprovalWait: how long the oldest compensation has awaited approval (now; the window is not used)' },
              percentile: { type: 'number', exclusiveMinimum: 0, maximum: 100 },
              above: { anyOf: [duration, { type: 'number', minimum: 0, maximum: 1 }], description: 'a duration for time metrics, a fraction for errorRate' },
              window: duration,
              for: duration,
              actions: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: [...INTERVENTION_ACTIONS] } },
            },
          },
        },
      },
    },
  },
} as const;

const evidenceKinds = { type: 'array', uniqueItems: true, items: { enum: [...EVIDENCE_KINDS] } };
const DIFF_LEVELS = [...LEVELS];

export const POLICY_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'urn:accord:control-matrix:policy',
  title: 'Accord governance policy',
  type: 'object',
  additionalProperties: false,
  required: ['approvals', 'evidence'],
  properties: {
    approvals: {
      type: 'object',
      additionalProperties: false,
      required: ['breaking', 'non-breaking'],
      properties: { breaking: { type: 'integer', minimum: 1, maximum: 10 }, 'non-breaking': { type: 'integer', minimum: 1, maximum: 10 } },
    },
    evidence: {
      type: 'object',
      additionalProperties: false,
      required: ['breaking', 'non-breaking'],
      properties: { breaking: evidenceKinds, 'non-breaking': evidenceKinds },
    },
    acknowledgements: {
      type: 'object',
      additionalProperties: false,
      properties: { breaking: { enum: ['all-consumers', 'none'] }, 'non-breaking': { enum: ['all-consumers', 'none'] } },
    },
    deprecation: {
      type: 'object',
      additionalProperties: false,
      properties: { minimumNoticeDays: { type: 'integer', minimum: 0, maximum: 3650, default: 90, description: 'default 90' } },
    },
    accordEvidence: {
      type: 'object',
      description: 'per environment, the evidence kinds Accord itself must have produced (a certification run or a synthetic check), passing and unexpired, for the content of a version released there; default none',
      propertyNames: { pattern: '^[a-z][a-z0-9-]{0,39}$' },
      additionalProperties: evidenceKinds,
    },
    costs: {
      type: 'object',
      additionalProperties: false,
      description: "unit costs of a partner's unreliability on its scorecard; defaults USD 150 per manual intervention, 40 per compensation, 0.5 per duplicate",
      properties: {
        currency: { type: 'string', pattern: '^[A-Z]{3}$', description: 'ISO 4217 code; default USD' },
        manualIntervention: { type: 'number', minimum: 0, maximum: 1000000, description: 'per operator action (retry, compensate, approval decision); default 150' },
        compensation: { type: 'number', minimum: 0, maximum: 1000000, description: 'per transaction compensated; default 40' },
        duplicate: { type: 'number', minimum: 0, maximum: 1000000, description: 'per duplicate request handled; default 0.5' },
      },
    },
    diff: {
      type: 'object',
      additionalProperties: false,
      properties: {
        securityRequirementAdded: { enum: DIFF_LEVELS, description: 'level of a new security requirement (api-security-added, api-global-security-added); oasdiff: info' },
        levels: {
          type: 'object',
          additionalProperties: false,
          description: 'level overrides by diff rule id or former id (docs/diff-rules.md); they win over securityRequirementAdded',
          properties: Object.fromEntries(RULES.flatMap((r) => [r.id, ...(r.aliases ?? [])]).map((id) => [id, { enum: DIFF_LEVELS }])),
        },
        versionPolicy: { type: 'boolean', description: 'report a breaking change without a major info.version increase (api-version-not-bumped, api-version-decreased, api-major-version-not-bumped); default false' },
        deprecation: {
          type: 'object',
          additionalProperties: false,
          properties: {
            requireSunset: { type: 'boolean', description: 'a deprecated operation or parameter must carry x-sunset; default: when its minimum days are above 0' },
            minimumDays: {
              type: 'object',
              additionalProperties: false,
              description: "minimum days between deprecation and x-sunset (oasdiff's --deprecation-days-beta / --deprecation-days-stable); default 0",
              properties: { beta: { type: 'integer', minimum: 0, maximum: 3650 }, stable: { type: 'integer', minimum: 0, maximum: 3650 } },
            },
          },
        },
      },
    },
  },
} as const;
