import type { Command } from '../command.ts';
import { ack } from './ack.ts';
import { auditReanchor } from './audit-reanchor.ts';
import { auditVerify } from './audit-verify.ts';
import { backup } from './backup.ts';
import { certify } from './certify.ts';
import { changeList, changeOpen, changeShow } from './change.ts';
import { contractRegister } from './contract-register.ts';
import { dbCopy } from './db-copy.ts';
import { deprecate } from './deprecate.ts';
import { diff } from './diff.ts';
import { evidenceAdd, evidenceJunit } from './evidence.ts';
import { gateCheck } from './gate-check.ts';
import { importFolder } from './import.ts';
import { lint } from './lint.ts';
import { matrixValidate } from './matrix-validate.ts';
import { releaseRecord } from './release-record.ts';
import { matrixApprove, matrixPropose, matrixReject } from './matrix-proposals.ts';
import { restore } from './restore.ts';
import { reviewApprove, reviewReject } from './review.ts';
import { serve } from './serve.ts';
import { tokenCreate } from './token-create.ts';

/** Every command, in the order `accord --help` lists them. */
export const COMMANDS: readonly Command[] = [
  serve,
  tokenCreate,
  importFolder,
  contractRegister,
  matrixValidate,
  matrixPropose,
  matrixApprove,
  matrixReject,
  // the change workflow, in the order it runs
  changeOpen,
  changeShow,
  changeList,
  reviewApprove,
  reviewReject,
  ack,
  certify,
  gateCheck,
  evidenceAdd,
  evidenceJunit,
  releaseRecord,
  deprecate,
  auditVerify,
  auditReanchor,
  backup,
  restore,
  dbCopy,
  diff,
  lint,
];
