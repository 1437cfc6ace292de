import { intradayMs, parseGranularity } from '../core/granularity.js';
import { datasets, duckdbType, lineageColumns, qualityColumns, type ColumnType } from '../core/datasets.js';
import { UsageError, andList } from '../core/errors.js';
import { ident, literal, pathList, timestampLiteral } from '../core/sql.js';
import type { TimeWindow } from '../core/time-window.js';
import type { DuckSession, ResultColumn } from '../lake/duckdb.js';
import { adjustedBarsSql, cumulativeFactorsSql, returnColumns, type AdjustBasis } from '../curate/adjustments.js';
import { adjustmentLogFiles, listSources, seriesFiles } from './lake-files.js';

export interface OhlcvRequest {
  readonly symbols: readonly string[];
  readonly window: TimeWindow;
  readonly granularity: string;
  /** One source; when absent, every source that has the series (see resolveOhlcvQuery). */
  readonly source?: string | undefined;
  readonly columns?: readonly string[] | undefined;
  /** At most this many rows. */
  readonly limit?: number | undefined;
  /** Only rows whose quality score is at least this (0-1). */
  readonly minQuality?: number | undefined;
  /** Prices as stored (none, the default), or adjusted by the source's adjustment log (mdw curate). */
  readonly adjust?: AdjustBasis | undefined;
  /** Read the gold series (ohlcv_gold, built by a gold curate job) instead of the vendors' bars. */
  readonly gold?: boolean | undefined;
  /** Read the bars a curate job resampled and stored (ohlcv_resampled) instead of the vendors' (resolveBars decides). */
  readonly storedResampled?: boolean | undefined;
}

export const defaultOhlcvColumns = ['symbol', 'ts', 'open', 'high', 'low', 'close', 'volume'] as const;
/** Columns a query can ask for, by name, with their types. */
const selectableFrom = (columns: readonly { readonly name: string; readonly type: ColumnType }[]) =>
  new Map(columns.map((c): [string, ResultColumn] => [c.name, { name: c.name, type: duckdbType[c.type] }]));
/** Every column a query of vendors' bars can ask for: stored ones and the total-return ones. */
const selectable = selectableFrom([...datasets.ohlcv.columns, ...lineageColumns, ...qualityColumns, ...[...returnColumns].map((name) => ({ name, type: 'double' as const }))]);
/** A gold bar's columns: the bar, where it came from, lineage and quality. */
const goldSelectable = selectableFrom([...datasets.ohlcv_gold.columns, ...lineageColumns, ...qualityColumns]);
/** A stored resampled bar's columns: a bar's, what it was built from and whether its period was whole, lineage, quality and total returns. */
const resampledSelectable = new Map([...selectable, ...selectableFrom(datasets.ohlcv_resampled.columns)]);
// Columns files written before them lack: read by name, so those files give NULL (quote_volume came with Binance).
const derived = new Set([...qualityColumns.map((c) => c.name), 'quote_volume']);

export interface OhlcvPlan {
  readonly sql: string;
  readonly files: readonly string[];
  /** The sources whose files the query reads. */
  readonly sources: readonly string[];
  /** The result's columns, in order, with their types. */
  readonly columns: readonly ResultColumn[];
}

/** Files are read in the order given; that order is time order when it is already sorted. */
function inTimeOrder(files: readonly string[]): boolean {
  return files.every((f, i) => i === 0 || files[i - 1]! <= f);
}

/** As typed and in capitals: `aapl` finds AAPL, and a symbol stored in lower case is found too. */
export function symbolVariants(symbols: readonly string[]): string[] {
  return [...new Set(symbols.flatMap((s) => [s, s.toUpperCase()]))];
}

/** Plans the read: the partition files from the layout, and one SQL over exactly those. */
export function planOhlcvQuery(lakeRoot: string, request: OhlcvRequest): OhlcvPlan {
  const req = { ...request, symbols: symbolVariants(request.symbols) };
  const dataset = req.gold ? 'ohlcv_gold' : req.storedResampled ? 'ohlcv_resampled' : 'ohlcv';
  if (req.gold && adjusts(req)) {
    throw new UsageError('--gold with --adjust or total returns: gold bars are chosen from several sources, and an adjustment log belongs to one source\'s bars; adjust one source (--source) instead');
  }
  const sources = req.source ? [req.source] : listSources(lakeRoot, dataset);
  const found = sources
    .map((source) => ({ source, files: seriesFiles(lakeRoot, { dataset, source, granularity: req.granularity, symbols: req.symbols, window: req.window }) }))
    .filter((s) => s.files.length > 0);
  const choice = req.gold ? goldSelectable : req.storedResampled ? resampledSelectable : selectable;
  const columns = (req.columns ?? defaultOhlcvColumns).map((c) => {
    const column = choice.get(c);
    if (!column) throw new UsageError(`--columns: "${c}" is not ${req.gold ? 'a column of gold bars' : 'an ohlcv column'} (${[...choice.keys()].join(', ')})`);
    return column;
  });
  const names = columns.map((c) => c.name);
  const files = found.flatMap((s) => s.files);
  let sql: string;
  // Adjusted prices and total returns read one source's bars with its adjustment log.
  const factored = adjusts(req);
  if (factored && found.length > 1) throw severalToAdjust(found.map((f) => f.source));
  const adjust = factored && found.length === 1 ? { basis: req.adjust ?? 'none', log: adjustmentLog(lakeRoot, found[0]!.source, req.granularity) } : null;
  if (files.length === 0) {
    sql = `SELECT ${columns.map((c) => `CAST(NULL AS ${c.type}) AS ${ident(c.name)}`).join(', ')} WHERE false`;
  } else {
    // A literal IN list, not a subquery: a subquery becomes a join instead of a pushed-down filter.
    const where = [`symbol IN (${req.symbols.map((x) => literal(x)).join(', ')})`];
    if (req.window.from) where.push(`ts >= ${timestampLiteral(req.window.from)}`);
    if (req.window.toExclusive) where.push(`ts < ${timestampLiteral(req.window.toExclusive)}`);
    if (req.minQuality !== undefined) where.push(`quality >= ${literal(req.minQuality)}`);
    // Files written before quality scores existed lack those columns: read them by name.
    const byName = req.minQuality !== undefined || names.some((c) => derived.has(c)) ? ', union_by_name = true' : '';
    const read = `FROM read_parquet(${pathList(files)}, hive_partitioning = false${byName}) WHERE ${where.join(' AND ')}`;
    sql =
      (adjust
        ? // One source, joined with its factors: the join sorts by symbol and ts itself.
          adjustedBarsSql(
            `SELECT ${[...new Set([...names.filter((n) => !returnColumns.has(n)), 'symbol', 'ts', 'close'])].map(ident).join(', ')} ${read}`,
            cumulativeFactorsSql(adjust.log, req.symbols, intradayMs(parseGranularity(req.granularity)) !== null),
            adjust.basis,
            names,
          )
        : `SELECT ${names.map(ident).join(', ')} ${read}` +
          // Files hold rows sorted by symbol and ts, and are listed in time order: one symbol from
          // one source needs no sort (for a minute of bars, the sort is a third of the query).
          (found.length > 1 || request.symbols.length > 1 || !inTimeOrder(files) ? ` ORDER BY symbol, ts${found.length > 1 ? ', source' : ''}` : '')) +
      (req.limit ? ` LIMIT ${Math.floor(req.limit)}` : '');
  }
  return { sql, files, sources: found.map((s) => s.source), columns };
}

/**
 * Plans the read and makes sure its rows cannot be mistaken: when several sources have files
 * the request could read and no source was chosen, it checks which sources really have rows.
 * One: the read narrows to it. Several: their rows come side by side with a source column (added
 * last, unless asked for), ordered by symbol, ts and source, because two bars for one (symbol,
 * ts) without their source would look like a duplicate.
 */
export async function resolveOhlcvQuery(duck: DuckSession, lakeRoot: string, req: OhlcvRequest): Promise<OhlcvPlan> {
  const adjusting = adjusts(req);
  // Adjusted bars are one source's: which sources hold rows is asked of the bars as stored.
  const plan = planOhlcvQuery(lakeRoot, adjusting ? { ...req, adjust: 'none', columns: ['symbol', 'ts'] } : req);
  if (plan.sources.length <= 1) return adjusting ? planOhlcvQuery(lakeRoot, req) : plan;
  if (!adjusting && plan.columns.some((c) => c.name === 'source')) return plan;
  const symbols = symbolVariants(req.symbols);
  const where = [`symbol IN (${symbols.map((x) => literal(x)).join(', ')})`];
  if (req.window.from) where.push(`ts >= ${timestampLiteral(req.window.from)}`);
  if (req.window.toExclusive) where.push(`ts < ${timestampLiteral(req.window.toExclusive)}`);
  const have = (
    await duck.all<{ source: string }>(
      `SELECT DISTINCT source FROM read_parquet(${pathList(plan.files)}, hive_partitioning = false) WHERE ${where.join(' AND ')} ORDER BY 1`,
    )
  ).map((r) => r.source);
  if (have.length > 1 && adjusting) throw severalToAdjust(have);
  if (have.length > 1) return planOhlcvQuery(lakeRoot, { ...req, columns: [...plan.columns.map((c) => c.name), 'source'] });
  return planOhlcvQuery(lakeRoot, { ...req, source: have[0] ?? plan.sources[0] });
}

/** The adjustment log files of a bars source (adjustmentLogFiles); a source without one cannot be adjusted. */
function adjustmentLog(lakeRoot: string, source: string, granularity: string): string[] {
  const files = adjustmentLogFiles(lakeRoot, source, granularity);
  if (files.length > 0) return files;
  throw new UsageError(
    `--adjust: ${source} has no adjustment log (lake/curated/adjustments/source=${source}): run \`mdw curate\` with a curate job whose bars are ${source}'s (see \`mdw curate --help\`), or leave --adjust out`,
  );
}

function severalToAdjust(sources: readonly string[]): UsageError {
  return new UsageError(`--adjust reads one source's bars with its adjustment log: ${andList(sources)} have these bars; name one with --source`);
}

/** Whether a request reads the adjustment log: adjusted prices, or total-return columns. */
export function adjusts(req: OhlcvRequest): boolean {
  return (req.adjust !== undefined && req.adjust !== 'none') || (req.columns ?? []).some((c) => returnColumns.has(c));
}
