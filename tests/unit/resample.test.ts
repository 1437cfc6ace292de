import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { calendars } from '../../src/calendar/registry.js';
import { parseGranularity } from '../../src/core/granularity.js';
import { parseWindow } from '../../src/core/time-window.js';
import { DuckSession } from '../../src/lake/duckdb.js';
import { checkResample, periodOf, resampleReadWindow, resampleRefusal, resampleSql } from '../../src/query/resample.js';

/**
 * The resampling rules as SQL over bars built in the test: clock alignment, session bounds,
 * the aggregates, and which sizes can be built from which.
 */
const g = parseGranularity;

let duck: DuckSession;
beforeAll(async () => {
  duck = await DuckSession.open({ threads: 1 });
});
afterAll(() => duck.close());

/** One-minute bars as a SQL relation: each [ts ISO, open, high, low, close, volume, vwap|null, trades|null]. */
function bars(rows: readonly (readonly [string, number, number, number, number, number, number | null, number | null])[], symbol = 'T'): string {
  const values = rows.map(
    ([ts, o, h, l, c, v, vwap, trades]) =>
      `('${symbol}', 'src', TIMESTAMP '${ts.replace('T', ' ').replace('Z', '')}', ${o}, ${h}, ${l}, ${c}, ${v}, ${vwap ?? 'NULL::DOUBLE'}, ${trades ?? 'NULL::BIGINT'}, NULL::DOUBLE)`,
  );
  return `(SELECT * FROM (VALUES ${values.join(', ')}) t(symbol, source, ts, open, high, low, close, volume, vwap, trades, adj_close))`;
}

/** Every minute of [fromIso, toIso) as a bar whose prices count the minutes (open = 100 + i). */
function minutes(fromIso: string, toIso: string): [string, number, number, number, number, number, number, number][] {
  const out: [string, number, number, number, number, number, number, number][] = [];
  for (let t = Date.parse(fromIso), i = 0; t < Date.parse(toIso); t += 60_000, i++) {
    out.push([new Date(t).toISOString(), 100 + i, 101 + i, 99 + i, 100.5 + i, 10, 100 + i, 2]);
  }
  return out;
}

async function run(source: string, from: string, to: string, dates: { first: string; last: string }, extended = false, calendar = calendars.XNYS) {
  const sql = resampleSql({ source, from: g(from), to: g(to), calendar, extended, dates });
  return duck.all<Record<string, unknown>>(`SELECT strftime(ts, '%Y-%m-%dT%H:%M') AS t, * EXCLUDE (ts) FROM (${sql}) ORDER BY symbol, ts`);
}

describe('which sizes are built from which', () => {
  test('a target must be a whole multiple of an intraday source; 1d, 1w and 1mo come from anything finer that fits', () => {
    expect(resampleRefusal(g('1m'), g('5m'))).toBeNull();
    expect(resampleRefusal(g('5m'), g('1h'))).toBeNull();
    expect(resampleRefusal(g('1m'), g('1d'))).toBeNull();
    expect(resampleRefusal(g('1m'), g('1w'))).toBeNull();
    expect(resampleRefusal(g('1d'), g('1w'))).toBeNull();
    expect(resampleRefusal(g('1d'), g('1mo'))).toBeNull();
    expect(resampleRefusal(g('5m'), g('7m'))).toBe('7m is not a whole multiple of 5m, so its bars would split 5m bars');
    expect(resampleRefusal(g('1h'), g('30m'))).toBe('30m bars are not longer than 1h bars');
    expect(resampleRefusal(g('1d'), g('1h'))).toBe('1d bars are longer than 1h bars');
    expect(resampleRefusal(g('1w'), g('1mo'))).toBe('1w bars do not fit whole into 1mo bars (a week spans two months)');
    expect(resampleRefusal(g('1m'), g('2d'))).toBe('only 1d, 1w and 1mo bars are built from finer ones (not 2d)');
    expect(() => checkResample(g('5m'), g('7m'))).toThrow('cannot resample 5m bars to 7m: 7m is not a whole multiple of 5m');
  });

  test('weeks start on Monday; months end on their last day', () => {
    expect(periodOf('2024-11-28', 'w')).toEqual({ first: '2024-11-25', last: '2024-12-01' });
    expect(periodOf('2024-12-01', 'w')).toEqual({ first: '2024-11-25', last: '2024-12-01' });
    expect(periodOf('2024-02-10', 'mo')).toEqual({ first: '2024-02-01', last: '2024-02-29' });
  });

  test('the source read reaches the sessions of the bars the window keeps', () => {
    const w = parseWindow('2024-11-25', '2024-11-29');
    expect(resampleReadWindow(w, g('1h'))).toEqual({ from: new Date('2024-11-25T00:00:00Z'), toExclusive: new Date('2024-11-30T01:00:00Z') });
    expect(resampleReadWindow(w, g('1d'))).toEqual({ from: new Date('2024-11-24T00:00:00Z'), toExclusive: new Date('2024-12-02T00:00:00Z') });
    expect(resampleReadWindow(parseWindow(undefined, undefined), g('1w'))).toEqual({ from: null, toExclusive: null });
  });
});

describe('intraday bars', () => {
  test('hourly bars align to the New York clock: the 09:00 bar holds 09:30-09:59, a 13:00 early close has four', async () => {
    // 2024-11-29 closes at 13:00 New York (18:00Z); a minute before the open and one after the close are not the session's.
    const rows = minutes('2024-11-29T14:29:00Z', '2024-11-29T18:01:00Z');
    const hours = await run(bars(rows), '1m', '1h', { first: '2024-11-29', last: '2024-11-29' });
    expect(hours.map((r) => [r.t, r.open, r.close, r.volume])).toEqual([
      ['2024-11-29T14:00', 101, 130.5, 300], // 09:30-09:59: minutes 1..30
      ['2024-11-29T15:00', 131, 190.5, 600],
      ['2024-11-29T16:00', 191, 250.5, 600],
      ['2024-11-29T17:00', 251, 310.5, 600], // 12:00-12:59; 13:00 is after the close
    ]);
    expect(hours[0]).toMatchObject({ high: 131, low: 100, trades: 60, granularity: '1h', partial: null });
  });

  test('five-minute bars start at the open and never reach into the next session', async () => {
    const rows = [...minutes('2024-11-26T20:55:00Z', '2024-11-26T21:05:00Z'), ...minutes('2024-11-27T14:30:00Z', '2024-11-27T14:40:00Z')];
    const five = await run(bars(rows), '1m', '5m', { first: '2024-11-26', last: '2024-11-27' });
    expect(five.map((r) => [r.t, r.open, r.volume])).toEqual([
      ['2024-11-26T20:55', 100, 50],
      ['2024-11-27T14:30', 100, 50],
      ['2024-11-27T14:35', 105, 50],
    ]);
  });

  test('24/5: a session opens at 17:00 New York the evening before its date; bars on each side of the roll stay apart', async () => {
    // Monday 2024-11-25 22:00Z is 17:00 New York: Monday's session ends, Tuesday's begins.
    const rows = minutes('2024-11-25T21:50:00Z', '2024-11-25T22:10:00Z');
    const hours = await run(bars(rows), '1m', '1h', { first: '2024-11-25', last: '2024-11-25' }, false, calendars['24/5']);
    expect(hours.map((r) => [r.t, r.open, r.volume])).toEqual([
      ['2024-11-25T21:00', 100, 100],
      ['2024-11-25T22:00', 110, 100],
    ]);
    const days = await run(bars(rows), '1m', '1d', { first: '2024-11-25', last: '2024-11-25' }, false, calendars['24/5']);
    expect(days.map((r) => [r.t, r.volume, r.partial])).toEqual([
      ['2024-11-25T00:00', 100, true],
      ['2024-11-26T00:00', 100, true],
    ]);
  });

  test('the pre- and post-market count only with extended hours', async () => {
    const rows = minutes('2024-11-26T13:00:00Z', '2024-11-26T14:40:00Z');
    const regular = await run(bars(rows), '1m', '1h', { first: '2024-11-26', last: '2024-11-26' });
    const extended = await run(bars(rows), '1m', '1h', { first: '2024-11-26', last: '2024-11-26' }, true);
    expect(regular.map((r) => [r.t, r.volume])).toEqual([['2024-11-26T14:00', 100]]);
    expect(extended.map((r) => [r.t, r.volume])).toEqual([
      ['2024-11-26T13:00', 600],
      ['2024-11-26T14:00', 400],
    ]);
  });
});

describe('aggregates', () => {
  test('vwap is weighted by volume over the bars that have one, NULL when none has; trades sum', async () => {
    const rows = [
      ['2024-11-26T14:30:00Z', 10, 12, 9, 11, 1, 10, 3],
      ['2024-11-26T14:31:00Z', 11, 13, 10, 12, 3, 20, null],
      ['2024-11-26T14:32:00Z', 12, 12, 8, 9, 4, null, 1],
    ] as const;
    const [bar] = await run(bars(rows), '1m', '5m', { first: '2024-11-26', last: '2024-11-26' });
    expect(bar).toMatchObject({ t: '2024-11-26T14:30', open: 10, high: 13, low: 8, close: 9, volume: 8, vwap: 17.5, trades: 4 });
    const [none] = await run(bars([['2024-11-26T14:30:00Z', 10, 12, 9, 11, 1, null, null]]), '1m', '5m', { first: '2024-11-26', last: '2024-11-26' });
    expect(none).toMatchObject({ vwap: null, trades: null });
  });
});

describe('daily, weekly and monthly bars', () => {
  /** One daily bar per listed date, stamped at 00:00Z, open = close = the day of the month. */
  const daily = (dates: readonly string[]) =>
    bars(dates.map((d) => [`${d}T00:00:00Z`, Number(d.slice(8)), Number(d.slice(8)) + 1, Number(d.slice(8)) - 1, Number(d.slice(8)), 100, null, null]));

  test('a Thanksgiving week of four sessions is whole; stamped at its first session; a missing session makes it partial', async () => {
    const weeks = await run(daily(['2024-11-25', '2024-11-26', '2024-11-27', '2024-11-29', '2024-12-03']), '1d', '1w', { first: '2024-11-25', last: '2024-12-03' });
    expect(weeks.map((r) => [r.t, r.open, r.close, r.high, r.low, r.volume, r.partial])).toEqual([
      ['2024-11-25T00:00', 25, 29, 30, 24, 400, false],
      ['2024-12-02T00:00', 3, 3, 4, 2, 100, true],
    ]);
  });

  test('a month is stamped at its first session (2024-09-02 is Labor Day)', async () => {
    const sessions = calendars.XNYS.sessions('2024-09-01', '2024-09-30').map((s) => s.date);
    const [month] = await run(daily(sessions), '1d', '1mo', { first: '2024-09-03', last: '2024-09-30' });
    expect(month).toMatchObject({ t: '2024-09-03T00:00', open: 3, close: 30, volume: 100 * sessions.length, partial: false });
    expect(sessions.length).toBe(20);
  });

  test('a daily bar from minutes is partial when the session lacks some; a holiday has no bar', async () => {
    const rows = [...minutes('2024-11-27T14:30:00Z', '2024-11-27T21:00:00Z'), ...minutes('2024-11-29T14:30:00Z', '2024-11-29T17:59:00Z')];
    const days = await run(bars(rows), '1m', '1d', { first: '2024-11-27', last: '2024-11-29' });
    expect(days.map((r) => [r.t, r.volume, r.partial])).toEqual([
      ['2024-11-27T00:00', 3900, false],
      ['2024-11-29T00:00', 2090, true], // 209 of the 210 minutes to 13:00
    ]);
  });
});
