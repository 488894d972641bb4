import { escapeSegment as escape, isObject } from '../lib/json.ts';
import { canonical, objectAt, type DiffEngine } from './context.ts';
import { levelOf } from './rules/index.ts';
import type { Change } from './types.ts';

/** Document-level changes: servers and the schemas of components. */
export function compareDocument(engine: DiffEngine): void {
  if (canonical(engine.base.servers) !== canonical(engine.rev.servers)) engine.report(undefined, 'api-servers-changed', '/servers', 'servers changed; needs review', 'the server addresses');
  const sb = objectAt(objectAt(engine.base, 'components'), 'schemas');
  const sr = objectAt(objectAt(engine.rev, 'components'), 'schemas');
  for (const name of Object.keys(sb)) {
    if (!Object.hasOwn(sr, name)) engine.report(undefined, 'api-schema-removed', `/components/schemas/${escape(name)}`, `schema ${name} removed from components`, `schema ${name}`);
  }
}

const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

function semver(version: unknown): [number, number, number] | undefined {
  const m = typeof version === 'string' ? SEMVER.exec(version) : null;
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/**
 * oasdiff's versioning policy: a breaking change needs a major version increase (below 1.0.0,
 * a minor one). Judged only when both `info.version`s are semantic versions, after the policy's
 * levels are applied (a rule the policy lowered no longer counts). Returns the finding, if any.
 */
export function versionPolicy(base: unknown, rev: unknown, changes: Change[]): Change | undefined {
  const vb = isObject(base) && isObject(base.info) ? base.info.version : undefined;
  const vr = isObject(rev) && isObject(rev.info) ? rev.info.version : undefined;
  const b = semver(vb);
  const r = semver(vr);
  if (!b || !r || !changes.some((c) => c.level === 'breaking')) return undefined;
  const increased = r[0] !== b[0] ? r[0] > b[0] : r[1] !== b[1] ? r[1] > b[1] : r[2] > b[2];
  const major = b[0] === 0 && r[0] === 0 ? r[1] > b[1] : r[0] > b[0];
  let rule: string;
  if (vb === vr) rule = 'api-version-not-bumped';
  else if (!increased) rule = 'api-version-decreased';
  else if (!major) rule = 'api-major-version-not-bumped';
  else return undefined;
  const message = rule === 'api-version-not-bumped' ? `breaking changes, but info.version stays ${String(vr)}` : `breaking changes, but info.version goes from ${String(vb)} to ${String(vr)} without a major increase`;
  return { rule, level: levelOf(rule), direction: 'request', location: '/info/version', message, subject: String(vr) };
}
