import { afterEach, expect } from 'vitest';
import { takeMismatches } from './conformance.ts';

// Every answer a test service gave during a test must agree with Accord's own document
// (test/conformance.ts): a mismatch fails the test that received it.
afterEach(async () => {
  expect(await takeMismatches(), 'answers that contradict /openapi.json').toEqual([]);
});
