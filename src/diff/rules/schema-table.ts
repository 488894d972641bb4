import type { Direction, Level } from '../types.ts';
import type { RuleSpec } from './types.ts';

/**
 * Builders for the schema rule tables. A schema check applies at some positions only, as in
 * oasdiff: a position is a direction plus a target — the top of a body's schema (`body`), a
 * property below it (`property`), a parameter's schema (`parameter`), a property inside a
 * parameter's schema (`parameter-property`) or a response header's schema (`header`). A rule
 * id is `<position>-<kind>`; a position with no row for a kind does not report it.
 */
export type Position =
  | 'request-body'
  | 'request-property'
  | 'request-parameter'
  | 'request-parameter-property'
  | 'response-body'
  | 'response-property'
  | 'response-header';

/** How a position is named in a sentence. */
const WHERE: Record<Position, string> = {
  'request-body': 'a request body',
  'request-property': 'a request property',
  'request-parameter': 'a request parameter',
  'request-parameter-property': 'a property inside a request parameter',
  'response-body': 'a response body',
  'response-property': 'a response property',
  'response-header': 'a response header',
};

/** The wording of one check, shared by its positions. */
export interface CheckText {
  /** What changed, completed by the position: "type changed in a request property". */
  what: string;
  /** The consequence for partners at request positions and response positions ({subject} is filled in). */
  request?: string;
  response?: string;
}

/** Extra facts of some rows of a family, by position. */
export interface CheckExtras {
  /** Former ids of a row. */
  aliases?: Partial<Record<Position, string[]>>;
  /** Rows oasdiff does not have (oasdiff ids empty), with why Accord reports them at their level. */
  accordOnly?: Partial<Record<Position, string>>;
  /** Why a row's level differs from oasdiff's. */
  differs?: Partial<Record<Position, string>>;
}

/** The rows of one check at each position it applies to, with their default levels. */
export function family(kind: string, levels: Partial<Record<Position, Level>>, text: CheckText, extras: CheckExtras = {}): RuleSpec[] {
  return (Object.entries(levels) as Array<[Position, Level]>).map(([position, level]) => {
    const direction: Direction = position.startsWith('request') ? 'request' : 'response';
    const consequence = text[direction];
    if (!consequence) throw new Error(`schema rule ${position}-${kind} has no ${direction} consequence`);
    const accordOnly = extras.accordOnly?.[position];
    const differs = accordOnly ?? extras.differs?.[position];
    return {
      id: `${position}-${kind}`,
      level,
      direction,
      description: `${text.what} in ${WHERE[position]}`,
      consequence,
      oasdiff: accordOnly ? [] : [`${position}-${kind}`],
      ...(extras.aliases?.[position] ? { aliases: extras.aliases[position] } : {}),
      ...(differs ? { differs } : {}),
    };
  });
}

/** One row whose id is not `<position>-<kind>` (oasdiff names some property checks on their own). */
export function rule(id: string, level: Level, description: string, consequence: string, extras: Pick<RuleSpec, 'aliases' | 'differs'> & { accordOnly?: boolean } = {}): RuleSpec {
  const { accordOnly, ...rest } = extras;
  return { id, level, direction: id.includes('response') ? 'response' : 'request', description, consequence, oasdiff: accordOnly ? [] : [id], ...rest };
}

/**
 * Why a row is at the catalogue's level although oasdiff 1.15.0, the binary reference, does not
 * report the check: ../shared/corpus/diff/oasdiff-checks.tsv lists newer oasdiff's checks, whose
 * tests the expected verdicts come from.
 */
export const CATALOGUE_ONLY = 'At the level of the oasdiff catalogue (newer oasdiff); oasdiff 1.15.0 does not report this check.';
/** Why a row is at the catalogue's level although oasdiff 1.15.0 rates it otherwise. */
export const catalogueLevel = (reference: string) => `At the level of the oasdiff catalogue (newer oasdiff); oasdiff 1.15.0 reports ${reference}.`;
/** Why Accord warns about a check oasdiff does not have at all. */
export const BEYOND_OASDIFF = 'oasdiff has no such check; Accord warns (not breaking) so its verdict stays oasdiff’s; policy.yaml can raise it to breaking.';
