import type { PartitionPeriod } from '../config/types.js';

const periodScale: Record<PartitionPeriod, (ts: string) => string> = {
  year: (ts) => `year(${ts})`,
  month: (ts) => `(year(${ts}) * 100 + month(${ts}))`,
  day: (ts) => `(year(${ts}) * 10000 + month(${ts}) * 100 + day(${ts}))`,
};

/** The partition period of a timestamp as an integer (2024, 202403, 20240315): cheap to compute and to filter on. */
export function periodSql(period: PartitionPeriod, ts: string): string {
  return periodScale[period](ts);
}

/** The label a period integer has in the lake's paths (2024, 2024-03, 2024-03-15). */
export function periodLabel(period: PartitionPeriod, value: number): string {
  const s = String(value);
  if (period === 'year') return s.padStart(4, '0');
  if (period === 'month') return `${s.slice(0, -2).padStart(4, '0')}-${s.slice(-2)}`;
  return `${s.slice(0, -4).padStart(4, '0')}-${s.slice(-4, -2)}-${s.slice(-2)}`;
}

/** The period before a period integer (2024 -> 2023, 202401 -> 202312, 20240301 -> 20240229). */
export function previousPeriod(period: PartitionPeriod, value: number): number {
  if (period === 'year') return value - 1;
  if (period === 'month') return value % 100 === 1 ? value - 89 : value - 1;
  const label = periodLabel('day', value);
  const d = new Date(Date.parse(`${label}T00:00:00Z`) - 86_400_000);
  return d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
}

/** The first instant of a period integer, as a SQL timestamp. */
export function periodStartSql(period: PartitionPeriod, value: number): string {
  const label = periodLabel(period, value);
  const day = period === 'year' ? `${label}-01-01` : period === 'month' ? `${label}-01` : label;
  return `TIMESTAMP '${day} 00:00:00'`;
}
