#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `npx accord …` works right after `npm ci`.
// The package's own tsconfig (JSX for the console's pages), whatever the working directory.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
