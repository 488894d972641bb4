import { z } from '@hono/zod-openapi';
import { OPERATOR_ROLES, STAFF_ROLES } from '../../auth/principal.ts';
import { INCIDENT_SOURCES, INCIDENT_STATUSES, IncidentRequest, SEVERITIES } from '../../incidents/incidents.ts';
import { ACTION_AREAS, ACTION_STATUSES, LINK_KINDS, PostmortemRequest } from '../../incidents/postmortem.ts';
import { TIMELINE_KINDS } from '../../incidents/timeline.ts';
import { defineOperation, json, jsonBodyOf, pathParam, problem } from '../operation.ts';
import { PageQuery, pagedJson } from '../pages.ts';
import { formatParam } from '../formats.ts';

/** What one incident is answered as (`?format=` or Accept). */
export const INCIDENT_FORMATS = ['json', 'markdown'] as const;

/** Incidents and postmortems: /v1/incidents (issue 18). */

const Incident = z
  .object({
    id: z.string(),
    ref: z.string().meta({ description: 'INC-<number>, numbered in order of opening' }),
    number: z.number().int(),
    title: z.string(),
    severity: z.enum(SEVERITIES),
    status: z.enum(INCIDENT_STATUSES),
    flow: z.string().nullable(),
    partner: z.string().nullable(),
    api: z.string().nullable(),
    source: z.enum(INCIDENT_SOURCES).meta({ description: 'sla: opened by an SLA breach; operator: opened by a person' }),
    openedBy: z.string(),
    openedAt: z.string(),
    startedAt: z.string().meta({ description: 'When the trouble started (an SLA breach: when the rule was first breached)' }),
    closedBy: z.string().nullable(),
    closedAt: z.string().nullable(),
    summary: z.string().nullable(),
    interventions: z.array(z.string()).meta({ description: 'The SLA interventions (sla_interventions ids) the incident covers' }),
  })
  .meta({ id: 'Incident' });

const TimelineEntry = z
  .object({ at: z.string(), kind: z.enum(TIMELINE_KINDS), summary: z.string(), link: z.string().nullable().meta({ description: 'An API path to read more' }) })
  .meta({ id: 'IncidentTimelineEntry' });

const ActionItem = z
  .object({
    id: z.string(),
    title: z.string(),
    area: z.enum(ACTION_AREAS),
    link: z.object({ kind: z.enum(LINK_KINDS), ref: z.string() }).nullable(),
    owner: z.string().nullable(),
    status: z.enum(ACTION_STATUSES),
    createdAt: z.string(),
    doneAt: z.string().nullable(),
  })
  .meta({ id: 'IncidentActionItem' });

const Postmortem = z
  .object({
    rootCause: z.string(),
    detection: z.object({ timeToDetect: z.string().nullable().meta({ description: 'ISO 8601 duration' }), how: z.string() }),
    compensationEffectiveness: z.string(),
    partnerCommunication: z.string(),
    governanceGaps: z.string(),
    updatedBy: z.string(),
    updatedAt: z.string(),
    actionItems: z.array(ActionItem),
  })
  .meta({ id: 'IncidentPostmortem' });

const IncidentDetail = Incident.extend({
  window: z.object({ from: z.string(), to: z.string() }).meta({ description: 'The timeline’s window: an hour before the start → the close, or now' }),
  timeline: z.array(TimelineEntry),
  postmortem: Postmortem.nullable(),
}).meta({ id: 'IncidentDetail' });

const incidentId = z.object({ id: pathParam('Incident id, or its reference INC-<number>') });

export const listIncidents = defineOperation({
  operationId: 'listIncidents',
  method: 'get',
  path: '/v1/incidents',
  tags: ['Incidents'],
  summary: 'Incidents, open ones first (each group newest first)',
  description: 'Filter by status, partner and flow. Pages of `limit` (default 200), `Link: rel="next"` while more follow. SLA breaches open incidents on their own (one open incident per flow and partner covers every intervention of a breach); operators open others.',
  roles: STAFF_ROLES,
  scope: 'observability:read',
  request: {
    query: PageQuery(200).extend({
      status: z.enum(INCIDENT_STATUSES, { error: 'must be open or closed' }).optional().meta({ description: 'open or closed' }),
      partner: z.string().optional().meta({ description: 'Only incidents of this partner' }),
      flow: z.string().optional().meta({ description: 'Only incidents of this flow' }),
    }),
  },
  responses: { 200: pagedJson(z.array(Incident)), 400: problem },
});

export const createIncident = defineOperation({
  operationId: 'createIncident',
  method: 'post',
  path: '/v1/incidents',
  tags: ['Incidents'],
  summary: 'Open an incident (numbered INC-1, INC-2, … in order of opening)',
  description: 'An `incident.opened` webhook event is sent in the same transaction. `startedAt` (default now) may not be after now; it starts the timeline’s window (an hour before it).',
  roles: OPERATOR_ROLES,
  scope: 'incidents:write',
  request: { body: jsonBodyOf(IncidentRequest) },
  invalid: { detail: 'Invalid incident' },
  responses: { 201: json(Incident, 'Opened'), 422: problem },
});

export const getIncident = defineOperation({
  operationId: 'getIncident',
  method: 'get',
  path: '/v1/incidents/{id}',
  tags: ['Incidents'],
  summary: 'One incident with its timeline (assembled when read) and its postmortem; as Markdown with ?format=markdown or Accept: text/markdown',
  description:
    'The timeline covers an hour before the start to the close (or now), for the incident’s partner, flow and API: the breach, SLA interventions applied and lifted, releases and gate decisions, compensations and operator actions on transactions, compensation approvals, failed synthetic checks and notices sent (at most 100 entries per source), oldest first.',
  roles: STAFF_ROLES,
  scope: 'observability:read',
  request: { params: incidentId, query: z.object({ format: formatParam(INCIDENT_FORMATS) }) },
  responses: { 200: { description: 'The incident', content: { 'application/json': { schema: IncidentDetail }, 'text/markdown': { schema: z.string() } } }, 400: problem, 404: problem },
});

export const putIncidentPostmortem = defineOperation({
  operationId: 'putIncidentPostmortem',
  method: 'put',
  path: '/v1/incidents/{id}/postmortem',
  tags: ['Incidents'],
  summary: 'Write the postmortem: root cause, detection, compensation effectiveness, partner communication, governance gaps, action items',
  description:
    'Replaces the whole postmortem. Each action item links to a change request (its id), a control-matrix proposal (`<flow>/v<version>`) or an evidence requirement (an evidence kind of the policy, optionally `@<environment>`); a link naming nothing that exists is refused with 422 listing each bad link, and nothing is written. ' +
    'Send an existing item’s `id` to keep it; items left out are removed. `detection.timeToDetect` defaults to the time from the incident’s start to its opening. A closed incident’s postmortem is final (409).',
  roles: OPERATOR_ROLES,
  scope: 'incidents:write',
  request: { params: incidentId, body: jsonBodyOf(PostmortemRequest) },
  invalid: { detail: 'Invalid postmortem' },
  responses: { 200: json(Postmortem, 'Written'), 404: problem, 409: problem, 422: problem },
});

export const closeIncident = defineOperation({
  operationId: 'closeIncident',
  method: 'post',
  path: '/v1/incidents/{id}/close',
  tags: ['Incidents'],
  summary: 'Close an incident: only with a postmortem and every action item done (409 otherwise, listing the open items)',
  description: 'Sets closedAt and closedBy and sends an `incident.closed` webhook event. A closed incident is not reopened (409).',
  roles: OPERATOR_ROLES,
  scope: 'incidents:write',
  request: { params: incidentId },
  responses: { 200: json(Incident, 'Closed'), 404: problem, 409: problem },
});

export const incidentOperations = [listIncidents, createIncident, getIncident, putIncidentPostmortem, closeIncident];
