import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { isSemver, versionKey } from '../src/contracts/ids.ts';

describe('version keys', () => {
  it('sort exactly like semver precedence, including pre-releases', () => {
    const versions = [
      '1.0.0', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1',
      '1.0.0-alpha-1', '1.0.0-0', '1.0.0-1', '1.0.0-a-', '2.0.0', '10.0.0', '1.10.0', '1.2.0', '0.0.1', '1.0.1', '9007199254740991.0.0',
    ];
    // a deterministic pseudo-random pool on top of the edge cases
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
    for (let i = 0; i < 300; i++) {
      const pre = rnd(3) === 0 ? `-${['alpha', 'beta', 'rc', '0', '7', 'x-y'][rnd(6)]}${rnd(2) ? `.${rnd(20)}` : ''}` : '';
      versions.push(`${rnd(12)}.${rnd(12)}.${rnd(12)}${pre}`);
    }
    const byKey = [...new Set(versions)].sort((a, b) => (versionKey(a) < versionKey(b) ? -1 : versionKey(a) > versionKey(b) ? 1 : 0));
    const bySemver = [...new Set(versions)].sort(semver.compare);
    expect(byKey).toEqual(bySemver);
  });

  it('accepts only strict semantic versions without build metadata', () => {
    for (const ok of ['1.0.0', '0.1.0-rc.1', '1.2.3-x.7']) expect(isSemver(ok), ok).toBe(true);
    for (const bad of ['v1.0.0', '1.0', '1.0.0.0', '01.0.0', '', ' 1.0.0', '1.2.3+build.5', 1]) expect(isSemver(bad), String(bad)).toBe(false);
  });
});
