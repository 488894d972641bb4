import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, SETTINGS } from '../src/config.ts';
import { REPO_ROOT } from './harness.ts';

describe('settings', () => {
  it('the README configuration table lists exactly the settings config.ts reads', () => {
    const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
    const documented = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(SETTINGS.map(([name]) => name).sort());
  });

  it('config.ts reads every setting it lists (an unknown value is refused or used, never ignored)', () => {
    const source = fs.readFileSync(path.join(REPO_ROOT, 'src/config.ts'), 'utf8');
    for (const [name] of SETTINGS) expect(source, name).toMatch(new RegExp(`env\\.${name}\\b`));
    expect(() => loadConfig({})).not.toThrow();
  });
});
