import { pathList, stringList } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { seriesDir } from '../lake/layout.js';
import { localStore } from '../lake/local-store.js';
import { currentObjectsUnder } from '../lake/partition-files.js';

/**
 * The session dates the lake holds bars for, per symbol, in any of these sources of one
 * dataset and bar size: what a backfill need not fetch. Daily bars are stored at their session
 * date, 00:00 UTC, so a bar's date is its session. Sorted, per symbol.
 */
export async function sessionsHeld(
  duck: DuckSession,
  lakeRoot: string,
  series: { readonly dataset: string; readonly sources: readonly string[]; readonly granularity: string },
  symbols: readonly string[],
): Promise<Map<string, string[]>> {
  const store = localStore(lakeRoot);
  const files = series.sources.flatMap((s) => currentObjectsUnder(store, seriesDir(series.dataset, s, series.granularity)).map(store.locate));
  const held = new Map<string, string[]>(symbols.map((s) => [s, []]));
  if (files.length === 0 || symbols.length === 0) return held;
  const rows = await duck.all<{ symbol: string; days: string[] }>(
    `SELECT symbol, list(DISTINCT strftime(ts, '%Y-%m-%d') ORDER BY strftime(ts, '%Y-%m-%d')) AS days ` +
      `FROM read_parquet(${pathList(files)}, hive_partitioning = false) WHERE symbol IN (SELECT unnest(${stringList([...symbols])})) GROUP BY symbol`,
  );
  for (const r of rows) held.set(r.symbol, [...r.days]);
  return held;
}
