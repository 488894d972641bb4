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
export const REFERENCE_PARTNERS: Record<string, PartnerProfile> = {
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
};

type Json = Record<string, any>;

/** A FHIR OperationOutcome with one issue. */
export function operationOutcome(code: string, diagnostics: string, expression: string[] = []): Json {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics, ...(expression.length ? { expression } : {}) }] };
}

function param(body: Json, name: string): Json | undefined {
  return (Array.isArray(body.parameter) ? body.parameter : []).find((p: Json) => p?.name === name);
}

/**
 * HRex $member-match at `partner` (the previous payer): consent must be active, in period, a
 * permit, and name this payer as discloser; exactly one member must match the demographics and
 * the coverage's subscriber id. Returns the FHIR status and body.
 */
export function memberMatch(partner: string, body: Json, today: string): { status: number; body: Json } {
  const profile = REFERENCE_PARTNERS[partner];
  if (!profile) return { status: 422, body: operationOutcome('not-supported', `${partner} has no member directory in the reference network`) };
  const consent = param(body, 'Consent')?.resource as Json | undefined;
  const provision = consent?.provision ?? {};
  const period = provision.period ?? {};
  const actors: Json[] = Array.isArray(provision.actor) ? provision.actor : [];
  const actorNpis = actors.map((a) => a?.reference?.identifier?.value);
  const consentProblem = !consent
    ? 'no Consent parameter'
    : consent.status !== 'active'
      ? `consent status is ${consent.status}, not active`
      : provision.type !== 'permit'
        ? 'consent is not a permit'
        : (period.start && today < period.start) || (period.end && today > period.end)
          ? `consent period ${period.start ?? '…'} – ${period.end ?? '…'} does not include ${today}`
          : !actorNpis.includes(profile.npi)
            ? `consent does not name ${partner} (NPI ${profile.npi}) as a party`
            : undefined;
  if (consentProblem) return { status: 422, body: operationOutcome('business-rule', `Consent constraint: ${consentProblem}`, ['Parameters.parameter.where(name = \'Consent\')']) };

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
