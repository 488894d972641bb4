import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffContracts } from '../../src/diff/contract-diff.ts';
import { coverage, parseOasdiffChecks, renderRulesDoc } from '../../src/diff/rules/docs.ts';
import { RULES, ruleOf } from '../../src/diff/rules/index.ts';
import { UNMAPPED } from '../../src/diff/rules/unmapped.ts';
import { parseText } from '../../src/contracts/document.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CHECKS = parseOasdiffChecks(fs.readFileSync(path.resolve(ROOT, '../shared/corpus/diff/oasdiff-checks.tsv'), 'utf8'));
const KNOWN = new Set(CHECKS.map((c) => c.id));

describe('docs/diff-rules.md and the rule table', () => {
  it('the committed document is the one the rule table generates (run `npm run docs` after changing a rule)', () => {
    expect(fs.readFileSync(path.join(ROOT, 'docs/diff-rules.md'), 'utf8')).toBe(renderRulesDoc(CHECKS));
  });

  it('every oasdiff ERR and WARN check has an Accord rule or a written reason', () => {
    const missing = coverage(CHECKS).filter((c) => c.check.level !== 'info' && c.rules.length === 0 && !c.reason).map((c) => c.check.id);
    expect(missing).toEqual([]);
  });

  it('names only oasdiff checks that exist, and explains every unmapped one once', () => {
    expect(RULES.flatMap((r) => r.oasdiff).filter((id) => !KNOWN.has(id))).toEqual([]);
    expect(UNMAPPED.map((u) => u.oasdiff).filter((id) => !KNOWN.has(id))).toEqual([]);
    const unmapped = UNMAPPED.map((u) => u.oasdiff);
    expect(unmapped.length).toBe(new Set(unmapped).size);
  });

  it('says why wherever a rule with an oasdiff id has another default level than that check', () => {
    const level = new Map(CHECKS.map((c) => [c.id, c.level]));
    const silent = RULES.filter((r) => r.oasdiff.some((id) => level.get(id) !== r.level) && !r.differs).map((r) => r.id);
    expect(silent).toEqual([]);
  });

  it('gives every rule a description and a consequence a partner can read', () => {
    for (const r of RULES) {
      expect(r.description.length, r.id).toBeGreaterThan(10);
      expect(r.consequence, r.id).toMatch(/^[A-Z{].{15,}\.$/);
    }
  });
});

/** Every base/revision pair of documents under a folder (shared corpus and our own fixtures). */
function pairs(dir: string): Array<[string, string]> {
  if (!fs.existsSync(dir)) return [];
  const out: Array<[string, string]> = [];
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const m = /^(.*?)(base)(\.ya?ml|\.json)$/.exec(f);
    if (!m) continue;
    const revision = path.join(dir, `${m[1]}revision${m[3]}`);
    if (fs.existsSync(revision)) out.push([path.join(dir, f), revision]);
  }
  return out;
}

describe('the engine emits only rules of the table', () => {
  const load = (file: string) => parseText(fs.readFileSync(file, 'utf8'), file.endsWith('.json') ? 'json' : 'yaml', { maxAliases: 100 });
  const manifest = JSON.parse(fs.readFileSync(path.resolve(ROOT, '../shared/corpus/diff/manifest.json'), 'utf8')) as Array<{ base: string; revision: string }>;
  const all: Array<[string, string]> = [
    ...manifest.map((m) => [path.resolve(ROOT, '../shared/corpus/diff', m.base), path.resolve(ROOT, '../shared/corpus/diff', m.revision)] as [string, string]),
    ...pairs(path.join(ROOT, 'test/fixtures/diff')),
  ];

  it.each(all.map(([b, r]) => [path.relative(ROOT, r), b, r]))('%s: every finding has a rule of the table, at its level', (_name, b, r) => {
    const result = diffContracts(load(b), load(r), { now: new Date('2026-12-01T00:00:00Z') });
    for (const c of result.changes) {
      const rule = ruleOf(c.rule);
      expect(rule, c.rule).toBeDefined();
      // Findings of a draft or alpha operation are reported as info.
      expect(c.level === rule!.level || c.level === 'info', `${c.rule} at ${c.level}`).toBe(true);
    }
  });
});
