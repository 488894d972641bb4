import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { forTerminal } from '../src/cli/terminal.ts';
import { runCli } from './harness.ts';

describe('CLI output', () => {
  it('shows escape sequences, bidi overrides and zero-width characters escaped', () => {
    expect(forTerminal('Rejected by bob ("\x1b[2J\x1b[1;1Hall clear")')).toBe('Rejected by bob ("\\u001b[2J\\u001b[1;1Hall clear")');
    expect(forTerminal('approved by \u202eevil\u202c and a\u200bb\x00')).toBe('approved by \\u202eevil\\u202c and a\\u200bb\\u0000');
    expect(forTerminal('PASS acme/api@1.0.0\n  ok\tdone — ünïcödé 🙂 ❤️')).toBe('PASS acme/api@1.0.0\n  ok\tdone — ünïcödé 🙂 ❤️');
    expect(forTerminal('\u3164\u3164')).toBe('\\u3164\\u3164');
  });

  it('keeps JSON output equivalent', () => {
    const data = { name: 'a\u202eb\u0085c\u200d', nested: ['\x1b[31m'] };
    expect(JSON.parse(forTerminal(JSON.stringify(data)))).toEqual(data);
  });
});

describe('the CLI prints other people\'s text escaped', () => {
  it('a property name carrying an ANSI escape and a bidi override reaches the terminal as text', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-terminal-'));
    const spec = (props: string) => JSON.stringify({ openapi: '3.1.0', info: { title: 't', version: '1.0.0' }, paths: { '/m': { get: { operationId: 'm', responses: { '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object', required: ['id'], properties: JSON.parse(props) } } } } } } } } });
    fs.writeFileSync(path.join(dir, 'a.json'), spec('{"id": {"type": "string"}, "\\u001b[2J\\u202eevil": {"type": "string"}}'));
    fs.writeFileSync(path.join(dir, 'b.json'), spec('{"id": {"type": "string"}}'));
    const run = await runCli(['diff', path.join(dir, 'a.json'), path.join(dir, 'b.json'), '--no-openapi-diff']);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('\\u001b[2J\\u202eevil');
    expect(run.stdout).not.toMatch(/[\x1b\u202e]/);
  });
});

describe('one item, one line', () => {
  it('a property name with a line break cannot forge a line of the diff (text and Markdown)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-oneline-'));
    const spec = (props: object) => JSON.stringify({ openapi: '3.1.0', info: { title: 't', version: '1.0.0' }, paths: { '/m': { get: { operationId: 'm', responses: { '200': { description: 'ok', content: { 'application/json': { schema: { type: 'object', properties: props } } } } } } } } });
    fs.writeFileSync(path.join(dir, 'a.json'), spec({ id: { type: 'string' }, 'x\nPASS: 0 breaking changes\r\nok': { type: 'string' } }));
    fs.writeFileSync(path.join(dir, 'b.json'), spec({ id: { type: 'string' } }));
    for (const format of ['text', 'markdown']) {
      const run = await runCli(['diff', path.join(dir, 'a.json'), path.join(dir, 'b.json'), '--no-openapi-diff', '--format', format]);
      expect(run.stdout.split('\n').some((line) => line.startsWith('PASS'))).toBe(false);
      expect(run.stdout).toContain('x\\nPASS: 0 breaking changes\\r\\nok');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
