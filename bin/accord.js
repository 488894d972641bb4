#!/usr/bin/env node
// Runs the compiled CLI, dist/main.js (built by `npm run build`; by `prepare` on `npm ci`, on
// an install from Git and before `npm pack`; and before `npm start` and `npm test`).
// In a Git checkout (src/main.ts is there; a packed install holds no TypeScript) whose dist/ is
// missing or older than a file under src/, it runs the source through tsx instead: a stale
// build never stands in for the code being edited (the check stats src/, about 10 ms).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Whether dist/ was built after the last change under src/ (always, outside a checkout). */
function builtIsCurrent() {
  const src = path.join(root, 'src');
  let stamp;
  try {
    stamp = fs.statSync(path.join(root, 'dist', '.build-stamp')).mtimeMs;
  } catch {
    return !fs.existsSync(path.join(src, 'main.ts')) && fs.existsSync(path.join(root, 'dist', 'main.js'));
  }
  if (!fs.existsSync(path.join(src, 'main.ts'))) return true;
  for (const file of fs.readdirSync(src, { recursive: true, encoding: 'utf8' })) {
    if (fs.statSync(path.join(src, file)).mtimeMs > stamp) return false;
  }
  return true;
}

let entry;
if (builtIsCurrent()) {
  entry = pathToFileURL(path.join(root, 'dist', 'main.js')).href;
} else {
  // The package's own tsconfig (JSX for the console's pages), whatever the working directory.
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: path.join(root, 'tsconfig.json') });
  entry = pathToFileURL(path.join(root, 'src', 'main.ts')).href;
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
