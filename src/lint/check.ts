import { createHash } from 'node:crypto';
import { dumpYaml } from '../lib/yaml.ts';
import { lintDocument } from './linter.ts';
import { buildRuleset, compiledRuleset, forgetRuleset, RulesetError, type CompiledRuleset, type RulesetFinding } from './ruleset.ts';

/**
 * A ruleset is usable when it builds and runs. Spectral accepts some broken JSONPath
 * expressions (`$[?(`) when it builds a ruleset and only fails when it runs one, so a ruleset is
 * run once on tiny documents before it is stored or used, and a failure is traced to its rule.
 */

const SMOKE_DOCUMENTS = ['3.0.3', '3.1.0'].map((v) => `openapi: ${v}\ninfo:\n  title: ruleset check\n  version: 1.0.0\npaths: {}\n`);
const VERIFIED_KEPT = 64;
const verified = new Set<string>();

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const escape = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');

/** Why a built ruleset cannot run, or undefined when it runs. */
async function runFailure(ruleset: CompiledRuleset): Promise<string | undefined> {
  try {
    for (const text of SMOKE_DOCUMENTS) await lintDocument({ text, format: 'yaml', source: 'ruleset-check.yaml', ruleset: { ...ruleset, key: `check:${ruleset.key}` }, throwOnEngineFailure: true });
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The findings for a ruleset that builds but does not run: each own rule that fails alone, else the whole. */
async function locate(data: Obj, failure: string): Promise<RulesetFinding[]> {
  const findings: RulesetFinding[] = [];
  const { extends: _inherited, rules, ...rest } = data;
  for (const [name, rule] of Object.entries(isObject(rules) ? rules : {})) {
    if (!isObject(rule)) continue;
    const alone = { ...rest, rules: { [name]: rule } };
    let built;
    try {
      built = buildRuleset(alone);
    } catch {
      continue; // a rule that needs the inherited ones to build cannot be tried alone
    }
    const message = await runFailure({ key: `rule:${createHash('sha256').update(JSON.stringify(alone)).digest('hex')}`, name, ruleset: built });
    if (message) findings.push({ rule: 'ruleset/given', location: `/rules/${escape(name)}/given`, message: `the rule does not run: ${message}` });
  }
  return findings.length > 0 ? findings : [{ rule: 'ruleset/given', location: '', message: `the ruleset does not run: ${failure}` }];
}

/**
 * A built ruleset that is known to run, built on first use and kept under `key` (the sha256 of
 * its content); throws a RulesetError with every finding otherwise.
 */
export async function usableRuleset(key: string, name: string, load: () => unknown): Promise<CompiledRuleset> {
  let data: unknown;
  const ruleset = compiledRuleset(key, name, () => (data = load()));
  if (verified.has(key)) return ruleset;
  const failure = await runFailure(ruleset);
  if (failure) {
    forgetRuleset(key);
    throw new RulesetError(await locate((data ?? load()) as Obj, failure));
  }
  if (verified.size >= VERIFIED_KEPT) verified.clear();
  verified.add(key);
  return ruleset;
}

/**
 * The findings of a parsed ruleset document (none when it builds and runs). A usable ruleset is
 * kept under the sha256 of its canonical YAML — the key it is stored and later looked up by.
 */
export async function checkRuleset(data: unknown): Promise<RulesetFinding[]> {
  try {
    await usableRuleset(createHash('sha256').update(dumpYaml(data), 'utf8').digest('hex'), 'ruleset', () => data);
    return [];
  } catch (error) {
    if (error instanceof RulesetError) return error.findings;
    throw error;
  }
}
