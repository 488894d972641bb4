import { expect } from 'vitest';
import type { TestService } from './harness.ts';

/** What a matrix write or a proposal read answers (the fields tests look at). */
export interface StoredMatrixVersion {
  name: string;
  version: number;
  status: string;
  baseVersion: number | null;
  approvals?: { counted: number; required: number; by: string[] };
}

/**
 * Stores a flow entry so that it governs, the way the API asks (ADR 0018): PUT with `token`
 * (admin unless given) proposes it, then fresh approvers approve it one by one until the
 * policy's number of approvals is reached. Content equal to the approved version is left as it
 * is. Returns the approved version.
 */
export async function putApprovedMatrixEntry(s: TestService, flow: string, body: string, options: { token?: string; type?: string } = {}): Promise<StoredMatrixVersion> {
  const put = await s.call('PUT', `/v1/control-matrix/${flow}`, { body, type: options.type ?? 'application/yaml', ...(options.token ? { token: options.token } : {}) });
  expect([200, 201], await put.clone().text()).toContain(put.status);
  let stored = (await put.json()) as StoredMatrixVersion;
  for (let round = 0; stored.status === 'proposed'; round++) {
    expect(round, `proposal ${flow} v${stored.version} still open after ${round} approvals`).toBeLessThan(10);
    const review = await s.call('POST', `/v1/control-matrix/${flow}/proposals/${stored.version}/reviews`, {
      body: JSON.stringify({ decision: 'approve', comment: 'looks right' }),
      type: 'application/json',
      token: await s.token('approver'),
    });
    expect(review.status, await review.clone().text()).toBe(201);
    stored = ((await review.json()) as { proposal: StoredMatrixVersion }).proposal;
  }
  expect(stored.status).toBe('approved');
  return stored;
}
