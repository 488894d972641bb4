/**
 * Why a backup or a restore stopped: `unusable-backup` when the backup itself cannot be trusted
 * (no manifest, a file that does not match it, a restored copy that fails its checks), `refused`
 * when the request cannot be carried out as asked (a target that is not empty, no data dir, no
 * audit key, the wrong key).
 */
export class BackupError extends Error {
  constructor(
    readonly reason: 'unusable-backup' | 'refused',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BackupError';
  }
}
