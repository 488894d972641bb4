import { bigint, index, pgTable, primaryKey } from 'drizzle-orm/pg-core';
import { text } from './columns.ts';

/**
 * Incidents (issue 18): opened by an SLA breach or by an operator, closed once the postmortem's
 * action items are done. The timeline is assembled from the other tables when read.
 */
export const incidents = pgTable(
  'incidents',
  {
    id: text('id').primaryKey(),
    /** Number shown to people (INC-12), in order of opening. */
    number: bigint('number', { mode: 'number' }).notNull().unique(),
    title: text('title').notNull(),
    /** sev1 | sev2 | sev3 */
    severity: text('severity').notNull(),
    /** open | closed */
    status: text('status').notNull(),
    flow: text('flow'),
    partner: text('partner'),
    api: text('api'),
    /** sla | operator */
    source: text('source').notNull(),
    openedBy: text('opened_by').notNull(),
    openedAt: text('opened_at').notNull(),
    /** When the trouble started (the breach's window start), ≤ openedAt. */
    startedAt: text('started_at').notNull(),
    closedBy: text('closed_by'),
    closedAt: text('closed_at'),
    summary: text('summary'),
  },
  (t) => [index('incidents_status').on(t.status, t.openedAt), index('incidents_scope').on(t.partner, t.flow, t.status)],
);

/** The SLA interventions an incident covers (a breach opens or joins the open incident of its flow and partner). */
export const incidentInterventions = pgTable(
  'incident_interventions',
  {
    incidentId: text('incident_id').notNull(),
    interventionId: text('intervention_id').notNull(),
  },
  (t) => [primaryKey({ columns: [t.incidentId, t.interventionId] }), index('incident_interventions_intervention').on(t.interventionId)],
);

/** An incident's postmortem: one row, rewritten by PUT. */
export const incidentPostmortems = pgTable('incident_postmortems', {
  incidentId: text('incident_id').primaryKey(),
  rootCause: text('root_cause').notNull(),
  /** ISO 8601 duration from the trouble's start to the incident's opening, and how it was detected. */
  timeToDetect: text('time_to_detect'),
  detectedBy: text('detected_by').notNull(),
  compensationEffectiveness: text('compensation_effectiveness').notNull(),
  partnerCommunication: text('partner_communication').notNull(),
  governanceGaps: text('governance_gaps').notNull(),
  updatedBy: text('updated_by').notNull(),
  updatedAt: text('updated_at').notNull(),
});

/** A postmortem's action items, each linked to a change request, a matrix proposal or an evidence requirement. */
export const incidentActionItems = pgTable(
  'incident_action_items',
  {
    id: text('id').primaryKey(),
    incidentId: text('incident_id').notNull(),
    title: text('title').notNull(),
    /** contracts | monitoring | retry-logic | partner-onboarding | other */
    area: text('area').notNull(),
    /** change-request | matrix-proposal | evidence-requirement */
    linkKind: text('link_kind'),
    /** The linked item's id (change request id, `flow/vN`, evidence kind@environment). */
    linkRef: text('link_ref'),
    owner: text('owner'),
    /** open | done */
    status: text('status').notNull(),
    createdAt: text('created_at').notNull(),
    doneAt: text('done_at'),
  },
  (t) => [index('incident_action_items_incident').on(t.incidentId)],
);
