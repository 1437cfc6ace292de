import { addDays, barGridOrigin, barReach, dayMs, sessionBarCount, type Session, type TradingCalendar } from '../calendar/calendar.js';
import { sessionDateSql } from '../calendar/session-stamp.js';
import { UsageError } from '../core/errors.js';
import { intradayMs, isSessionLabelled, type Granularity } from '../core/granularity.js';
import { literal, timestampLiteral } from '../core/sql.js';
import type { TimeWindow } from '../core/time-window.js';

/**
 * Resampling bars on a trading calendar, as SQL. Pure: granularities, a calendar and dates in,
 * SQL text out.
 *
 * - Intraday to intraday (1m -> 5m, 1h ...): target bars lie on the exchange's clock grid from
 *   the session date's local midnight (barGridOrigin), as vendors align them: the 09:00-10:00
 *   hourly bar holds the 09:30 open. A target bar never spans two sessions.
 * - Intraday to 1d: one bar per session, stamped at the session date 00:00 UTC (how daily bars
 *   are stored), from the bars within its hours (an early close gives a shorter bar).
 * - 1d (or intraday) to 1w and 1mo: the sessions of a calendar week (Monday to Sunday) or
 *   month, stamped at the first session date of the period in the calendar.
 *
 * A source bar belongs to the session whose hours it overlaps (barReach, as the in_session rule
 * and completeness decide); bars outside every session are left out. `partial` (1d, 1w, 1mo)
 * says the bar has fewer source bars than the calendar's hours hold (sessionBarCount), or a
 * week or month fewer sessions than the calendar has in it (a Thanksgiving week holds four).
 * OHLC: first open, highest high, lowest low, last close by ts; volume and trades summed; vwap
 * weighted by volume over the bars that have one (NULL when none has); adj_close the last.
 */

/** The columns a source relation must have. */
export const resampleInputColumns = ['symbol', 'source', 'ts', 'open', 'high', 'low', 'close', 'volume', 'vwap', 'trades', 'adj_close'] as const;
/** The columns resampleSql returns, in order (partial is NULL for intraday targets). */
export const resampleOutputColumns = [...resampleInputColumns, 'granularity', 'partial'] as const;

export interface ResampleSpec {
  /** A relation (a table name or a parenthesised SELECT) with resampleInputColumns. */
  readonly source: string;
  readonly from: Granularity;
  readonly to: Granularity;
  readonly calendar: TradingCalendar;
  /** Intraday source bars in the pre- and post-market count too (and in a 1d bar's hours). */
  readonly extended: boolean;
  /** The first and last UTC dates of the source bars: the sessions around them (whole weeks or months) are loaded. */
  readonly dates: { readonly first: string; readonly last: string };
}

/** Why bars of `from` cannot be resampled to `to`, or null when they can. */
export function resampleRefusal(from: Granularity, to: Granularity): string | null {
  const fromMs = intradayMs(from);
  const toMs = intradayMs(to);
  if (isSessionLabelled(to) && to.count !== 1) return `only 1d, 1w and 1mo bars are built from finer ones (not ${to.text})`;
  if (toMs !== null) {
    if (fromMs === null) return `${from.text} bars are longer than ${to.text} bars`;
    if (toMs <= fromMs) return `${to.text} bars are not longer than ${from.text} bars`;
    if (toMs % fromMs !== 0) return `${to.text} is not a whole multiple of ${from.text}, so its bars would split ${from.text} bars`;
    return null;
  }
  if (fromMs !== null) return null;
  if (from.unit === 'd' && from.count === 1 && to.unit !== 'd') return null;
  return `${from.text} bars do not fit whole into ${to.text} bars (a week spans two months)`;
}

/** Throws a UsageError saying why, when `from` bars cannot be resampled to `to`. */
export function checkResample(from: Granularity, to: Granularity): void {
  const why = resampleRefusal(from, to);
  if (why) throw new UsageError(`cannot resample ${from.text} bars to ${to.text}: ${why}`);
}

/**
 * The source bars a read of resampled bars in `window` needs: target bars are kept when their
 * stamp lies in the window, and a daily bar's session may open the evening before its date
 * (24/5) or close after the next midnight UTC (post-market), a week's or a month's later still.
 */
export function resampleReadWindow(window: TimeWindow, to: Granularity): TimeWindow {
  const toMs = intradayMs(to);
  const reach = toMs ?? { d: 2, w: 9, mo: 33 }[to.unit as 'd' | 'w' | 'mo'] * dayMs;
  return {
    from: window.from && toMs === null ? new Date(window.from.getTime() - dayMs) : window.from,
    toExclusive: window.toExclusive ? new Date(window.toExclusive.getTime() + reach) : null,
  };
}

/** The first and last dates of the week (Monday to Sunday) or month holding `date`. */
export function periodOf(date: string, unit: 'w' | 'mo'): { first: string; last: string } {
  if (unit === 'w') {
    const first = addDays(date, -((new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7));
    return { first, last: addDays(first, 6) };
  }
  const first = `${date.slice(0, 8)}01`;
  const next = new Date(`${first}T00:00:00Z`);
  next.setUTCMonth(next.getUTCMonth() + 1);
  return { first, last: addDays(next.toISOString().slice(0, 10), -1) };
}

/** SQL of the resampled bars of `spec.source`, with resampleOutputColumns; unordered. */
export function resampleSql(spec: ResampleSpec): string {
  checkResample(spec.from, spec.to);
  const { calendar, from, to } = spec;
  const stepMs = intradayMs(from);
  const period = to.unit === 'w' || to.unit === 'mo' ? to.unit : null;
  const first = period ? periodOf(spec.dates.first, period).first : addDays(spec.dates.first, -1);
  const last = period ? periodOf(spec.dates.last, period).last : addDays(spec.dates.last, 1);
  const sessions = calendar.sessions(first, last);

  const ctes = [`mdw_sessions AS (${sessionRows(sessions, calendar, stepMs, spec.extended)})`];
  if (stepMs === null) {
    // Daily bars name their session by their date (00:00 UTC).
    ctes.push(`mdw_bars AS (SELECT b.*, s.date AS session, s.origin, s.expected FROM ${spec.source} b JOIN mdw_sessions s ON s.date = CAST(b.ts AS DATE))`);
  } else {
    // The session an intraday bar falls in (as the backfill's ledger finds it), then only if it overlaps the hours.
    const day = sessionDateSql('b.ts', { within_session: true }, calendar);
    ctes.push(`mdw_bars AS (SELECT b.*, s.date AS session, s.origin, s.expected FROM ${spec.source} b JOIN mdw_sessions s ON s.date = ${day} WHERE b.ts > s.reach AND b.ts < s.close)`);
  }
  const label = literal(to.text);
  const toMs = intradayMs(to);
  if (toMs !== null) {
    // floor, not //: a 24/5 session opens the evening before its grid's origin.
    const bucket = `b.origin + to_milliseconds(CAST(floor((epoch_ms(b.ts) - epoch_ms(b.origin)) / ${toMs}) AS BIGINT) * ${toMs})`;
    ctes.push(`mdw_cut AS (SELECT b.*, ${bucket} AS bucket FROM mdw_bars b)`);
    return (
      `WITH ${ctes.join(', ')} SELECT symbol, source, bucket AS ts, ${aggregates('ts')}, ${label} AS granularity, CAST(NULL AS BOOLEAN) AS partial ` +
      `FROM mdw_cut GROUP BY symbol, source, session, bucket`
    );
  }
  // One bar per session: from the stored daily bar, or from the session's intraday bars.
  ctes.push(
    stepMs === null
      ? `mdw_days AS (SELECT symbol, source, session AS date, open, high, low, close, volume, vwap, trades, adj_close, false AS partial FROM mdw_bars)`
      : `mdw_days AS (SELECT symbol, source, session AS date, ${aggregates('ts')}, count(*) < any_value(expected) AS partial FROM mdw_bars GROUP BY symbol, source, session)`,
  );
  if (!period) {
    return `WITH ${ctes.join(', ')} SELECT symbol, source, CAST(date AS TIMESTAMP) AS ts, open, high, low, close, volume, vwap, trades, adj_close, ${label} AS granularity, partial FROM mdw_days`;
  }
  const key = (d: string) => `CAST(date_trunc(${literal(period === 'w' ? 'week' : 'month')}, ${d}) AS DATE)`;
  ctes.push(`mdw_periods AS (SELECT ${key('date')} AS period, min(date) AS first, count(*) AS sessions FROM mdw_sessions GROUP BY 1)`);
  return (
    `WITH ${ctes.join(', ')} SELECT d.symbol, d.source, CAST(any_value(p.first) AS TIMESTAMP) AS ts, ${aggregates('date')}, ${label} AS granularity, ` +
    `count(*) < any_value(p.sessions) OR bool_or(d.partial) AS partial FROM mdw_days d JOIN mdw_periods p ON p.period = ${key('d.date')} GROUP BY d.symbol, d.source, p.period`
  );
}

/** The OHLCV aggregates of a group of bars ordered by `time`. */
function aggregates(time: string): string {
  return [
    `arg_min(open, ${time}) AS open`,
    'max(high) AS high',
    'min(low) AS low',
    `arg_max(close, ${time}) AS close`,
    'sum(volume) AS volume',
    'sum(vwap * volume) / nullif(sum(CASE WHEN vwap IS NOT NULL THEN volume END), 0) AS vwap',
    'CAST(sum(trades) AS BIGINT) AS trades',
    `arg_max(adj_close, ${time}) AS adj_close`,
  ].join(', ');
}

/**
 * The sessions as rows: date, the grid origin, `reach` and `close` (a bar starting in between
 * overlaps the hours kept), and `expected` (the bars of `stepMs` a complete session holds: 1
 * for daily bars).
 */
function sessionRows(sessions: readonly Session[], calendar: TradingCalendar, stepMs: number | null, extended: boolean): string {
  const columns = '(date, origin, reach, close, expected)';
  if (sessions.length === 0) return `SELECT * FROM (SELECT DATE '2000-01-01', TIMESTAMP '2000-01-01', TIMESTAMP '2000-01-01', TIMESTAMP '2000-01-01', 0) t${columns} WHERE false`;
  const rows = sessions.map((s) => {
    const hours = extended ? calendar.extendedHours(s) : s;
    const origin = barGridOrigin(calendar, s);
    const step = stepMs ?? 0;
    const expected = stepMs === null ? 1 : sessionBarCount(hours, step, origin);
    return `(DATE ${literal(s.date)}, ${timestampLiteral(new Date(origin))}, ${timestampLiteral(barReach(hours, step))}, ${timestampLiteral(hours.close)}, ${expected})`;
  });
  return `SELECT * FROM (VALUES ${rows.join(', ')}) t${columns}`;
}
