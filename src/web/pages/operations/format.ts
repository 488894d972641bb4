/** A value as the console shows it: counts as integers, ratios as percentages, seconds with a unit. */
export function formatValue(value: number | null | undefined, unit: string): string {
  if (value === null || value === undefined) return '–';
  if (unit === 'ratio') return `${(value * 100).toFixed(1)} %`;
  if (unit === 'seconds') return value >= 60 ? `${(value / 60).toFixed(1)} min` : value >= 1 ? `${value.toFixed(2)} s` : `${(value * 1000).toFixed(0)} ms`;
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
