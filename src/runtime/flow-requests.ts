import type { Json } from '../lib/json.ts';
import type { HandlerResult } from './handlers.ts';

/** What a saga step sends to the partner: path parameters and body. */
export interface StepRequest {
  params: Record<string, string>;
  body: Json | undefined;
}

/** What the flow has learnt so far (outputs of completed steps), kept on the transaction. */
export type FlowContext = Record<string, string | number | Record<string, number> | undefined>;

function parameter(body: Json | undefined, name: string): Json | undefined {
  return (Array.isArray(body?.parameter) ? body.parameter : []).find((p: Json) => p?.name === name);
}

/**
 * The input that starts a flow whose first step is `operationId`, from that operation's request
 * example; undefined when the reference flow cannot start there (it needs earlier steps' outputs).
 */
export function flowInput(operationId: string, example: Json): Json | undefined {
  if (operationId === 'memberMatch') return { memberMatch: example };
  if (operationId === 'captureConsent') return { consent: example };
  return undefined;
}

/**
 * Builds the request of one reference-flow operation from the transaction's input (the
 * `$member-match` Parameters, or a `consent` for a flow that starts with it, optionally `groupId`) and the outputs of earlier steps. Returns
 * undefined for an operation the reference flow does not know.
 */
export function planRequest(operationId: string, input: Json, context: FlowContext, exchangeId: string, now: Date): StepRequest | undefined {
  const match = (input.memberMatch ?? input) as Json;
  const member = { system: context.memberSystem, value: context.memberId };
  switch (operationId) {
    case 'memberMatch':
      return { params: {}, body: match };
    case 'captureConsent': {
      const consent = (input.consent ?? parameter(match, 'Consent')?.resource) as Json | undefined;
      // The matched member when the flow matched one; a flow that starts here keeps the consent's own patient.
      return { params: {}, body: consent ? { ...consent, ...(context.memberId ? { patient: { identifier: member } } : {}) } : undefined };
    }
    case 'revokeConsent':
    case 'readConsent':
      return { params: { consentId: String(context.consentId) }, body: undefined };
    case 'requestDataExport':
      return {
        params: { groupId: typeof input.groupId === 'string' ? input.groupId : 'p2p-exchange' },
        body: {
          resourceType: 'Parameters',
          parameter: [
            { name: 'exportType', valueString: 'hl7.fhir.us.davinci-pdex#payertopayer' },
            { name: '_type', valueString: 'Patient,Coverage,ExplanationOfBenefit' },
            { name: 'memberIdentifier', valueIdentifier: member },
          ],
        },
      };
    case 'getExportStatus':
    case 'cancelExport':
      return { params: { jobId: String(context.jobId) }, body: undefined };
    case 'acknowledgeReceipt':
      return {
        params: {},
        body: { exchangeId, exportJobId: context.jobId, memberId: context.memberId, receivedAt: now.toISOString(), resourceCounts: context.resourceCounts ?? {}, status: 'received' },
      };
    case 'finalizeExchange':
    case 'finalizeExchangeById':
      return { params: { exchangeId }, body: { exchangeId, exportJobId: context.jobId, memberId: context.memberId, outcome: 'completed' } };
    default:
      return undefined;
  }
}

/** What a successful answer teaches the flow (member id, consent id, export job, file counts). */
export function stepOutputs(operationId: string, result: HandlerResult): FlowContext {
  const body = result.body as Json | null;
  switch (operationId) {
    case 'memberMatch': {
      const id = parameter(body ?? undefined, 'MemberIdentifier')?.valueIdentifier as Json | undefined;
      return { memberId: id?.value, memberSystem: id?.system };
    }
    case 'captureConsent':
      return { consentId: body?.id };
    case 'requestDataExport':
      return { jobId: result.headers?.['Content-Location']?.split('/').pop() };
    case 'getExportStatus':
      return { resourceCounts: Object.fromEntries(((body?.output ?? []) as Json[]).map((f) => [String(f.type), Number(f.count ?? 0)])) };
    case 'acknowledgeReceipt':
      return { acknowledgementId: body?.acknowledgementId };
    default:
      return {};
  }
}
