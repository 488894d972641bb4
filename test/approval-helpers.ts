import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseYaml } from '../src/lib/yaml.ts';
import { REPO_ROOT } from './harness.ts';

/** The reference flow with `compensation.approval: required` on capture-consent (revokeConsent waits for a person). */
export function approvalFlowYaml(): string {
  const text = fs.readFileSync(path.join(REPO_ROOT, 'control-matrix/payer-data-export.yaml'), 'utf8');
  const withApproval = text.replace('    compensation:\n      operationId: revokeConsent\n', '    compensation:\n      operationId: revokeConsent\n      approval: required\n');
  if (withApproval === text) throw new Error('capture-consent compensation not found in payer-data-export.yaml');
  // Page the owner as soon as a compensation has awaited approval for more than a minute.
  const rule = '    - metric: compensationApprovalWait\n      above: PT1M\n      window: PT5M\n      for: PT0S\n      actions: [page-owner]\n';
  return withApproval.replace('  interventions:\n', `  interventions:\n${rule}`);
}

/**
 * A seed folder (contracts and control matrix of the reference network) whose payer-data-export
 * flow asks for approval of capture-consent's compensation; seeding imports it as approved, the
 * way a matrix author and approver would have left it.
 */
export function approvalSeedDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-approval-seed-'));
  fs.cpSync(path.join(REPO_ROOT, 'contracts'), path.join(dir, 'contracts'), { recursive: true });
  fs.cpSync(path.join(REPO_ROOT, 'control-matrix'), path.join(dir, 'control-matrix'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'control-matrix/payer-data-export.yaml'), approvalFlowYaml());
  return dir;
}

/** A $member-match request body that matches (the reference partner's example). */
export function matchExample(partner = 'northwind-health', version = '2.0.0'): unknown {
  const doc = parseYaml(fs.readFileSync(path.join(REPO_ROOT, 'contracts', partner, 'p2p-exchange', version, 'openapi.yaml'), 'utf8'), { maxAliases: 0 }) as any;
  return structuredClone(doc.paths['/Patient/$member-match'].post.requestBody.content['application/fhir+json'].example);
}
