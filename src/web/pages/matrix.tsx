import type { Hono } from 'hono';
import type { Deps } from '../../context.ts';
import type { WebEnv } from '../types.ts';

/** The console's matrix pages (mounted under /console). */
export function registerMatrixPages(app: Hono<WebEnv>, deps: Deps): void {
  void app;
  void deps;
}
