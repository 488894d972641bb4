/**
 * The reference partners' side of the exchange: a synthetic member directory per payer (never
 * real data) and the HRex `$member-match` behaviour against it.
 */

export interface SyntheticMember {
  memberId: string;
  family: string;
  given: string;
  birthDate: string;
  gender: string;
  subscriberId: string;
}

interface PartnerProfile {
  npi: string;
  memberIdSystem: string;
  members: SyntheticMember[];
}

/** Synthetic members per partner. Twin dependants of one subscriber share name and birth date: "several matches". */
export const REFERENCE_PARTNERS: ReadonlyMap<string, PartnerProfile> = new Map(Object.entries({
  'northwind-health': {
    npi: '1679576722',
    memberIdSystem: 'https://northwind-health.example/member-id',
    members: [
      { memberId: 'NWH-100234', family: 'Rivera', given: 'Ana', birthDate: '1984-03-12', gender: 'female', subscriberId: 'NWH-100234' },
      { memberId: 'NWH-100871', family: 'Taylor', given: 'Sam', birthDate: '2012-07-01', gender: 'unknown', subscriberId: 'NWH-100870' },
      { memberId: 'NWH-100872', family: 'Taylor', given: 'Sam', birthDate: '2012-07-01', gender: 'unknown', subscriberId: 'NWH-100870' },
    ],
  },
  'bluestem-mutual': {
    npi: '1234567893',
    memberIdSystem: 'https://bluestem-mutual.example/member-id',
    members: [
      { memberId: 'BSM-220871', family: 'Okafor', given: 'James', birthDate: '1979-11-02', gender: 'male', subscriberId: 'BSM-220871' },
      { memberId: 'BSM-220990', family: 'Nguyen', given: 'Linh', birthDate: '1988-05-23', gender: 'female', subscriberId: 'BSM-220990' },
    ],
  },
}));

type Json = Record<string, any>;

/** A FHIR OperationOutcome with one issue. */
export function operationOutcome(code: string, diagnostics: string, expression: string[] = []): Json {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics, ...(expression.length ? { expression } : {}) }] };
}

/** 422 with the ConsentConstraint outcome. */
export function consentConstraint(problem: string, expression = "Parameters.parameter.where(name = 'Consent')"): { status: number; body: Json } {
  return { status: 422, body: operationOutcome('business-rule', `Consent constraint: ${problem}`, [expression]) };
}

function param(body: Json, name: string): Json | undefined {
  return (Array.isArray(body.parameter) ? body.parameter : []).find((p: Json) => p?.name === name);
}

/** The NPI of an actor with `role` (a provenance-participant-type or v3 ParticipationType code) in a consent's provision. */
function actorNpi(provision: Json, role: string): string | undefined {
  const actors: Json[] = Array.isArray(provision.actor) ? provision.actor : [];
  const actor = actors.find((a) => (Array.isArray(a?.role?.coding) ? a.role.coding : []).some((c: Json) => c?.code === role));
  return actor?.reference?.identifier?.value;
}

/**
 * Why `consent` does not let `partner` disclose a member's data to `caller` today, or undefined
 * when it does: it must be active, a permit, in period, name `partner` as the discloser
 * (`performer`) and the caller as the recipient (`IRCP`). A caller without a partner (an
 * operator's token) is not checked as the recipient, but a recipient must be named.
 */
export function consentProblem(partner: string, consent: Json | undefined, today: string, callerPartner: string | null): string | undefined {
  const profile = REFERENCE_PARTNERS.get(partner);
  if (!consent) return 'no Consent';
  const provision = consent.provision ?? {};
  const period = provision.period ?? {};
  if (consent.status !== 'active') return `consent status is ${consent.status}, not active`;
  if (provision.type !== 'permit') return 'consent is not a permit';
  if ((period.start && today < period.start) || (period.end && today > period.end)) return `consent period ${period.start ?? '…'} – ${period.end ?? '…'} does not include ${today}`;
  if (!profile || actorNpi(provision, 'performer') !== profile.npi) return `consent does not name ${partner}${profile ? ` (NPI ${profile.npi})` : ''} as the discloser (performer)`;
  const recipient = actorNpi(provision, 'IRCP');
  if (!recipient) return 'consent names no recipient (IRCP)';
  if (callerPartner !== null) {
    const caller = REFERENCE_PARTNERS.get(callerPartner);
    if (!caller) return `the recipient must be the caller, and ${callerPartner} has no NPI in the reference network`;
    if (recipient !== caller.npi) return `consent names NPI ${recipient} as the recipient, not the caller ${callerPartner} (NPI ${caller.npi})`;
  }
  return undefined;
}

/** The member of `partner` a consent's patient identifier names, if any. */
export function consentMember(partner: string, consent: Json | undefined): string | undefined {
  const id = consent?.patient?.identifier;
  const profile = REFERENCE_PARTNERS.get(partner);
  if (!profile || !id?.value || (id.system && id.system !== profile.memberIdSystem)) return undefined;
  return profile.members.some((m) => m.memberId === id.value) ? String(id.value) : undefined;
}

/**
 * HRex $member-match at `partner` (the previous payer): the consent must let `partner` disclose
 * to the caller (consentProblem) and, when it names a patient, name the matched member; exactly
 * one member must match the demographics and the coverage's subscriber id. Returns the FHIR
 * status and body.
 */
export function memberMatch(partner: string, body: Json, today: string, callerPartner: string | null): { status: number; body: Json } {
  const profile = REFERENCE_PARTNERS.get(partner);
  if (!profile) return { status: 422, body: operationOutcome('not-supported', `${partner} has no member directory in the reference network`) };
  const consent = param(body, 'Consent')?.resource as Json | undefined;
  const problem = consentProblem(partner, consent, today, callerPartner);
  if (problem) return consentConstraint(problem);

  const patient = param(body, 'MemberPatient')?.resource as Json | undefined;
  const coverage = param(body, 'CoverageToMatch')?.resource as Json | undefined;
  const name = Array.isArray(patient?.name) ? patient.name[0] : undefined;
  const given = Array.isArray(name?.given) ? name.given[0] : undefined;
  const matches = profile.members.filter(
    (m) =>
      m.family.toLowerCase() === String(name?.family ?? '').toLowerCase() &&
      (!given || m.given.toLowerCase() === String(given).toLowerCase()) &&
      m.birthDate === patient?.birthDate &&
      (!coverage?.subscriberId || m.subscriberId === coverage.subscriberId),
  );
  if (matches.length !== 1) {
    return { status: 422, body: operationOutcome('processing', matches.length === 0 ? 'No member matched' : `${matches.length} members matched; send CoverageToMatch.subscriberId to disambiguate`) };
  }
  const member = matches[0]!;
  if (consent?.patient?.identifier?.value !== undefined && consent.patient.identifier.value !== member.memberId) return consentConstraint(`consent is for ${consent.patient.identifier.value}, not the matched member`);
  return {
    status: 200,
    body: {
      resourceType: 'Parameters',
      parameter: [
        {
          name: 'MemberIdentifier',
          valueIdentifier: { system: profile.memberIdSystem, value: member.memberId },
        },
      ],
    },
  };
}
