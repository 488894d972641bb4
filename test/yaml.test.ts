import { describe, expect, it } from 'vitest';
import { dumpYaml, parseYaml } from '../src/lib/yaml.ts';

describe('YAML parsing', () => {
  it('expands a few aliases like any YAML parser', () => {
    const data = parseYaml('base: &b {type: string}\nx: *b\ny: *b\n', { maxAliases: 100 });
    expect(data).toEqual({ base: { type: 'string' }, x: { type: 'string' }, y: { type: 'string' } });
    expect(dumpYaml(data)).toBe("base:\n  type: string\nx:\n  type: string\n'y':\n  type: string\n");
    expect(dumpYaml({ released: '2026-01-01', flag: 'no' })).toBe("released: '2026-01-01'\nflag: 'no'\n");
  });

  it('refuses more alias uses than allowed', () => {
    const text = `a: &a [1]\nlist: [${Array(101).fill('*a').join(', ')}]\n`;
    expect(() => parseYaml(text, { maxAliases: 100 })).toThrow(/more than 100 times/);
    expect(() => parseYaml(text, { maxAliases: 101 })).not.toThrow();
  });

  it('refuses an alias bomb whose expansion is huge even with few aliases', () => {
    const lines = ['l0: &l0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 7; i++) lines.push(`l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]`);
    expect(() => parseYaml(lines.join('\n'), { maxAliases: 100 })).toThrow(/expands to more than/);
  });

  it('counts aliases of scalars too and bounds what they expand to', () => {
    const big = 'x'.repeat(10_000);
    const text = `a: &a "${big}"\nlist: [${Array(150).fill('*a').join(', ')}]\n`;
    expect(() => parseYaml(text, { maxAliases: 100 })).toThrow(/more than 100 times/);
    expect(() => parseYaml(text, { maxAliases: 10_000 })).toThrow(/expands to more than/);
    expect(parseYaml('a: &a hello\nb: *a\n', { maxAliases: 1 })).toEqual({ a: 'hello', b: 'hello' });
    // asterisks inside text are not aliases
    expect(parseYaml('note: "*bold* text"\nother: a * b\n', { maxAliases: 0 })).toEqual({ note: '*bold* text', other: 'a * b' });
  });

  it('refuses documents nested deeper than the limit', () => {
    expect(() => parseYaml(`${'['.repeat(300)}${']'.repeat(300)}`, { maxAliases: 0 })).toThrow(/nested deeper/);
  });

  it('keeps dates and version-like scalars as strings (core schema) and refuses duplicate keys', () => {
    expect(parseYaml('d: 2026-01-01\nv: 1.10\nn: 010\n', { maxAliases: 0 })).toEqual({ d: '2026-01-01', v: 1.1, n: 10 });
    expect(() => parseYaml('a: 1\na: 2\n', { maxAliases: 0 })).toThrow(/not valid YAML/);
  });
});
