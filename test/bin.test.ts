import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runProcess } from './harness.ts';

/**
 * bin/accord.js (issue 19) runs dist/main.js when the build is newer than every file under src/,
 * and in a checkout whose build is missing or older, the source through tsx — never a stale build.
 * A copy of bin/ beside the real src/ and node_modules, with a stand-in dist/ whose main.js
 * says it ran, and whose build stamp is dated before or after the sources.
 */
describe('bin/accord.js', () => {
  let root: string;
  const version = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const cli = () => runProcess(process.execPath, [path.join(root, 'bin/accord.js'), '--version'], { PATH: process.env.PATH ?? '' }, root);
  const stamp = () => path.join(root, 'dist/.build-stamp');

  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-bin-'));
    fs.mkdirSync(path.join(root, 'bin'));
    fs.copyFileSync(path.join(REPO_ROOT, 'bin/accord.js'), path.join(root, 'bin/accord.js'));
    for (const name of ['src', 'node_modules', 'tsconfig.json', 'package.json']) fs.symlinkSync(path.join(REPO_ROOT, name), path.join(root, name));
    fs.mkdirSync(path.join(root, 'dist'));
    fs.writeFileSync(path.join(root, 'dist/main.js'), "export async function main() { console.log('the build ran'); return 0; }\n");
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('runs the build when it is newer than every source file', async () => {
    fs.writeFileSync(stamp(), '');
    const future = new Date(Date.now() + 3_600_000);
    fs.utimesSync(stamp(), future, future);
    expect(await cli()).toMatchObject({ code: 0, stdout: 'the build ran\n' });
  });

  it('runs the source through tsx when the build is older than a source file, or was never finished', async () => {
    fs.utimesSync(stamp(), new Date(0), new Date(0));
    expect(await cli()).toMatchObject({ code: 0, stdout: `accord ${version}\n` });
    fs.rmSync(stamp());
    expect(await cli()).toMatchObject({ code: 0, stdout: `accord ${version}\n` });
  });
});
