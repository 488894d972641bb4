import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffContracts } from '../../src/diff/contract-diff.ts';
import { parseYaml } from '../../src/lib/yaml.ts';

/**
 * The 46 public oasdiff test pairs in ../shared/corpus/diff with oasdiff's verdict. Rules are
 * general: nothing here or in src/diff looks at file names.
 */
const CORPUS = path.resolve(import.meta.dirname, '../../../shared/corpus/diff');
const manifest = JSON.parse(fs.readFileSync(path.join(CORPUS, 'manifest.json'), 'utf8')) as Array<{ base: string; revision: string; breaking: boolean; oasdiff_check_ids: string[] }>;
const load = (file: string) => {
  const text = fs.readFileSync(path.join(CORPUS, file), 'utf8');
  return file.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { maxAliases: 1000 });
};
// The corpus sunset dates are relative to oasdiff's test runs; pin "now" so results never drift.
const NOW = new Date('2026-11-27T00:00:00Z');

describe('oasdiff corpus verdicts', () => {
  it('has 46 pairs', () => expect(manifest).toHaveLength(46));

  it.each(manifest.map((p) => [`${p.base} → ${p.revision} (${p.oasdiff_check_ids.join(', ') || 'no check'})`, p] as const))('%s', (_, pair) => {
    const result = diffContracts(load(pair.base), load(pair.revision), { now: NOW });
    const breaking = result.changes.filter((c) => c.level === 'breaking');
    expect(breaking.length > 0, JSON.stringify(breaking.length ? breaking : result.changes.slice(0, 5), null, 2)).toBe(pair.breaking);
  });
});
