// The lint worker thread: Spectral's runs (100 ms to seconds of CPU per contract) stay off the
// service's event loop. The lint code is TypeScript, loaded through tsx as bin/accord.js does.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)) });
await import('./worker.ts');
