import type { Command } from '../command.ts';
import { auditReanchor } from './audit-reanchor.ts';
import { auditVerify } from './audit-verify.ts';
import { backup } from './backup.ts';
import { contractRegister } from './contract-register.ts';
import { dbCopy } from './db-copy.ts';
import { diff } from './diff.ts';
import { evidenceAdd, evidenceJunit } from './evidence.ts';
import { gateCheck } from './gate-check.ts';
import { importFolder } from './import.ts';
import { lint } from './lint.ts';
import { matrixValidate } from './matrix-validate.ts';
import { restore } from './restore.ts';
import { serve } from './serve.ts';
import { tokenCreate } from './token-create.ts';

/** Every command, in the order `accord --help` lists them. */
export const COMMANDS: readonly Command[] = [serve, tokenCreate, importFolder, contractRegister, matrixValidate, gateCheck, evidenceAdd, evidenceJunit, auditVerify, auditReanchor, backup, restore, dbCopy, diff, lint];
