import { expect } from 'vitest';
import type { TestService } from './harness.ts';

/** A certification run as the API returns it, as far as the tests read it. */
export type Run = {
  id: string;
  status: string;
  target: string;
  environment: string;
  trigger: string;
  driftNoticeId: string | null;
  progress: { total: number; done: number; failed: number };
  evidence: Array<{ id: string; kind: string; result: string }>;
  cases: Array<{ id: string; category: string; verdict: string; findings: string[]; exchanges: Array<{ request: { headers: Record<string, string> } }> }>;
};

/** Starts a certification, waits for this replica's runs to end and returns the run. */
export async function certify(s: TestService, body: Record<string, unknown>, token?: string): Promise<Run> {
  const res = await s.call('POST', '/v1/certifications', { body: JSON.stringify(body), type: 'application/json', token });
  expect(res.status, await res.clone().text()).toBe(202);
  const location = new URL(res.headers.get('location')!).pathname;
  expect(res.headers.get('location')).toBe(`${s.config.publicUrl}${location}`);
  expect(location).toMatch(/^\/v1\/certifications\/crt_[0-9a-f]{16}$/);
  await s.runtime.certifier.idle();
  return (await (await s.call('GET', location, { token })).json()) as Run;
}

