import { ident, literal, pathList } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { partitionDir, type PartitionKey } from '../lake/layout.js';
import { currentDataFile } from '../lake/partition-files.js';
import { barColumns, type BarColumns } from '../validate/series-rules.js';
import { periodLabel, periodStartSql, previousPeriod } from './periods.js';
import { checkedTable, workTables as T, type PartitionPlan, type SeriesTarget, type SeriesWrite, type WrittenPartition, targetStore } from './staged-chunk.js';
import { stateIs } from '../core/row-state.js';

/**
 * The bars just before each dirty partition, per symbol: the last `bars` of them within
 * `interval` of its start, from this chunk's rows of the period before and from that period's
 * file in the lake (this chunk's rows win where both have a bar).
 */
export async function buildContext(duck: DuckSession, target: SeriesTarget, dirty: readonly PartitionPlan[], series: SeriesWrite): Promise<void> {
  const { dataset: def, grain } = target;
  const store = targetStore(target);
  await duck.run(`CREATE OR REPLACE TABLE ${T.ctxParts} (pid INTEGER, psym VARCHAR, pred INTEGER, cut TIMESTAMP, path VARCHAR)`);
  const preds = dirty.map((p) => {
    const pred = previousPeriod(grain, p.key.symbol, p.periodValue);
    const key: PartitionKey = { ...p.key, period: periodLabel(pred) };
    const now = currentDataFile(store, partitionDir(key, grain));
    return { p, pred, file: now ? store.locate(now.uri) : '', exists: now !== null };
  });
  for (let i = 0; i < preds.length; i += 1000) {
    const values = preds
      .slice(i, i + 1000)
      .map(({ p, pred, file }) => `(${p.pid}, ${literal(p.key.symbol)}, ${pred}, ${periodStartSql(p.periodValue)} - ${series.interval}, ${literal(file)})`);
    await duck.run(`INSERT INTO ${T.ctxParts} VALUES ${values.join(', ')}`);
  }
  const columns = barColumns(def);
  const bars = barList(columns);
  const pick = (alias: string) => bars.map((c) => `${alias}.${c}`).join(', ');
  const ts = ident(columns.ts);
  const symMatch = (alias: string) => (grain.by_symbol && def.symbolColumn ? ` AND p.psym = ${alias}.${ident(def.symbolColumn)}` : '');
  const parts = [
    `SELECT p.pid AS _pid, ${pick('c')}, 0 AS _pref FROM ${checkedTable} c JOIN ${T.ctxParts} p ON c._period = p.pred${symMatch('c')} ` +
      `WHERE ${stateIs(['ok', 'same'], 'c')} AND c.${ts} >= p.cut`,
  ];
  const files = preds.filter((x) => x.exists).map((x) => x.file);
  if (files.length > 0) {
    parts.push(
      `SELECT p.pid AS _pid, ${pick('o')}, 1 AS _pref FROM read_parquet(${pathList([...new Set(files)])}, filename = true, hive_partitioning = false) o ` +
        `JOIN ${T.ctxParts} p ON p.path = o.filename${symMatch('o')} WHERE o.${ts} >= p.cut`,
    );
  }
  const seriesKey = ['_pid', ...(columns.symbol === null ? [] : [ident(columns.symbol)])].join(', ');
  await duck.run(
    `CREATE OR REPLACE TABLE ${T.context} AS SELECT _pid, ${bars.join(', ')} FROM (` +
      `SELECT *, row_number() OVER (PARTITION BY ${seriesKey} ORDER BY ${ts} DESC) AS _k FROM (` +
      `SELECT DISTINCT ON (${seriesKey}, ${ts}) * FROM (${parts.join(' UNION ALL ')}) ORDER BY ${seriesKey}, ${ts}, _pref)) ` +
      `WHERE _k <= ${series.bars}`,
  );
}

/**
 * Scores the rows of new partitions in one window pass over the chunk, with the bars before
 * each run of new partitions of a symbol (context of a partition whose predecessor is not new
 * itself), and stores quality and flags as columns of `checked`.
 */
export async function scoreFresh(duck: DuckSession, target: SeriesTarget, fresh: readonly PartitionPlan[], series: SeriesWrite): Promise<void> {
  const { grain } = target;
  const columns = barColumns(target.dataset);
  const bySymbol = grain.by_symbol && columns.symbol !== null;
  const key = (sym: string | null, period: number) => `${bySymbol ? (sym ?? '') : ''}\u0000${period}`;
  const freshKeys = new Set(fresh.map((p) => key(p.key.symbol, p.periodValue)));
  const leading = fresh.filter((p) => !freshKeys.has(key(p.key.symbol, previousPeriod(grain, p.key.symbol, p.periodValue)))).map((p) => p.pid);
  await duck.run(`CREATE OR REPLACE TABLE mdw_fresh (psym VARCHAR, period INTEGER)`);
  for (let i = 0; i < fresh.length; i += 1000) {
    await duck.run(`INSERT INTO mdw_fresh VALUES ${fresh.slice(i, i + 1000).map((p) => `(${literal(bySymbol ? p.key.symbol : null)}, ${p.periodValue})`).join(', ')}`);
  }
  const inFresh = bySymbol ? `(${ident(columns.symbol!)}, _period) IN (SELECT (psym, period) FROM mdw_fresh)` : `_period IN (SELECT period FROM mdw_fresh)`;
  const bars = barList(columns).join(', ');
  const rules = series.rules.over(columns);
  await duck.run(
    `CREATE OR REPLACE TABLE mdw_scores AS SELECT _row, ${rules.quality} AS quality, ${rules.flags} AS flags FROM (` +
      `SELECT *, ${rules.helpers} FROM (` +
      `SELECT rowid AS _row, ${bars} FROM ${checkedTable} WHERE ${stateIs('ok')} AND ${inFresh} ` +
      `UNION ALL SELECT NULL, ${bars} FROM ${T.context} WHERE _pid IN (${leading.length ? leading.join(', ') : 'NULL'})` +
      `) WINDOW ${rules.windows}) WHERE _row IS NOT NULL`,
  );
  await duck.run(`ALTER TABLE ${checkedTable} ADD COLUMN IF NOT EXISTS quality DOUBLE`);
  await duck.run(`ALTER TABLE ${checkedTable} ADD COLUMN IF NOT EXISTS flags VARCHAR`);
  await duck.run(`UPDATE ${checkedTable} SET quality = s.quality, flags = s.flags FROM mdw_scores s WHERE ${checkedTable}.rowid = s._row`);
  await duck.run('DROP TABLE mdw_scores');
  await duck.run('DROP TABLE mdw_fresh');
}

/**
 * A merged partition's content (`source`) with its quality and flags, scored over that content
 * and the bars just before the partition (mdw_context), which are read, not written again.
 */
export function scoreMergedSql(target: SeriesTarget, series: SeriesWrite, source: string, outColumns: string, pid: number): string {
  const rules = series.rules.over(barColumns(target.dataset));
  return (
    `SELECT ${outColumns}, ${rules.quality} AS quality, ${rules.flags} AS flags FROM (` +
    `SELECT *, ${rules.helpers} FROM (SELECT *, false AS _ctx FROM (${source}) UNION ALL BY NAME ` +
    `SELECT * EXCLUDE (_pid), true AS _ctx FROM ${T.context} WHERE _pid = ${pid}) WINDOW ${rules.windows}) WHERE NOT _ctx`
  );
}

/** The bar columns the rules read, quoted, as a select list: symbol (when there is one), ts, open, high, low, close, volume. */
function barList(c: BarColumns): string[] {
  return [c.symbol, c.ts, c.open, c.high, c.low, c.close, c.volume].filter((x): x is string => x !== null).map(ident);
}

/** Per series flag (and 'below_threshold'), the rows of this batch in written files that carry it. */
export async function flagCounts(duck: DuckSession, written: readonly WrittenPartition[], batchId: string, threshold: number): Promise<Record<string, number>> {
  if (written.length === 0) return {};
  const rows = await duck.all<{ flag: string; n: number }>(
    `SELECT flag, count(*) AS n FROM (` +
      `SELECT unnest(string_split(flags, ',')) AS flag FROM read_parquet(${pathList(written.map((w) => w.tmpPath))}, hive_partitioning = false) ` +
      `WHERE batch_id = ${literal(batchId)} AND flags IS NOT NULL ` +
      `UNION ALL SELECT 'below_threshold' FROM read_parquet(${pathList(written.map((w) => w.tmpPath))}, hive_partitioning = false) ` +
      `WHERE batch_id = ${literal(batchId)} AND quality < ${literal(threshold)}) GROUP BY ALL ORDER BY ALL`,
  );
  return Object.fromEntries(rows.map((r) => [r.flag, Number(r.n)]));
}

