import type { Hono } from 'hono';
import type { Deps } from '../../context.ts';
import type { WebEnv } from '../types.ts';

/** The console's notices pages (mounted under /console). */
export function registerNoticesPages(app: Hono<WebEnv>, deps: Deps): void {
  void app;
  void deps;
}
