import type { PartitionPeriod, PartitionRule } from '../config/types.js';
import { literal } from '../core/sql.js';
import { coarseLabel, coarserPeriod, firstFineLabel, type MergedPeriod } from '../lake/layout.js';

/**
 * Partition periods as integers (2024, 202403, 20240315) in SQL and in plans, and as labels
 * (2024, 2024-03, 2024-03-15) in the lake's paths. Both say their own kind (by their digits,
 * by their length), so one series can hold periods of two grains: its configured grain and the
 * next grain up that `mdw retention --compact` merged small partitions into.
 */

/**
 * A series' grain as its writer uses it: the configured rule, and the coarser partitions its
 * lake holds (rows of a merged period go to the merged partition, never to a finer one).
 */
export interface SeriesGrain extends PartitionRule {
  readonly merged?: readonly MergedPeriod[];
}

const periodScale: Record<PartitionPeriod, (ts: string) => string> = {
  year: (ts) => `year(${ts})`,
  month: (ts) => `(year(${ts}) * 100 + month(${ts}))`,
  day: (ts) => `(year(${ts}) * 10000 + month(${ts}) * 100 + day(${ts}))`,
};

/**
 * The partition period of a row as an integer: its grain's period, or the merged coarser
 * period that holds it. `symbol` is the SQL of the row's symbol (used when the grain is by
 * symbol and partitions were merged).
 */
export function periodSql(grain: SeriesGrain, ts: string, symbol: string | null): string {
  const fine = periodScale[grain.period](ts);
  const coarse = coarserPeriod[grain.period];
  const merged = grain.merged ?? [];
  if (!coarse || merged.length === 0) return fine;
  const coarseSql = periodScale[coarse](ts);
  const bySymbol = new Map<string | null, number[]>();
  for (const m of merged) bySymbol.set(grain.by_symbol ? m.symbol : null, [...(bySymbol.get(grain.by_symbol ? m.symbol : null) ?? []), periodValue(m.period)]);
  const terms = [...bySymbol].map(([sym, values]) => {
    const inPeriods = `${coarseSql} IN (${values.join(', ')})`;
    return sym === null || symbol === null ? inPeriods : `(${symbol} = ${literal(sym)} AND ${inPeriods})`;
  });
  return `CASE WHEN ${terms.join(' OR ')} THEN ${coarseSql} ELSE ${fine} END`;
}

/** The kind of a period integer, by its digits. */
export function periodKindOfValue(value: number): PartitionPeriod {
  return value < 100_000 ? 'year' : value < 10_000_000 ? 'month' : 'day';
}

/** The label a period integer has in the lake's paths (2024, 2024-03, 2024-03-15). */
export function periodLabel(value: number): string {
  const s = String(value);
  const period = periodKindOfValue(value);
  if (period === 'year') return s.padStart(4, '0');
  if (period === 'month') return `${s.slice(0, -2).padStart(4, '0')}-${s.slice(-2)}`;
  return `${s.slice(0, -4).padStart(4, '0')}-${s.slice(-4, -2)}-${s.slice(-2)}`;
}

/** The integer of a period label. */
export function periodValue(label: string): number {
  return Number(label.replaceAll('-', ''));
}

/** The period of one kind before a period integer of that kind (2024 -> 2023, 202401 -> 202312, 20240301 -> 20240229). */
function previousOfKind(period: PartitionPeriod, value: number): number {
  if (period === 'year') return value - 1;
  if (period === 'month') return value % 100 === 1 ? value - 89 : value - 1;
  const d = new Date(Date.parse(`${periodLabel(value)}T00:00:00Z`) - 86_400_000);
  return d.getUTCFullYear() * 10000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
}

/**
 * The partition before a period integer of a series (for `symbol`, when by symbol): the grain's
 * period before it, or the merged period that holds that one. A merged period's predecessor
 * is the grain's last period before it.
 */
export function previousPeriod(grain: SeriesGrain, symbol: string | null, value: number): number {
  const kind = periodKindOfValue(value);
  const start = kind === grain.period ? value : periodValue(firstFineLabel(periodLabel(value), grain.period));
  const before = previousOfKind(grain.period, start);
  const coarse = coarserPeriod[grain.period];
  if (!coarse) return before;
  const up = coarseLabel(periodLabel(before), coarse);
  return mergedKeys(grain).has(mergedKey(grain.by_symbol ? symbol : null, up)) ? periodValue(up) : before;
}

const mergedKey = (symbol: string | null, period: string) => `${symbol ?? ''}\u0000${period}`;
const mergedSets = new WeakMap<readonly MergedPeriod[], ReadonlySet<string>>();

/** A grain's merged periods as a set (built once per list: a chunk asks for each of its partitions). */
function mergedKeys(grain: SeriesGrain): ReadonlySet<string> {
  const merged = grain.merged ?? [];
  let keys = mergedSets.get(merged);
  if (!keys) {
    keys = new Set(merged.map((m) => mergedKey(grain.by_symbol ? m.symbol : null, m.period)));
    mergedSets.set(merged, keys);
  }
  return keys;
}

/** The first instant of a period integer, as a SQL timestamp. */
export function periodStartSql(value: number): string {
  return `TIMESTAMP '${firstFineLabel(periodLabel(value), 'day')} 00:00:00'`;
}

