import { UsageError, andList } from '../core/errors.js';
import { literal, pathList, timestampLiteral } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { allSeriesFiles, listSeries } from '../query/lake-files.js';

export interface ExplainRequest {
  readonly symbol: string;
  /** The bar's time (a date: its session). */
  readonly at: Date;
  /** The bars source; may be left out when one source has an adjustment log for the symbol. */
  readonly source?: string | undefined;
  readonly granularity: string;
}

export interface ExplainedAdjustment {
  /** Every action after the bar, in ex-date order, with the cumulative factors from it on. */
  readonly chain: Record<string, string | number | null>[];
  /** One line: the stored close, the factors, the adjusted closes. */
  readonly summary: string;
  /** The bars source whose log it is, the symbol as stored, and the bar size. */
  readonly source: string;
  readonly symbol: string;
  readonly granularity: string;
}

/**
 * Why a bar's adjusted price is what it is: the actions of its adjustment log after the bar,
 * each with its source, the batch that loaded it, the close its dividend factor used, and the
 * product of its factors and every later one's (the first row's is the bar's factor).
 */
export async function explainAdjustment(duck: DuckSession, lakeRoot: string, req: ExplainRequest): Promise<ExplainedAdjustment> {
  const sources = req.source
    ? [req.source]
    : listSeries(lakeRoot, 'adjustments')
        .filter((s) => s.granularity === req.granularity)
        .map((s) => s.source);
  const withLog = [] as { source: string; files: string[] }[];
  for (const source of sources) {
    const files = allSeriesFiles(lakeRoot, 'adjustments', source, req.granularity);
    if (files.length === 0) continue;
    const [n] = await duck.all<{ n: number }>(`SELECT count(*)::INT AS n FROM read_parquet(${pathList(files)}, hive_partitioning = false) WHERE symbol = ${literal(req.symbol)}`);
    if (n!.n > 0) withLog.push({ source, files });
  }
  if (withLog.length === 0) {
    throw new UsageError(
      `no adjustment log for ${req.symbol} ${req.granularity}${req.source ? ` from ${req.source}` : ''}: run \`mdw curate\` with a curate job over its bars (or the symbol has no splits or dividends)`,
    );
  }
  if (withLog.length > 1) throw new UsageError(`${req.symbol} has adjustment logs from ${andList(withLog.map((w) => w.source))}: name one with --source`);
  const { source, files } = withLog[0]!;
  const chain = await duck.all<Record<string, string | number | null>>(
    `SELECT strftime(ex_date, '%Y-%m-%d') AS ex_date, action, action_source, action_batch, ratio, cash_amount, strftime(session_before, '%Y-%m-%d') AS session_before, close_before, ` +
      `split_factor, dividend_factor, coalesce(withdrawn, false) AS withdrawn, ` +
      `product(split_factor) OVER w AS split_cum, product(split_factor * dividend_factor) OVER w AS all_cum ` +
      `FROM read_parquet(${pathList(files)}, hive_partitioning = false, union_by_name = true) WHERE symbol = ${literal(req.symbol)} AND ex_date > ${timestampLiteral(req.at)} ` +
      `WINDOW w AS (ORDER BY ex_date DESC, action DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) ORDER BY ex_date, action`,
  );
  const first = chain[0];
  const split = first ? Number(first['split_cum']) : 1;
  const all = first ? Number(first['all_cum']) : 1;
  const bars = allSeriesFiles(lakeRoot, 'ohlcv', source, req.granularity);
  const [bar] = bars.length
    ? await duck.all<{ close: number }>(`SELECT close FROM read_parquet(${pathList(bars)}, hive_partitioning = false) WHERE symbol = ${literal(req.symbol)} AND ts = ${timestampLiteral(req.at)}`)
    : [];
  const day = req.at.toISOString().slice(0, 10);
  const round = (x: number) => Number(x.toPrecision(8));
  const closes = bar ? `close ${round(bar.close)} as stored, ${round(bar.close * split)} for splits, ${round(bar.close * all)} for splits and dividends` : 'no bar stored on that date';
  const summary =
    `${req.symbol} ${day} (${source} ${req.granularity}): ${chain.length} action${chain.length === 1 ? '' : 's'} after it; ` +
    `factor ${round(split)} for splits, ${round(all)} for splits and dividends; ${closes}`;
  return { chain, summary, source, symbol: req.symbol, granularity: req.granularity };
}
