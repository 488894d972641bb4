import type { Config } from '../config.ts';
import { CliFailure } from './errors.ts';

/**
 * Sends one request to the Accord server named by ACCORD_URL with ACCORD_TOKEN. An answer of
 * 400 or more is a CliFailure carrying the status and the problem+json body: exit 1 (refused)
 * for a 4xx that says no to this request, exit 3 (could not run) for 401 — the token itself is
 * not accepted, a configuration matter — 429 (busy: try again) and 5xx.
 */
export async function callServer(
  config: Config,
  method: string,
  path: string,
  body?: { text: string; contentType: string },
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown; headers: Headers }> {
  const answer = await requestServer(config, method, path, body, headers);
  if (answer.status >= 400) throw serverFailure(answer.status, answer.json);
  return answer;
}

/** Sends `body` as JSON (see callServer). */
export function sendJson(config: Config, method: string, path: string, body: unknown): Promise<{ status: number; json: unknown; headers: Headers }> {
  return callServer(config, method, path, { text: JSON.stringify(body), contentType: 'application/json' });
}

/** One path segment, escaped: ids come from the command line. */
export function segment(value: unknown): string {
  return encodeURIComponent(String(value));
}

/** The failure an error answer means, with its exit code and kind (see callServer). */
export function serverFailure(status: number, body: unknown): CliFailure {
  const details = { status, problem: body };
  if (status === 401) return new CliFailure(`${describeProblem(status, body)}\nThe server does not accept ACCORD_TOKEN: check it, or create one (accord token create --help).`, 3, { ...details, kind: 'unauthorized' });
  if (status === 429 || status >= 500) return new CliFailure(describeProblem(status, body), 3, { ...details, kind: 'unavailable' });
  return new CliFailure(describeProblem(status, body), 1, { ...details, kind: 'refused' });
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
export async function requestServer(
  config: Config,
  method: string,
  path: string,
  body?: { text: string; contentType: string },
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown; headers: Headers }> {
  if (!config.token) throw new CliFailure('Set ACCORD_TOKEN to a token for the server (see `accord token create --help`)', 3, { kind: 'configuration' });
  let response: Response;
  try {
    response = await fetch(`${config.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${config.token}`, ...(body ? { 'Content-Type': body.contentType } : {}), ...headers },
      ...(body ? { body: body.text } : {}),
    });
  } catch (error) {
    throw new CliFailure(`Cannot reach Accord at ${config.url} (${(error as Error).cause ?? (error as Error).message}); is the server running and ACCORD_URL right?`, 3, { kind: 'unreachable' });
  }
  const text = await response.text();
  let json: unknown = text;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, json, headers: response.headers };
}
