import semver from 'semver';
import { z } from 'zod';
import { AccordError, type FieldError } from '../errors.ts';

/** Partner, API and flow ids: lowercase letters, digits and dashes, 1–63 characters. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Ids that would collide with registry paths Accord uses itself. */
const RESERVED = new Set(['control-matrix']);

/** Returns findings for each invalid id (empty when all are fine). */
export function checkIds(ids: Record<string, string | undefined>): FieldError[] {
  const errors: FieldError[] = [];
  for (const [name, value] of Object.entries(ids)) {
    if (value === undefined || !ID_PATTERN.test(value)) {
      errors.push({ location: name, message: `must match ${ID_PATTERN.source}` });
    } else if (RESERVED.has(value)) {
      errors.push({ location: name, message: `"${value}" is reserved` });
    }
  }
  return errors;
}

const ID_RULE = `must match ${ID_PATTERN.source}`;

/** A partner, API, flow or environment id in a request (the findings checkIds gives). */
export const Id = z
  .string({ error: ID_RULE })
  .regex(ID_PATTERN, ID_RULE)
  .superRefine((id, ctx) => {
    if (RESERVED.has(id)) ctx.addIssue({ code: 'custom', message: `"${id}" is reserved` });
  })
  .meta({ description: 'Lowercase letters, digits and dashes, 1–63 characters' });

/** Throws 400 unless every id matches the id pattern. */
export function assertIds(ids: Record<string, string | undefined>): void {
  const errors = checkIds(ids);
  if (errors.length > 0) throw new AccordError('bad_request', `Invalid ${errors.map((e) => e.location).join(', ')}`, { errors });
}

/**
 * True for a strict semantic version such as 1.2.3 or 2.0.0-rc.1: no leading "v", and no build
 * metadata (two versions differing only in it would have equal precedence).
 */
export function isSemver(version: unknown): version is string {
  return typeof version === 'string' && version.length <= 128 && semver.valid(version) === version;
}

/** A strict semantic version in a request (isSemver). */
export const SemVer = z.string({ error: 'must be a semantic version' }).refine(isSemver, 'must be a semantic version').meta({ description: 'Semantic version (no leading v, no build metadata)', examples: ['1.2.0'] });

/** Whether going from `previous` to `next` is a major bump (in 0.x, a minor bump counts). */
export function isMajorBump(previous: string, next: string): boolean {
  const p = new semver.SemVer(previous);
  const n = new semver.SemVer(next);
  return n.major > p.major || (p.major === 0 && n.major === 0 && n.minor > p.minor);
}

/**
 * The bump a step between two releases (x.y.z) declares, as registration reads it (in 0.x a
 * minor step is a major one); undefined when either is not a release or the step goes backwards.
 */
export function declaredBump(from: string | null | undefined, to: string | undefined): 'major' | 'minor' | 'patch' | 'none' | undefined {
  const release = (v: string | null | undefined): v is string => isSemver(v) && semver.prerelease(v) === null;
  if (!release(from) || !release(to) || semver.lt(to, from)) return undefined;
  if (isMajorBump(from, to)) return 'major';
  if (semver.eq(from, to)) return 'none';
  return semver.minor(to) > semver.minor(from) ? 'minor' : 'patch';
}

/**
 * A string whose byte order is semver precedence (so SQLite can ORDER BY it): numbers
 * zero-padded, a release sorting after all of its pre-releases, numeric pre-release
 * identifiers before alphanumeric ones, fewer identifiers first. Build metadata is ignored,
 * as semver precedence ignores it.
 */
export function versionKey(version: string): string {
  const v = new semver.SemVer(version);
  const pad = (n: number) => String(n).padStart(16, '0');
  const main = `${pad(v.major)}.${pad(v.minor)}.${pad(v.patch)}`;
  if (v.prerelease.length === 0) return `${main}\x7f`;
  return `${main}\x02${v.prerelease.map((id) => (typeof id === 'number' ? `0${pad(id)}` : `1${id}`)).join('\x01')}`;
}

/** Sorts items by their semver field, lowest first, parsing each version once. */
export function sortBySemver<T>(items: T[], version: (item: T) => string): T[] {
  return items
    .map((item) => ({ item, parsed: new semver.SemVer(version(item)) }))
    .sort((a, b) => a.parsed.compare(b.parsed))
    .map((x) => x.item);
}
