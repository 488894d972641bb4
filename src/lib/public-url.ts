import type { Config } from '../config.ts';

/**
 * The absolute URL of one of Accord's own paths, on the configured public URL
 * (ACCORD_PUBLIC_URL), never on the request's Host header, so a forged Host cannot steer
 * links, Location or Link headers elsewhere.
 * @param path an absolute path, e.g. `/v1/notices.atom`
 */
export function absoluteUrl(config: Pick<Config, 'publicUrl'>, path: string): string {
  if (!path.startsWith('/')) throw new Error(`absoluteUrl needs an absolute path, got "${path}"`);
  return `${config.publicUrl}${path}`;
}

/**
 * The public URL with its port replaced by the one the server really listens on, when the
 * configured one is port 0 (PORT=0 without ACCORD_PUBLIC_URL: a port chosen by the system).
 */
export function publicUrlListening(publicUrl: string, port: number): string {
  const url = new URL(publicUrl);
  if (url.port !== '0') return publicUrl;
  url.port = String(port);
  return url.toString().replace(/\/+$/, '');
}
