import type { Hono } from 'hono';
import type { Deps } from '../../context.ts';
import type { WebEnv } from '../types.ts';

/** The console's changes pages (mounted under /console). */
export function registerChangesPages(app: Hono<WebEnv>, deps: Deps): void {
  void app;
  void deps;
}
