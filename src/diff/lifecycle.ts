import type { Json } from '../lib/json.ts';
import type { DeprecationPolicy, DiffEngine, OperationContext } from './context.ts';

/**
 * Stability (`x-stability-level`) and deprecation (`deprecated`, `x-sunset`) of operations and
 * request parameters, read as oasdiff reads them: draft and alpha operations may change freely,
 * an operation or parameter may be removed once deprecated and past its sunset date, and the
 * policy's minimum days (oasdiff's --deprecation-days-beta / --deprecation-days-stable) bound
 * how soon a sunset may come.
 */

/** The stability levels oasdiff knows, least stable first. */
export const STABILITY = ['draft', 'alpha', 'beta', 'stable'] as const;
export type Stability = (typeof STABILITY)[number];

/** An operation's `x-stability-level`: its level (undefined when absent) or why it is invalid. */
export function stabilityOf(op: Json): { level?: Stability; error?: string } {
  const raw: unknown = op['x-stability-level'];
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'string') return { error: 'x-stability-level is not a string' };
  if (!(STABILITY as readonly string[]).includes(raw)) return { error: `${JSON.stringify(raw)} is not one of ${STABILITY.join(', ')}` };
  return { level: raw as Stability };
}

/** Draft and alpha operations may change or go away without notice. */
export function isUnstable(level: Stability | undefined): boolean {
  return level === 'draft' || level === 'alpha';
}

/** An `x-sunset` as oasdiff reads it: absent, a calendar date (RFC 3339 date or date-time), or unparseable. */
export type Sunset = { present: false } | { present: true; raw: string; date?: string; error?: string };

const RFC3339_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const RFC3339_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** The sunset date of an operation or parameter. */
export function sunsetOf(node: Json): Sunset {
  if (!Object.hasOwn(node, 'x-sunset')) return { present: false };
  const value: unknown = node['x-sunset'];
  const raw = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const m = typeof value === 'string' ? (RFC3339_DATE.exec(value) ?? RFC3339_DATE_TIME.exec(value)) : null;
  if (!m) return { present: true, raw, error: `${raw} is not an RFC 3339 date` };
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return { present: true, raw, error: `${raw} is not a calendar date` };
  // The calendar date as written: a date-time's own offset decides its day, as in oasdiff.
  return { present: true, raw, date: `${m[1]}-${m[2]}-${m[3]}` };
}

/** Whole days from today (UTC) to a calendar date; negative when it is past. */
export function daysUntil(date: string, now: Date): number {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Math.round((Date.parse(`${date}T00:00:00Z`) - today) / 86_400_000);
}

/** The policy's minimum days between deprecation and sunset for a stability level (none counts as stable). */
export function minimumDays(policy: DeprecationPolicy, level: Stability | undefined): number {
  if (isUnstable(level)) return 0;
  return (level === 'beta' ? policy.minimumDays?.beta : policy.minimumDays?.stable) ?? 0;
}

function sunsetRequired(policy: DeprecationPolicy, level: Stability | undefined): boolean {
  if (isUnstable(level)) return false;
  return policy.requireSunset ?? minimumDays(policy, level) > 0;
}

/** The rule for an operation no longer in the revision (`path`: its whole path is gone). */
export function operationRemoval(op: Json, path: boolean, now: Date): { rule: string; why: string } {
  const stability = stabilityOf(op);
  if (stability.error) return { rule: 'api-invalid-stability-level', why: `removed; its x-stability-level is invalid: ${stability.error}` };
  if (isUnstable(stability.level)) return { rule: 'api-removed-unstable', why: `removed (${stability.level}: may change without notice)` };
  const prefix = path ? 'api-path-removed' : 'api-removed';
  if (op.deprecated !== true) return { rule: `${prefix}-without-deprecation`, why: 'removed without deprecation' };
  const sunset = sunsetOf(op);
  if (!sunset.present) return { rule: `${prefix}-with-deprecation`, why: 'removed after deprecation (no sunset date)' };
  if (sunset.error) return { rule: 'api-path-sunset-parse', why: `removed; its sunset cannot be read: ${sunset.error}` };
  if (daysUntil(sunset.date!, now) > 0) return { rule: `${prefix}-before-sunset`, why: `removed before its sunset ${sunset.date}` };
  return { rule: 'api-removed-after-sunset', why: `removed after its sunset ${sunset.date}` };
}

/** The rule for a request parameter no longer in the revision. */
export function parameterRemoval(param: Json, now: Date): { rule: string; why: string } {
  if (param.deprecated !== true) return { rule: 'request-parameter-removed', why: 'removed' };
  const sunset = sunsetOf(param);
  if (!sunset.present) return { rule: 'request-parameter-removed-with-deprecation', why: 'removed after deprecation (no sunset date)' };
  if (sunset.error) return { rule: 'request-parameter-sunset-parse', why: `removed; its sunset cannot be read: ${sunset.error}` };
  if (daysUntil(sunset.date!, now) > 0) return { rule: 'request-parameter-removed-before-sunset', why: `removed before its sunset ${sunset.date}` };
  return { rule: 'request-parameter-removed-after-sunset', why: `removed after its sunset ${sunset.date}` };
}

/** Rule ids of one subject's deprecation checks: the operation's (api-…) or a parameter's (request-parameter-…). */
interface DeprecationIds {
  deprecated: string;
  deprecatedWithSunset: string;
  reactivated: string;
  sunsetMissing: string;
  sunsetParse: string;
  /** Parse error of a changed sunset. */
  changedSunsetParse: string;
  tooSmall: string;
  deleted: string;
  changedTooSmall: string;
}

const OPERATION_IDS: DeprecationIds = {
  deprecated: 'endpoint-deprecated',
  deprecatedWithSunset: 'endpoint-deprecated-with-sunset',
  reactivated: 'endpoint-reactivated',
  sunsetMissing: 'api-deprecated-sunset-missing',
  sunsetParse: 'api-deprecated-sunset-parse',
  changedSunsetParse: 'api-path-sunset-parse',
  tooSmall: 'api-sunset-date-too-small',
  deleted: 'sunset-deleted',
  changedTooSmall: 'api-sunset-date-changed-too-small',
};

const PARAMETER_IDS: DeprecationIds = {
  deprecated: 'request-parameter-deprecated',
  deprecatedWithSunset: 'request-parameter-deprecated',
  reactivated: 'request-parameter-reactivated',
  sunsetMissing: 'request-parameter-deprecated-sunset-missing',
  sunsetParse: 'request-parameter-sunset-parse',
  changedSunsetParse: 'request-parameter-sunset-parse',
  tooSmall: 'request-parameter-sunset-date-too-small',
  deleted: 'request-parameter-sunset-deleted',
  changedTooSmall: 'request-parameter-sunset-date-changed-too-small',
};

/**
 * Deprecation and sunset changes of one operation or parameter present in both documents.
 * `level` is the revision operation's stability, which picks the policy's minimum days.
 */
function deprecation(engine: DiffEngine, ctx: OperationContext, ids: DeprecationIds, b: Json, r: Json, level: Stability | undefined, location: string, subject: string): void {
  const { deprecation: policy, now } = engine;
  const report = (rule: string, message: string) => engine.report(ctx, rule, location, `${subject} ${message}`, subject);
  const minimum = minimumDays(policy, level);
  if (b.deprecated !== true && r.deprecated === true) {
    const sunset = sunsetOf(r);
    if (!sunset.present) {
      if (sunsetRequired(policy, level)) report(ids.sunsetMissing, 'deprecated without a sunset date, which the policy requires');
      else report(ids.deprecated, 'deprecated');
    } else if (sunset.error) report(ids.sunsetParse, `deprecated, but its sunset cannot be read: ${sunset.error}`);
    else if (daysUntil(sunset.date!, now) < minimum) report(ids.tooSmall, `deprecated with sunset ${sunset.date}, less than the ${minimum} days' notice required`);
    else report(ids.deprecatedWithSunset, `deprecated (sunset ${sunset.date})`);
    return;
  }
  if (b.deprecated === true && r.deprecated !== true) {
    report(ids.reactivated, 'is no longer deprecated');
    return;
  }
  if (r.deprecated !== true) return;
  const before = sunsetOf(b);
  const after = sunsetOf(r);
  if (before.present && !after.present) report(ids.deleted, `sunset date ${before.raw} removed while it stays deprecated`);
  else if (before.present && after.present && before.raw !== after.raw) {
    if (after.error || before.error) report(ids.changedSunsetParse, `sunset date cannot be read: ${after.error ?? before.error}`);
    else if (before.date! > after.date! && daysUntil(after.date!, now) < minimum) {
      report(ids.changedTooSmall, `sunset moved earlier, from ${before.date} to ${after.date}, less than the ${minimum} days' notice required`);
    }
  }
}

/**
 * Stability and deprecation changes of an operation in both documents. Returns whether the
 * revision is draft or alpha (its other changes are then not breaking) and whether a stability
 * level is invalid (reported by the caller once it knows the operation changed).
 */
export function operationLifecycle(engine: DiffEngine, ctx: OperationContext, b: Json, r: Json): { unstable: boolean; invalid?: string } {
  const bs = stabilityOf(b);
  const rs = stabilityOf(r);
  if (bs.error || rs.error) return { unstable: false, invalid: rs.error ?? bs.error };
  const rank = (level: Stability | undefined) => STABILITY.indexOf(level ?? 'stable');
  const at = `${ctx.at}/x-stability-level`;
  const subject = `${ctx.method} ${ctx.path}`;
  // Gated on the level the operation leaves: a draft or alpha operation promised nothing.
  if (!isUnstable(bs.level) && rank(rs.level) < rank(bs.level)) engine.report(ctx, 'api-stability-decreased', at, `${subject} stability decreased from ${bs.level ?? 'stable (no level)'} to ${rs.level ?? 'stable (no level)'}`, subject);
  else if (!isUnstable(bs.level) && rank(rs.level) > rank(bs.level)) engine.report(ctx, 'api-stability-increased', at, `${subject} stability increased from ${bs.level} to ${rs.level ?? 'stable'}`, subject);
  const unstable = isUnstable(rs.level);
  if (!unstable) deprecation(engine, ctx, OPERATION_IDS, b, r, rs.level, `${ctx.at}/deprecated`, subject);
  return { unstable };
}

/** Deprecation and sunset changes of a request parameter in both documents. */
export function parameterLifecycle(engine: DiffEngine, ctx: OperationContext, b: Json, r: Json, op: Json, location: string, subject: string): void {
  const level = stabilityOf(op);
  if (level.error || isUnstable(level.level)) return;
  deprecation(engine, ctx, PARAMETER_IDS, b, r, level.level, location, subject);
}
