import type { Hono } from 'hono';
import type { Deps } from '../../context.ts';
import type { WebEnv } from '../types.ts';

/** The console's contracts pages (mounted under /console). */
export function registerContractsPages(app: Hono<WebEnv>, deps: Deps): void {
  void app;
  void deps;
}
