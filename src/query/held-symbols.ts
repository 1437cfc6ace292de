import { ident, pathList } from '../core/sql.js';
import { datasets, type DatasetName } from '../core/datasets.js';
import type { DuckSession } from '../lake/duckdb.js';
import { allSeriesFiles, listSeries } from './lake-files.js';

/** The series (source and granularity) of a dataset that hold a symbol. */
export type HeldSymbols = ReadonlyMap<string, readonly { readonly source: string; readonly granularity: string }[]>;

/**
 * Every symbol a dataset holds, in any source and granularity: folder names where a series has
 * a folder per symbol, else one read of the symbol column of its files. It reads the whole
 * dataset's symbols, so it is for the path where a query found nothing, never for every query.
 */
export async function heldSymbols(duck: DuckSession, lakeRoot: string, dataset: DatasetName): Promise<HeldSymbols> {
  const held = new Map<string, { source: string; granularity: string }[]>();
  const add = (symbol: string, source: string, granularity: string) => held.set(symbol, [...(held.get(symbol) ?? []), { source, granularity }]);
  const unfoldered: string[] = [];
  for (const series of listSeries(lakeRoot, dataset)) {
    if (series.symbols) for (const symbol of series.symbols) add(symbol, series.source, series.granularity);
    else unfoldered.push(...allSeriesFiles(lakeRoot, dataset, series.source, series.granularity));
  }
  const column = datasets[dataset].symbolColumn;
  if (column && unfoldered.length > 0) {
    const rows = await duck.all<{ symbol: string; source: string; granularity: string }>(
      `SELECT DISTINCT ${ident(column)} AS symbol, source, granularity FROM read_parquet(${pathList(unfoldered)}, hive_partitioning = false, union_by_name = true) ` +
        `WHERE ${ident(column)} IS NOT NULL`,
    );
    for (const r of rows) add(r.symbol, r.source, r.granularity);
  }
  for (const series of held.values()) series.sort((a, b) => a.source.localeCompare(b.source) || a.granularity.localeCompare(b.granularity));
  return held;
}

/**
 * For each asked symbol a query returned no rows for: whether the lake holds it at all, and if
 * not, the symbols it does hold that are nearest to it (typing mistakes first: edit distance,
 * a swap of two letters counting one, then the longest common start).
 */
export function missingSymbolNotes(dataset: DatasetName, asked: readonly string[], held: HeldSymbols): string[] {
  return [...new Set(asked)].map((symbol) => {
    const series = held.get(symbol) ?? held.get(symbol.toUpperCase());
    if (series) return `${symbol}: no rows match the query; the lake holds it as ${series.map((s) => `${s.granularity} from ${s.source}`).join(', ')}`;
    const none = `${symbol}: the lake has no ${dataset} data for it (any source or granularity)`;
    if (held.size === 0) return `${none}; it holds no ${dataset} data at all`;
    const near = nearestSymbols(symbol, [...held.keys()]);
    return near.length ? `${none}; nearest: ${near.join(', ')}` : `${none}; none of its ${held.size} symbols is near it (mdw status lists them)`;
  });
}

/** Up to `max` candidates near a symbol, best first: within a few edits, or sharing its start. */
export function nearestSymbols(symbol: string, candidates: readonly string[], max = 5): string[] {
  const wanted = symbol.toUpperCase();
  const limit = Math.max(1, Math.round(wanted.length / 3));
  return candidates
    .map((c) => {
      const other = c.toUpperCase();
      return { c, distance: editDistance(wanted, other), prefix: commonPrefix(wanted, other), extends: other.startsWith(wanted) || wanted.startsWith(other) };
    })
    .filter((x) => x.distance <= limit || (x.extends && x.prefix > 0))
    .sort((a, b) => a.distance - b.distance || b.prefix - a.prefix || (a.c < b.c ? -1 : a.c > b.c ? 1 : 0))
    .slice(0, max)
    .map((x) => x.c);
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

function commonPrefix(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}
