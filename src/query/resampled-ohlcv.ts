import { dayMs, type TradingCalendar } from '../calendar/calendar.js';
import { calendars } from '../calendar/registry.js';
import { datasets, duckdbType, lineageColumns } from '../core/datasets.js';
import { UsageError } from '../core/errors.js';
import { intradayMs, isSessionLabelled, parseGranularity, type Granularity } from '../core/granularity.js';
import { ident, literal, pathList, timestampLiteral } from '../core/sql.js';
import type { DuckSession, ResultColumn } from '../lake/duckdb.js';
import { allSeriesFiles, listSeries } from './lake-files.js';
import { adjusts, defaultOhlcvColumns, planOhlcvQuery, resolveOhlcvQuery, symbolVariants, type OhlcvPlan, type OhlcvRequest } from './ohlcv-query.js';
import { resampleInputColumns, resampleReadWindow, resampleRefusal, resampleSql } from './resample.js';
import { resampledUpToDate, type ResampleHow } from '../curate/resampled.js';

/**
 * Reads of ohlcv bars at a size the lake does not store: when the asked source(s) hold no bars
 * of the asked symbols at the asked granularity but finer ones that divide it, the finest such
 * series is resampled on the fly (resample.ts). A query reads no catalog and no job, so the
 * trading calendar is given (XNYS unless told otherwise) and named in the plan, for the caller
 * to say. --min-quality keeps the source bars that pass: one left out makes its session partial.
 */
export interface ResampleOptions {
  /** The calendar whose sessions the resampled bars follow; XNYS when absent. */
  readonly calendar?: TradingCalendar | undefined;
  /** Intraday bars of the pre- and post-market count too. */
  readonly extendedHours?: boolean | undefined;
}

export interface BarsPlan extends OhlcvPlan {
  /** When the rows are resampled: the stored bar size they come from and the calendar used. */
  readonly resampled?: {
    readonly from: string;
    readonly calendar: string;
    /** Read from the bars a curate job stored (lake/curated/ohlcv_resampled), up to date with the bars stored now; else computed here. */
    readonly stored: boolean;
  };
}

const resampledColumns = new Map(
  // The bar columns resampling builds (ohlcv's crypto quote_volume is not resampled).
  [...datasets.ohlcv.columns.filter((c) => datasets.ohlcv_resampled.columns.some((r) => r.name === c.name)), ...lineageColumns.filter((c) => c.name !== 'batch_id'), { name: 'partial', type: 'boolean' as const }].map((c): [string, ResultColumn] => [
    c.name,
    { name: c.name, type: duckdbType[c.type] },
  ]),
);

/** Plans a read of bars, stored or resampled from finer stored ones. */
export async function resolveBars(duck: DuckSession, lakeRoot: string, req: OhlcvRequest, options: ResampleOptions = {}): Promise<BarsPlan> {
  // The gold series is read at the bar size it was chosen at.
  const from = req.gold ? null : await resampleSource(duck, lakeRoot, req);
  if (!from) return resolveOhlcvQuery(duck, lakeRoot, req);
  const to = parseGranularity(req.granularity);
  const calendar = options.calendar ?? calendars.XNYS;
  const asked = req.columns ?? defaultOhlcvColumns;
  for (const c of asked) {
    if (!resampledColumns.has(c)) {
      throw new UsageError(`--columns: "${c}" is not a column of resampled bars (${to.text} bars are built from stored ${from.text} bars): ${[...resampledColumns.keys()].join(', ')}`);
    }
  }
  const how = { to, calendar, extended: options.extendedHours ?? false };
  const stored = storedSource(lakeRoot, req, from, how);
  if (stored) {
    // The bars a curate job resampled the same way from the files stored now: read, not computed.
    const columns = [...asked, ...(isSessionLabelled(to) && !asked.includes('partial') ? ['partial'] : [])];
    const plan = await resolveOhlcvQuery(duck, lakeRoot, { ...req, source: stored, columns, storedResampled: true });
    return { ...plan, resampled: { from: from.text, calendar: calendar.name, stored: true } };
  }
  const source = planOhlcvQuery(lakeRoot, { ...req, granularity: from.text, window: resampleReadWindow(req.window, to), columns: resampleInputColumns, limit: undefined });
  const ranges =
    source.files.length === 0
      ? []
      : await duck.all<{ source: string; first: string; last: string }>(
          `SELECT source, strftime(min(ts), '%Y-%m-%d') AS first, strftime(max(ts), '%Y-%m-%d') AS last FROM (${source.sql}) GROUP BY source ORDER BY source`,
        );
  const sources = ranges.map((r) => r.source);
  const names = [
    ...asked,
    ...(isSessionLabelled(to) && !asked.includes('partial') ? ['partial'] : []),
    // As for stored bars: rows of several sources are told apart by their source.
    ...(sources.length > 1 && !asked.includes('source') ? ['source'] : []),
  ];
  const columns = names.map((n) => resampledColumns.get(n)!);
  const resampled = { from: from.text, calendar: calendar.name, stored: false };
  if (ranges.length === 0) {
    return { sql: `SELECT ${columns.map((c) => `CAST(NULL AS ${c.type}) AS ${ident(c.name)}`).join(', ')} WHERE false`, files: source.files, sources, columns, resampled };
  }
  const bars = resampleSql({
    source: `(${source.sql})`,
    from,
    to,
    calendar,
    extended: options.extendedHours ?? false,
    dates: { first: ranges.map((r) => r.first).sort()[0]!, last: ranges.map((r) => r.last).sort().at(-1)! },
  });
  // The window holds the resampled bars' stamps, as it would hold the stamps of stored ones.
  const where = [
    ...(req.window.from ? [`ts >= ${timestampLiteral(req.window.from)}`] : []),
    ...(req.window.toExclusive ? [`ts < ${timestampLiteral(req.window.toExclusive)}`] : []),
  ];
  const sql =
    `SELECT ${names.map(ident).join(', ')} FROM (${bars}) r${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY symbol, ts${sources.length > 1 ? ', source' : ''}` +
    (req.limit ? ` LIMIT ${Math.floor(req.limit)}` : '');
  return { sql, files: source.files, sources, columns, resampled };
}

/**
 * The stored bar size to resample from: the finest series of the asked source(s) that may hold
 * the asked symbols and can be resampled to the asked size. Null when a series of that size
 * holds any of the symbols (or nothing finer may): a plain read. A series without a folder per
 * symbol (daily bars of all symbols in one file a year) is asked whether it holds them, so
 * that a daily series of other symbols does not hide stored minutes. Throws, saying why, when
 * only finer sizes that do not divide it are stored.
 */
export async function resampleSource(duck: DuckSession, lakeRoot: string, req: Pick<OhlcvRequest, 'granularity' | 'source' | 'symbols'>): Promise<Granularity | null> {
  const to = parseGranularity(req.granularity);
  const symbols = symbolVariants(req.symbols);
  const series = listSeries(lakeRoot, 'ohlcv').filter((s) => (!req.source || s.source === req.source) && (s.symbols === null || s.symbols.some((x) => symbols.includes(x))));
  for (const s of series.filter((s) => s.granularity === to.text)) {
    if (s.symbols !== null || (await holdsAny(duck, allSeriesFiles(lakeRoot, 'ohlcv', s.source, s.granularity), symbols))) return null;
  }
  const finer = [...new Set(series.map((s) => s.granularity))]
    .flatMap((text) => parsed(text) ?? [])
    .filter((g) => length(g) < length(to))
    .sort((a, b) => length(a) - length(b));
  if (finer.length === 0) return null;
  const fit = finer.find((g) => resampleRefusal(g, to) === null);
  if (fit) return fit;
  const why = finer.map((g) => `from ${g.text}: ${resampleRefusal(g, to)}`).join('; ');
  throw new UsageError(`no ${to.text} bars are stored${req.source ? ` for ${req.source}` : ''}, and the finer bars stored cannot be resampled to ${to.text} (${why})`);
}

/**
 * The source whose stored resampled bars answer the request as computing them would: one source
 * (named, or the only one with bars of that size), resampled the way asked from the files stored
 * now and loaded. Null otherwise, and for adjusted prices, total returns and --min-quality, which
 * work on the source bars before they are resampled.
 */
function storedSource(lakeRoot: string, req: OhlcvRequest, from: Granularity, how: ResampleHow): string | null {
  if (adjusts(req) || req.minQuality !== undefined) return null;
  const symbols = symbolVariants(req.symbols);
  const sources = req.source
    ? [req.source]
    : [
        ...new Set(
          listSeries(lakeRoot, 'ohlcv')
            .filter((s) => s.granularity === from.text && (s.symbols === null || s.symbols.some((x) => symbols.includes(x))))
            .map((s) => s.source),
        ),
      ];
  return sources.length === 1 && resampledUpToDate(lakeRoot, sources[0]!, from.text, how, symbols) ? sources[0]! : null;
}

async function holdsAny(duck: DuckSession, files: readonly string[], symbols: readonly string[]): Promise<boolean> {
  if (files.length === 0) return false;
  const rows = await duck.all(`SELECT 1 FROM read_parquet(${pathList(files)}, hive_partitioning = false) WHERE symbol IN (${symbols.map((x) => literal(x)).join(', ')}) LIMIT 1`);
  return rows.length > 0;
}

function parsed(text: string): Granularity | null {
  try {
    return parseGranularity(text);
  } catch {
    return null;
  }
}

/** A bar's length for ordering sizes (a month counted as 31 days: longer than any week). */
function length(g: Granularity): number {
  return intradayMs(g) ?? g.count * { d: 1, w: 7, mo: 31 }[g.unit as 'd' | 'w' | 'mo'] * dayMs;
}
