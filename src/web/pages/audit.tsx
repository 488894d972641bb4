import type { Hono } from 'hono';
import type { Deps } from '../../context.ts';
import type { WebEnv } from '../types.ts';

/** The console's audit pages (mounted under /console). */
export function registerAuditPages(app: Hono<WebEnv>, deps: Deps): void {
  void app;
  void deps;
}
