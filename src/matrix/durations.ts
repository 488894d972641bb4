import { DURATION_PATTERN } from './schema.ts';

const PATTERN = new RegExp(DURATION_PATTERN);

/** Milliseconds in an ISO 8601 duration of days/hours/minutes/seconds (P1D, PT1H30M, PT0.5S). */
export function durationMs(duration: string): number {
  if (!PATTERN.test(duration)) throw new Error(`not an ISO 8601 duration: ${duration}`);
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(duration)!;
  const [, d = '0', h = '0', min = '0', s = '0'] = m;
  return Math.round(((Number(d) * 24 + Number(h)) * 60 + Number(min)) * 60_000 + Number(s) * 1000);
}

/** A short human form of milliseconds: 950 ms, 30 s, 5 min, 2 h, 1 d 3 h. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const parts: string[] = [];
  let rest = ms / 1000;
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['min', 60]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)} ${unit}`);
      rest %= size;
    }
  }
  if (rest > 0) parts.push(`${Number(rest.toFixed(3))} s`);
  return parts.join(' ');
}
