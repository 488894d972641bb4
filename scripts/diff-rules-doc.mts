// `npm run docs`: writes docs/diff-rules.md from the rule tables in src/diff/rules and oasdiff's
// check catalogue in ../shared/corpus/diff/oasdiff-checks.tsv.
import fs from 'node:fs';
import path from 'node:path';
import { parseOasdiffChecks, renderRulesDoc } from '../src/diff/rules/docs.ts';

const root = path.resolve(import.meta.dirname, '..');
const tsv = fs.readFileSync(path.resolve(root, '../shared/corpus/diff/oasdiff-checks.tsv'), 'utf8');
fs.writeFileSync(path.join(root, 'docs/diff-rules.md'), renderRulesDoc(parseOasdiffChecks(tsv)));
console.log('wrote docs/diff-rules.md');
