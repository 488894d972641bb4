#!/usr/bin/env node
// `npm run build` (also `prepare`, so `npm ci` and installs from Git build; and before `npm start`
// and `npm test`): compiles src/ into dist/ with tsconfig.build.json — dist mirrors src, so
// PACKAGE_ROOT (src/package-root.ts) is the package root from either — then the worker entry
// files, and last dist/.build-stamp, which bin/accord.js compares with src/ in a checkout.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');
const started = performance.now();

/** Whether dist/.build-stamp is newer than everything under src/ (what bin/accord.js checks too). */
function isCurrent() {
  let stamp;
  try {
    stamp = fs.statSync(path.join(dist, '.build-stamp')).mtimeMs;
  } catch {
    return false;
  }
  return fs.readdirSync(src, { recursive: true, encoding: 'utf8' }).every((file) => fs.statSync(path.join(src, file)).mtimeMs <= stamp);
}

// --if-stale (`npm start`, `npm test`): nothing to do when the build is newer than every source file.
if (process.argv.includes('--if-stale') && isCurrent()) process.exit(0);

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
// tsc writes its incremental state in dist/: a dist deleted by hand is rebuilt whole.
const compiled = spawnSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (compiled.status !== 0) {
  console.error('accord build: tsc failed (dist/ is not up to date)');
  process.exit(compiled.status ?? 1);
}

// Worker entry files are plain JavaScript that tsc does not copy. One that registers tsx to run
// TypeScript in a checkout (src/lint/lint.worker.mjs) gets, in dist, a twin importing the
// compiled module instead: the built package never needs tsx.
for (const file of fs.readdirSync(src, { recursive: true, encoding: 'utf8' })) {
  if (!file.endsWith('.worker.mjs')) continue;
  const text = fs.readFileSync(path.join(src, file), 'utf8');
  const target = path.join(dist, file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  if (!text.includes('tsx')) {
    fs.writeFileSync(target, text);
    continue;
  }
  const imports = [...text.matchAll(/await import\('(\.\/[^']+)\.ts'\);/g)].map((m) => m[1]);
  if (imports.length === 0) throw new Error(`${file} registers tsx but imports no ./*.ts module the build knows how to rewrite`);
  fs.writeFileSync(target, `// Written by scripts/build.mjs from src/${file.split(path.sep).join('/')}: the compiled worker, without tsx.\n${imports.map((m) => `await import('${m}.js');\n`).join('')}`);
}

fs.writeFileSync(path.join(dist, '.build-stamp'), `${new Date().toISOString()}\n`);
console.log(`accord build: dist/ in ${((performance.now() - started) / 1000).toFixed(1)} s`);
