import { ident, literal, pathList, stringList } from '../core/sql.js';

/**
 * The adjustment log of a bars source: for each corporate action of its symbols, the factors it
 * applies to the source's prices before its ex-date. Pure: file lists in, SQL out.
 *
 * - A split (or stock dividend: the same kind of action, whichever way a source reports it) of
 *   `ratio` shares after per share before multiplies earlier
 *   prices by 1 / ratio (and divides volumes by it), unless the source's prices already reflect
 *   splits (zipline csvdir, Yahoo OHLC): then its split factor is 1, so it is never applied twice.
 * - A cash dividend multiplies earlier prices by 1 - cash / close, the close of the source's last
 *   bar before the ex-date (CRSP's rule), unless the prices already reflect dividends. Cash and
 *   close are in one basis: an amount from a raw source applied to split-adjusted bars (or the
 *   reverse) is divided (multiplied) by the ratios of the splits after its ex-date first.
 * - The factor of a bar is the product of the factors of every action after it (read time:
 *   adjustedOhlcvSql), so a corrected action changes one row here and nothing else.
 *
 * An action two action sources have is taken from the one listed first, also when they date it
 * up to nearDays apart (so it is never applied twice). An action on or before
 * the source's first bar of the symbol adjusts no bar and is left out, as is one whose previous
 * session lies after the last bar (declared ahead: the next run logs it). A dividend whose
 * previous session has no bar in the source gets no close, so no factor: the record rules
 * quarantine it, and its bars stay unadjusted for it until the bar is there.
 */
export interface AdjustmentInputs {
  /** The bars source's current partition files (ohlcv). */
  readonly bars: readonly string[];
  /**
   * Each action source's corporate_actions files, in priority order, and whether its cash
   * amounts are split-adjusted (its transform's adjusted_for; zipline's dividend column is).
   */
  readonly actions: readonly { readonly source: string; readonly files: readonly string[]; readonly splitAdjusted: boolean }[];
  /** What the bars' prices already reflect. */
  readonly adjustedFor: ReadonlySet<'splits' | 'dividends'>;
  /** Only these symbols, or all. */
  readonly symbols: readonly string[] | null;
  /**
   * The bars' calendar's session dates (YYYY-MM-DD, ascending) over the bars' span: a dividend
   * is divided by the close of the session right before its ex-date, and a source that lacks
   * that session's bar gives no factor (quarantined) rather than an older close. Null for bars
   * without a calendar: the last bar before the ex-date.
   */
  readonly sessions: readonly string[] | null;
}

/** Two sources' actions of one kind (and ratio) this many days apart are one action dated differently. */
export const nearDays = 4;

/** Actions whose factor divides the cash by the close before the ex-date. */
export const cashActions = ['cash_dividend', 'special_dividend', 'lt_capital_gain', 'st_capital_gain'] as const;
/** Actions that change the share count: their ratio is shares after per share before. */
export const shareActions = ['split', 'stock_dividend'] as const;

/**
 * One row per action: symbol, ex_date and session_before as YYYY-MM-DD text, the numbers as
 * doubles, ordered by symbol and ex-date. Its columns are the adjustments dataset's, as the
 * curate-adjustments transform reads them.
 */
export function adjustmentRowsSql(inputs: AdjustmentInputs): string {
  const only = inputs.symbols ? `WHERE symbol IN (SELECT unnest(${stringList([...inputs.symbols])}))` : '';
  const actions = inputs.actions
    .filter((a) => a.files.length > 0)
    .map(
      (a, i) =>
        `SELECT symbol, ex_date, action, split_from, split_to, stock_rate, cash_amount, ${literal(a.source)} AS action_source, batch_id AS action_batch, ${i} AS _priority, ${a.splitAdjusted} AS _cash_adjusted ` +
        `FROM read_parquet(${pathList(a.files)}, hive_partitioning = false, union_by_name = true)`,
    );
  if (inputs.bars.length === 0 || actions.length === 0) return emptyRows;
  const splitsIn = inputs.adjustedFor.has('splits');
  const dividendsIn = inputs.adjustedFor.has('dividends');
  const isIn = (list: readonly string[]) => `action IN (${list.map(literal).join(', ')})`;
  return (
    `WITH bars AS (SELECT symbol, ts, close FROM read_parquet(${pathList(inputs.bars)}, hive_partitioning = false) ${only}), ` +
    `span AS (SELECT symbol, min(ts) AS first_ts, max(ts) AS last_ts FROM bars GROUP BY symbol), ` +
    `reported AS (SELECT *, CASE WHEN action = 'split' THEN split_to / split_from WHEN action = 'stock_dividend' THEN 1 + stock_rate END AS ratio, ` +
    `CASE WHEN ${isIn(shareActions)} THEN 'shares' ELSE action END AS _class FROM (${actions.join(' UNION ALL ')}) ${only}), ` +
    // One action per symbol, ex-date and kind, from the first source that has it: a 5% stock
    // dividend one vendor reports as a split of 100 -> 105 is one action, not two.
    `exact AS (SELECT * FROM reported QUALIFY row_number() OVER (PARTITION BY symbol, ex_date, _class ORDER BY _priority) = 1), ` +
    // And one action where two sources date it a few days apart (one vendor's ex-date, another's
    // record or announcement date): the later-listed source's is the same action, not a second
    // one, when it is of the same kind within ${nearDays} days and, for shares, of the same ratio.
    `deduped AS (SELECT a.* FROM exact a WHERE NOT EXISTS (SELECT 1 FROM exact b WHERE b.symbol = a.symbol AND b._class = a._class AND b._priority < a._priority ` +
    `AND abs(date_diff('day', b.ex_date, a.ex_date)) <= ${nearDays} AND (a.ratio IS NULL OR b.ratio IS NULL OR abs(a.ratio / b.ratio - 1) < 0.001))), ` +
    // A cash amount in the bars' basis. Split-adjusted bars are divided by the splits after them
    // that they can reflect (up to their last bar); a split-adjusted amount by its own source's
    // later splits. Where the two differ, the amount is carried from one basis to the other.
    `acts AS (SELECT a.*, ` +
    `coalesce((SELECT product(x.ratio) FROM deduped x JOIN span s ON s.symbol = x.symbol WHERE x.symbol = a.symbol AND x.ex_date > a.ex_date AND x.ex_date <= s.last_ts AND x.ratio IS NOT NULL), 1.0) AS _later_bars, ` +
    `coalesce((SELECT product(x.ratio) FROM reported x WHERE x.symbol = a.symbol AND x.action_source = a.action_source AND x.ex_date > a.ex_date AND x.ratio IS NOT NULL), 1.0) AS _later_source ` +
    `FROM deduped a), ` +
    // The session before each ex-date: from the calendar, or else the last bar before it.
    (inputs.sessions
      ? `sessions AS (SELECT CAST(unnest(${stringList([...inputs.sessions])}) AS TIMESTAMP) AS d), ` +
        `dated AS (SELECT a.*, s.d AS prev_session FROM acts a ASOF LEFT JOIN sessions s ON a.ex_date > s.d), `
      : `dated AS (SELECT a.*, b.ts AS prev_session FROM acts a ASOF LEFT JOIN bars b ON b.symbol = a.symbol AND a.ex_date > b.ts), `) +
    // An action adjusts the bars before it: none when it precedes the first bar, and it waits
    // (its factor is not yet known) while the bar of the session before it is not stored; without
    // a calendar, until a bar on or after its ex-date is.
    `held AS (SELECT a.* FROM dated a JOIN span f ON f.symbol = a.symbol AND a.ex_date > f.first_ts AND a.prev_session <= f.last_ts${inputs.sessions ? '' : ' AND a.ex_date <= f.last_ts'}), ` +
    `priced AS (SELECT h.*, b.ts AS session_before, b.close AS close_before FROM held h LEFT JOIN bars b ON b.symbol = h.symbol AND b.ts = h.prev_session), ` +
    `rows AS (SELECT symbol, ex_date, action, action_source, action_batch, ratio, ` +
    `CASE WHEN ${isIn(cashActions)} THEN CASE WHEN _cash_adjusted = ${splitsIn} AND (NOT _cash_adjusted OR _later_source = _later_bars) THEN cash_amount ` +
    `ELSE cash_amount * (CASE WHEN _cash_adjusted THEN _later_source ELSE 1.0 END) / ${splitsIn ? '_later_bars' : '1.0'} END END AS cash_amount, ` +
    `CASE WHEN ${isIn(cashActions)} THEN session_before END AS session_before, ` +
    `CASE WHEN ${isIn(cashActions)} THEN close_before END AS close_before FROM priced) ` +
    `SELECT symbol, strftime(ex_date, '%Y-%m-%d') AS ex_date, action, action_source, action_batch, ratio, cash_amount, ` +
    `strftime(session_before, '%Y-%m-%d') AS session_before, close_before, ` +
    `CASE WHEN ${isIn(shareActions)} THEN ${splitsIn ? '1.0' : '1.0 / ratio'} ELSE 1.0 END AS split_factor, ` +
    `CASE WHEN ${isIn(cashActions)} THEN ${dividendsIn ? '1.0' : '1.0 - cash_amount / close_before'} ELSE 1.0 END AS dividend_factor ` +
    `FROM rows ORDER BY symbol, ex_date, action`
  );
}

const emptyRows =
  `SELECT NULL::VARCHAR AS symbol, NULL::VARCHAR AS ex_date, NULL::VARCHAR AS action, NULL::VARCHAR AS action_source, NULL::VARCHAR AS action_batch, ` +
  `NULL::DOUBLE AS ratio, NULL::DOUBLE AS cash_amount, NULL::VARCHAR AS session_before, NULL::DOUBLE AS close_before, ` +
  `NULL::DOUBLE AS split_factor, NULL::DOUBLE AS dividend_factor WHERE false`;

/** The price and volume basis a query asks for: as stored, for splits, or for splits and dividends. */
export type AdjustBasis = 'none' | 'splits' | 'all';

/**
 * Where an ex-date begins for intraday bars, in hours after its 00:00Z: a bar before it belongs
 * to an earlier session. The extended post-market of the session before ends at 20:00 New York
 * (00:00Z in summer, 01:00Z in winter) and the ex-date's pre-market opens at 04:00 New York
 * (08:00Z or 09:00Z), so a winter post-market bar at 00:30Z is still adjusted. Daily bars are
 * stamped at their session date's 00:00Z and compare with the ex-date itself.
 */
export const intradayCutoffHours = 4;

/**
 * Per symbol and ex-date, the cumulative factors a bar before that ex-date (and on or after the
 * previous one) is multiplied by: the product of the factors of this and every later action.
 * `files` are the adjustments dataset's files of one bars source; `symbols` narrows it, or null for all.
 * `cutoff` is the time a bar must be before: the ex-date, or for intraday bars its quiet hours.
 */
export function cumulativeFactorsSql(files: readonly string[], symbols: readonly string[] | null, intraday = false): string {
  const only = symbols ? ` WHERE symbol IN (SELECT unnest(${stringList([...symbols])}))` : '';
  return (
    `SELECT symbol, ex_date, ex_date${intraday ? ` + INTERVAL ${intradayCutoffHours} HOUR` : ''} AS cutoff, product(split) OVER w AS split_cum, product(split * dividend) OVER w AS all_cum FROM (` +
    `SELECT symbol, ex_date, product(split_factor) AS split, product(dividend_factor) AS dividend ` +
    `FROM read_parquet(${pathList(files)}, hive_partitioning = false, union_by_name = true)${only} GROUP BY ALL) ` +
    `WINDOW w AS (PARTITION BY symbol ORDER BY ex_date DESC ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)`
  );
}

/** Columns scaled as prices, and as volumes, when bars are adjusted. */
const priceColumns = new Set(['open', 'high', 'low', 'close', 'vwap']);

/**
 * Columns an ohlcv query can ask for that the adjustment log computes: `total_return`, the
 * bar's return with the dividends of its ex-dates reinvested (close over the previous bar's
 * close, both adjusted for splits and dividends, less 1; null on a query's first bar), and
 * `tr_index`, the value of 1 invested at the query's first close with dividends reinvested.
 */
export const returnColumns = new Set(['total_return', 'tr_index']);

/**
 * Bars read by `barsSql` (with symbol, ts and close), joined with the cumulative factors of the
 * first ex-date after each bar (a bar after the last is as stored): prices times the factor of
 * `basis` (none: as stored), volumes divided by the split factor, and the return columns from
 * the closes adjusted for both. In symbol and time order; `columns` are the result's, in order.
 */
export function adjustedBarsSql(barsSql: string, factorsSql: string, basis: AdjustBasis, columns: readonly string[]): string {
  const cum = basis === 'splits' ? 'f.split_cum' : 'f.all_cum';
  const out = columns.map((c) =>
    basis !== 'none' && priceColumns.has(c)
      ? `b.${ident(c)} * coalesce(${cum}, 1.0) AS ${ident(c)}`
      : basis !== 'none' && c === 'volume'
        ? `b.volume / coalesce(f.split_cum, 1.0) AS volume`
        : c === 'total_return'
          ? `b.close * coalesce(f.all_cum, 1.0) / lag(b.close * coalesce(f.all_cum, 1.0)) OVER w - 1 AS total_return`
          : c === 'tr_index'
            ? `b.close * coalesce(f.all_cum, 1.0) / first_value(b.close * coalesce(f.all_cum, 1.0)) OVER w AS tr_index`
            : `b.${ident(c)}`,
  );
  return (
    `SELECT ${out.join(', ')} FROM (${barsSql}) b ASOF LEFT JOIN (${factorsSql}) f ON f.symbol = b.symbol AND b.ts < f.cutoff ` +
    `WINDOW w AS (PARTITION BY b.symbol ORDER BY b.ts) ORDER BY b.symbol, b.ts`
  );
}
