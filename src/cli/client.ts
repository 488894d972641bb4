import type { Config } from '../config.ts';
import { CliFailure } from './errors.ts';

/** Sends one request to the Accord server named by ACCORD_URL with ACCORD_TOKEN. */
export async function callServer(
  config: Config,
  method: string,
  path: string,
  body?: { text: string; contentType: string },
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown }> {
  if (!config.token) throw new CliFailure('Set ACCORD_TOKEN to a token for the server (see `accord token create --help`)', 3);
  let response: Response;
  try {
    response = await fetch(`${config.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${config.token}`, ...(body ? { 'Content-Type': body.contentType } : {}), ...headers },
      ...(body ? { body: body.text } : {}),
    });
  } catch (error) {
    throw new CliFailure(`Cannot reach Accord at ${config.url} (${(error as Error).cause ?? (error as Error).message}); is the server running and ACCORD_URL right?`, 3);
  }
  const text = await response.text();
  let json: unknown = text;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  if (response.status >= 400) throw new CliFailure(describeProblem(response.status, json), response.status >= 500 ? 3 : 1);
  return { status: response.status, json };
}

/** One readable paragraph from a problem+json body. */
export function describeProblem(status: number, body: unknown): string {
  if (typeof body !== 'object' || body === null) return `HTTP ${status}: ${String(body)}`;
  const p = body as { title?: string; detail?: string; errors?: Array<{ location: string; message: string }> };
  const lines = [`HTTP ${status} ${p.title ?? ''}: ${p.detail ?? ''}`.trim()];
  for (const e of p.errors ?? []) lines.push(`  ${e.location || '(document)'}: ${e.message}`);
  return lines.join('\n');
}

/**
 * Like `callServer`, but answers a refusal too (status and body) instead of throwing, for commands
 * that print refusals their own way; a missing token or an unreachable server is still exit 3.
 */
export async function requestServer(config: Config, method: string, path: string, body: { text: string; contentType: string }): Promise<{ status: number; json: unknown }> {
  if (!config.token) throw new CliFailure('Set ACCORD_TOKEN to a token for the server (see `accord token create --help`)', 3);
  let response: Response;
  try {
    response = await fetch(`${config.url}${path}`, { method, headers: { Authorization: `Bearer ${config.token}`, 'Content-Type': body.contentType }, body: body.text });
  } catch (error) {
    throw new CliFailure(`Cannot reach Accord at ${config.url} (${(error as Error).cause ?? (error as Error).message}); is the server running and ACCORD_URL right?`, 3);
  }
  const text = await response.text();
  try {
    return { status: response.status, json: text ? JSON.parse(text) : null };
  } catch {
    return { status: response.status, json: text };
  }
}
