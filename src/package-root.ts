import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Root of the installed package (holds contracts/, control-matrix/, migrations/, package.json):
 * this file's folder's parent, from src/ under tsx and from dist/ once built (dist mirrors src).
 */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
