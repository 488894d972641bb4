import { Ruleset, type RulesetDefinition } from '@stoplight/spectral-core';
import { oas2, oas3, oas3_0, oas3_1 } from '@stoplight/spectral-formats';
import { oas } from '@stoplight/spectral-rulesets';
import { DEFAULT_RULESET, RulesetError, type RulesetFinding } from './findings.ts';
import { RULE_FUNCTIONS } from './functions.ts';

export { RulesetError, type RulesetFinding } from './findings.ts';

/**
 * A network ruleset (Spectral's YAML ruleset format) turned into a Spectral `Ruleset` without
 * Spectral's bundler: no rollup, no eval of ruleset-supplied JavaScript, no file or network
 * reads. `extends` may only name `spectral:oas`; functions come from a closed list (ADR 0017).
 */

/** A compiled ruleset with what identifies it in reports. */
export interface CompiledRuleset {
  /** What reports call it: `spectral:oas` or `network v<N>` or a file name. */
  name: string;
  /** Identifies the content (sha256 of the stored ruleset, or `spectral:oas`); part of the lint cache key. */
  key: string;
  ruleset: Ruleset;
}

/**
 * Spectral's `duplicated-entry-in-enum` is quadratic (20 s on a 50,000-value enum): wherever
 * spectral:oas is extended it is off, and this linear rule checks the same.
 */
const ACCORD_ENUM_RULE = {
  description: 'Enum values must not have duplicate entry.',
  message: '{{error}}',
  severity: 'warn',
  given: ["$..[?(@property !== 'properties' && @ != null && @.enum && @.enum.constructor.name === 'Array')]"],
  then: { field: 'enum', function: RULE_FUNCTIONS.accordUniqueEnum },
};

const EXTENDS: Record<string, RulesetDefinition> = { 'spectral:oas': oas as RulesetDefinition };
/** Spectral rules a ruleset may not turn back on, and why. */
const DISABLED: Record<string, string> = { 'duplicated-entry-in-enum': 'quadratic in the enum size; accord-duplicated-entry-in-enum checks the same' };
const EXTEND_MODES = new Set(['recommended', 'all', 'off']);
const FORMATS: Record<string, unknown> = { oas2, oas3, oas3_0, oas3_1, 'oas3.0': oas3_0, 'oas3.1': oas3_1 };
const TOP_KEYS = new Set(['extends', 'rules', 'description', 'documentationUrl', 'formats', 'aliases']);
const RULE_KEYS = new Set(['given', 'then', 'severity', 'description', 'message', 'resolved', 'formats', 'recommended', 'documentationUrl', 'type']);

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const escape = (segment: string | number) => String(segment).replace(/~/g, '~0').replace(/\//g, '~1');
const pointer = (path: ReadonlyArray<string | number>) => path.map((s) => `/${escape(s)}`).join('');

function mapExtends(value: unknown, findings: RulesetFinding[]): unknown[] {
  const entries = typeof value === 'string' ? [value] : Array.isArray(value) ? value : undefined;
  if (!entries) {
    findings.push({ rule: 'ruleset/extends', location: '/extends', message: 'must be "spectral:oas" or a list such as [[spectral:oas, recommended]]' });
    return [];
  }
  return entries.flatMap((entry, i) => {
    const [name, mode = 'recommended'] = Array.isArray(entry) ? (entry as unknown[]) : [entry];
    const location = typeof value === 'string' ? '/extends' : `/extends/${i}`;
    const base = typeof name === 'string' ? EXTENDS[name] : undefined;
    if (!base || (Array.isArray(entry) && entry.length !== 2)) {
      findings.push({ rule: 'ruleset/extends', location, message: `extends ${JSON.stringify(name)} is not allowed: only ${Object.keys(EXTENDS).join(', ')} (optionally [name, recommended|all|off]); remote, file and package rulesets are never loaded` });
      return [];
    }
    if (typeof mode !== 'string' || !EXTEND_MODES.has(mode)) {
      findings.push({ rule: 'ruleset/extends', location: `${location}/1`, message: 'the mode must be recommended, all or off' });
      return [];
    }
    return [[base, mode]];
  });
}

function mapFormats(value: unknown, location: string, findings: RulesetFinding[]): unknown {
  if (!Array.isArray(value)) {
    findings.push({ rule: 'ruleset/formats', location, message: `must be a list of ${Object.keys(FORMATS).join(', ')}` });
    return value;
  }
  return value.flatMap((name, i) => {
    const format = typeof name === 'string' ? FORMATS[name] : undefined;
    if (!format) findings.push({ rule: 'ruleset/formats', location: `${location}/${i}`, message: `unknown format ${JSON.stringify(name)} (known: ${Object.keys(FORMATS).join(', ')})` });
    return format ? [format] : [];
  });
}

function mapThen(then: unknown, location: string, findings: RulesetFinding[]): unknown {
  if (!isObject(then)) return then; // Spectral's own validation reports the shape.
  const fn = typeof then.function === 'string' && Object.hasOwn(RULE_FUNCTIONS, then.function) ? RULE_FUNCTIONS[then.function] : undefined;
  if (!fn) {
    findings.push({ rule: 'ruleset/function', location: `${location}/function`, message: `unknown function ${JSON.stringify(then.function ?? null)} (allowed: ${Object.keys(RULE_FUNCTIONS).join(', ')}); rulesets cannot bring their own code` });
    return then;
  }
  return { ...then, function: fn };
}

function mapRule(name: string, rule: unknown, findings: RulesetFinding[]): unknown {
  const location = `/rules/${escape(name)}`;
  if (Object.hasOwn(DISABLED, name) && rule !== 'off' && rule !== false) findings.push({ rule: 'ruleset/rule', location, message: `"${name}" stays off: ${DISABLED[name]}` });
  // A plain severity ('off', 'warn', 'error', true, false…) overrides an inherited rule; Spectral checks the value.
  if (!isObject(rule)) return rule;
  for (const key of Object.keys(rule)) {
    if (!RULE_KEYS.has(key)) findings.push({ rule: 'ruleset/rule', location: `${location}/${escape(key)}`, message: `unknown rule field "${key}"` });
  }
  const mapped: Obj = { ...rule };
  if (rule.then !== undefined) mapped.then = Array.isArray(rule.then) ? rule.then.map((t, i) => mapThen(t, `${location}/then/${i}`, findings)) : mapThen(rule.then, `${location}/then`, findings);
  if (rule.formats !== undefined) mapped.formats = mapFormats(rule.formats, `${location}/formats`, findings);
  return mapped;
}

/**
 * Builds a Spectral ruleset from a parsed ruleset document, or throws a RulesetError with every
 * finding (disallowed `extends`, unknown keys, functions or formats, then Spectral's own
 * validation of the definition: JSONPath, severities, function options).
 */
export function buildRuleset(data: unknown, source = 'ruleset.yaml'): Ruleset {
  if (!isObject(data)) throw new RulesetError([{ rule: 'ruleset/schema', location: '', message: 'a ruleset is a YAML mapping with extends and rules' }]);
  const findings: RulesetFinding[] = [];
  for (const key of Object.keys(data)) {
    if (!TOP_KEYS.has(key)) {
      findings.push({ rule: 'ruleset/schema', location: `/${escape(key)}`, message: `unsupported ruleset key "${key}" (allowed: ${[...TOP_KEYS].join(', ')}; functions, overrides and parser options are not)` });
    }
  }
  const definition: Obj = { ...data };
  if (data.extends !== undefined) definition.extends = mapExtends(data.extends, findings);
  if (data.formats !== undefined) definition.formats = mapFormats(data.formats, '/formats', findings);
  if (data.rules !== undefined && !isObject(data.rules)) findings.push({ rule: 'ruleset/schema', location: '/rules', message: 'must be a mapping of rule names to rules' });
  else if (isObject(data.rules)) definition.rules = Object.fromEntries(Object.entries(data.rules).map(([name, rule]) => [name, mapRule(name, rule, findings)]));
  const extendsOas = Array.isArray(definition.extends) && definition.extends.some((e) => Array.isArray(e) && e[1] !== 'off');
  if (extendsOas) definition.rules = { 'duplicated-entry-in-enum': 'off', 'accord-duplicated-entry-in-enum': ACCORD_ENUM_RULE, ...(isObject(definition.rules) ? definition.rules : {}) };
  if (findings.length > 0) throw new RulesetError(findings);
  try {
    return new Ruleset(definition as RulesetDefinition, { severity: 'recommended', source });
  } catch (error) {
    // Spectral throws an AggregateError of RulesetValidationError {code, message, path}.
    const errors = (error as { errors?: Array<{ message: string; path?: Array<string | number> }> }).errors;
    if (!errors) throw new RulesetError([{ rule: 'ruleset/schema', location: '', message: (error as Error).message }]);
    throw new RulesetError(errors.map((e) => ({ rule: 'ruleset/schema', location: pointer(e.path ?? []), message: e.message })));
  }
}

// Building a ruleset (spectral:oas included) costs ~150 ms: built ones are kept by content key.
const COMPILED_KEPT = 8;
const compiled = new Map<string, CompiledRuleset>();

/** The built ruleset for `key` (the content's sha256), building it from `load()` on first use. */
export function compiledRuleset(key: string, name: string, load: () => unknown): CompiledRuleset {
  const hit = compiled.get(key);
  if (hit) {
    // Refresh its place: the map's order is the eviction order.
    compiled.delete(key);
    compiled.set(key, hit);
    return { ...hit, name };
  }
  const entry = { key, name, ruleset: buildRuleset(load(), name) };
  compiled.set(key, entry);
  if (compiled.size > COMPILED_KEPT) compiled.delete(compiled.keys().next().value!);
  return entry;
}

/** Drops a built ruleset (one that built but does not run). */
export function forgetRuleset(key: string): void {
  compiled.delete(key);
}

/** spectral:oas (recommended rules): what applies while the network has no ruleset. */
export function defaultRuleset(): CompiledRuleset {
  return compiledRuleset(DEFAULT_RULESET.key, DEFAULT_RULESET.name, () => DEFAULT_RULESET.data);
}
