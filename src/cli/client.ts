import type { Config } from '../config.ts';
import { CliFailure } from './errors.ts';

/** A request the server answered with an error status: its status and problem body besides the message. */
export class ServerRefusal extends CliFailure {
  constructor(
    readonly status: number,
    readonly problem: unknown,
  ) {
    super(describeProblem(status, problem), status >= 500 ? 3 : 1);
  }
}

/** Sends one request to the Accord server named by ACCORD_URL with ACCORD_TOKEN. */
export async function callServer(
  config: Config,
  method: string,
  path: string,
  body?: { text: string; contentType: string },
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown; headers: Headers }> {
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
  if (response.status >= 400) throw new ServerRefusal(response.status, json);
  return { status: response.status, json, headers: response.headers };
}

/** One readable paragraph from a problem+json body. */
export function describeProblem(status: number, body: unknown): string {
  if (typeof body !== 'object' || body === null) return `HTTP ${status}: ${String(body)}`;
  const p = body as { title?: string; detail?: string; errors?: Array<{ location: string; message: string }> };
  const lines = [`HTTP ${status} ${p.title ?? ''}: ${p.detail ?? ''}`.trim()];
  for (const e of p.errors ?? []) lines.push(`  ${e.location || '(document)'}: ${e.message}`);
  return lines.join('\n');
}
