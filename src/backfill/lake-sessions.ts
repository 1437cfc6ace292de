import { barGridOrigin, sessionBarCount, type TradingCalendar } from '../calendar/calendar.js';
import { sessionDateSql } from '../calendar/session-stamp.js';
import { intradayMs, isSessionLabelled, type Granularity } from '../core/granularity.js';
import { pathList, stringList } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { seriesDir } from '../lake/layout.js';
import { localStore } from '../lake/local-store.js';
import { currentObjectsUnder } from '../lake/partition-files.js';

/** The bars a target's sessions are judged by: their size, calendar and whether extended hours count. */
export interface HeldSeries {
  readonly dataset: string;
  readonly sources: readonly string[];
  readonly granularity: Granularity;
  readonly calendar: TradingCalendar;
  readonly extended: boolean;
}

/**
 * The session dates the lake holds complete, per symbol, in any of these sources of one
 * dataset and bar size: what a backfill need not fetch. Daily bars are stored at their session
 * date, 00:00 UTC, so a bar's date is its session. An intraday session is held when its bars
 * number at least what the calendar's hours hold (an early close holds fewer; extended hours
 * more); a session with some bars missing is fetched again, and the rewrite dedupes the rest.
 * Sorted, per symbol.
 */
export async function sessionsHeld(duck: DuckSession, lakeRoot: string, series: HeldSeries, symbols: readonly string[]): Promise<Map<string, string[]>> {
  const store = localStore(lakeRoot);
  const files = series.sources.flatMap((s) => currentObjectsUnder(store, seriesDir(series.dataset, s, series.granularity.text)).map(store.locate));
  const held = new Map<string, string[]>(symbols.map((s) => [s, []]));
  if (files.length === 0 || symbols.length === 0) return held;
  const from = `read_parquet(${pathList(files)}, hive_partitioning = false) WHERE symbol IN (SELECT unnest(${stringList([...symbols])}))`;
  if (isSessionLabelled(series.granularity)) {
    const rows = await duck.all<{ symbol: string; days: string[] }>(
      `SELECT symbol, list(DISTINCT strftime(ts, '%Y-%m-%d') ORDER BY strftime(ts, '%Y-%m-%d')) AS days FROM ${from} GROUP BY symbol`,
    );
    for (const r of rows) held.set(r.symbol, [...r.days]);
    return held;
  }
  // Bars per symbol and session (the trading day a bar falls in; sources may overlap, so distinct times).
  const day = sessionDateSql('ts', { within_session: true }, series.calendar);
  const rows = await duck.all<{ symbol: string; day: string; bars: number }>(
    `SELECT symbol, strftime(${day}, '%Y-%m-%d') AS day, count(DISTINCT ts) AS bars FROM ${from} GROUP BY ALL ORDER BY symbol, day`,
  );
  if (rows.length === 0) return held;
  const days = rows.map((r) => r.day).sort();
  const step = intradayMs(series.granularity)!;
  const expected = new Map(
    series.calendar
      .sessions(days[0]!, days.at(-1)!)
      .map((s) => [s.date, sessionBarCount(series.extended ? series.calendar.extendedHours(s) : s, step, barGridOrigin(series.calendar, s))]),
  );
  for (const r of rows) {
    const want = expected.get(r.day);
    if (want !== undefined && Number(r.bars) >= want) held.get(r.symbol)!.push(r.day);
  }
  return held;
}
