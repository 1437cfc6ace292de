import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { TransformRules, ValidationRules } from '../../src/config/types.js';
import { datasets } from '../../src/core/datasets.js';
import { parseGranularity } from '../../src/core/granularity.js';
import { literal } from '../../src/core/sql.js';
import type { TradingCalendar } from '../../src/calendar/calendar.js';
import { calendars } from '../../src/calendar/registry.js';
import { DuckSession } from '../../src/lake/duckdb.js';
import { compileTransform, needsReadOrder, producedColumns, resolveFoldsSql } from '../../src/transform/compile-transform.js';
import { compileRecordRules } from '../../src/validate/record-rules.js';

let duck: DuckSession;
beforeAll(async () => {
  duck = await DuckSession.open({ threads: 1 });
});
afterAll(() => duck.close());

/** A raw relation like an adapter's: _file and text columns. */
function rawRelation(columns: string[], rows: (string | null)[][], file = '/data/aapl.us.txt'): string {
  const values = rows.map((r) => `(${literal(file)}, ${r.map((v) => (v === null ? 'NULL' : literal(v))).join(', ')})`);
  return `(SELECT * FROM (VALUES ${values.join(', ')}) t(_file, ${columns.map((c) => `"${c}"`).join(', ')}))`;
}

async function transform(rules: TransformRules, granularity: string, columns: string[], rows: (string | null)[][], file?: string) {
  const sql = compileTransform({ rules, dataset: datasets.ohlcv, granularity: parseGranularity(granularity), calendar: null, sourceColumns: columns.map((name) => ({ name, type: 'VARCHAR' as const })), from: rawRelation(columns, rows, file) });
  // Daily bars also carry the instant they were stamped with (tested below).
  const stamp = parseGranularity(granularity).unit === 'd' ? ', _stamp, _stamp_as' : '';
  return duck.all<Record<string, unknown>>(`SELECT * EXCLUDE (_raw, _file, _fold, _skip${stamp}) REPLACE (strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS ts) FROM (${sql})`);
}

const ohlcCols = { open: { from: 'o' }, high: { from: 'h' }, low: { from: 'l' }, close: { from: 'c' }, volume: { from: 'v' } };

describe('transform rules compile to SQL that DuckDB runs', () => {
  test('a session date becomes 00:00Z of that date; symbol from the file name', async () => {
    const rows = await transform(
      { dataset: 'ohlcv', columns: { ts: { from: 'Date', date: '%Y-%m-%d' }, ...ohlcCols }, symbol: { from_filename: '^([a-z]+)', case: 'upper' } },
      '1d',
      ['Date', 'o', 'h', 'l', 'c', 'v'],
      [['2014-06-09', '92.70', '93.88', '91.75', '93.70', '75415000']],
    );
    expect(rows).toEqual([
      // Only what the transform produces: no vwap, trades or adj_close columns at all.
      { symbol: 'AAPL', ts: '2014-06-09T00:00:00Z', open: 92.7, high: 93.88, low: 91.75, close: 93.7, volume: 75415000, _errors: null },
    ]);
  });

  test('local New York times convert to UTC across the daylight-saving change', async () => {
    const rows = await transform(
      {
        dataset: 'ohlcv',
        columns: { ts: { from: ['d', 't'], datetime: '%Y%m%d %H%M%S', timezone: 'America/New_York' }, ...ohlcCols },
        symbol: { value: 'spy' },
      },
      '1m',
      ['d', 't', 'o', 'h', 'l', 'c', 'v'],
      [
        ['20240308', '093000', '1', '1', '1', '1', '1'],
        ['20240311', '093000', '1', '1', '1', '1', '1'],
        ['20241104', '160000', '1', '1', '1', '1', '1'],
      ],
    );
    expect(rows.map((r) => [r.symbol, r.ts])).toEqual([
      ['SPY', '2024-03-08T14:30:00Z'],
      ['SPY', '2024-03-11T13:30:00Z'],
      ['SPY', '2024-11-04T21:00:00Z'],
    ]);
  });

  test('the autumn repeated hour reads as daylight time first, then standard; a skipped spring time is an error', async () => {
    const rules: TransformRules = {
      dataset: 'ohlcv',
      columns: { ts: { from: ['d', 't'], datetime: '%Y%m%d %H%M', timezone: 'America/New_York' }, ...ohlcCols },
      symbol: { value: 'BTC' },
    };
    const cols = ['d', 't', 'o', 'h', 'l', 'c', 'v'];
    const rows = [
      ['20241103', '0030'],
      ['20241103', '0130'], // 01:30 EDT = 05:30Z
      ['20241103', '0130'], // 01:30 EST = 06:30Z
      ['20241103', '0200'],
      ['20240310', '0230'], // does not exist
      ['20240310', '0300'],
    ].map((r) => [...r, '1', '1', '1', '1', '1']);
    // The day-offset join does not keep read order: the reader numbers the records (_rn) and the
    // table is made in that order, as the pipeline does for a local-time transform.
    expect(needsReadOrder(rules, datasets.ohlcv, parseGranularity('1m'))).toBe(true);
    const numbered = `(SELECT row_number() OVER () AS _rn, * FROM ${rawRelation(cols, rows)})`;
    const sql = compileTransform({ rules, dataset: datasets.ohlcv, granularity: parseGranularity('1m'), calendar: null, sourceColumns: cols.map((name) => ({ name, type: 'VARCHAR' as const })), from: numbered, numbered: true });
    await duck.run(`CREATE OR REPLACE TABLE tf AS ${sql} ORDER BY _rn`);
    expect((await duck.all<{ n: number }>(`SELECT count(*) AS n FROM tf WHERE _fold`))[0]!.n).toBe(2);
    await duck.run(resolveFoldsSql('tf', datasets.ohlcv));
    const out = await duck.all<{ ts: string; _errors: string | null }>(`SELECT strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS ts, _errors FROM tf ORDER BY rowid`);
    expect(out.map((r) => r.ts)).toEqual([
      '2024-11-03T04:30:00Z',
      '2024-11-03T05:30:00Z',
      '2024-11-03T06:30:00Z',
      '2024-11-03T07:00:00Z',
      '2024-03-10T07:30:00Z',
      '2024-03-10T07:00:00Z',
    ]);
    expect(out[4]!._errors).toBe('ts: 20240310 0230 does not exist in America/New_York (the clocks skip it)');
    expect(out.filter((r) => r._errors !== null)).toHaveLength(1);
  });

  test('stooq hourly bars stamped at their end in Warsaw time shift to their start in UTC', async () => {
    const rows = await transform(
      {
        dataset: 'ohlcv',
        columns: { ts: { from: ['d', 't'], datetime: '%Y%m%d %H%M%S', timezone: 'Europe/Warsaw', label: 'end' }, ...ohlcCols },
        symbol: { from: 'tk', strip_suffix: ['.US'] },
      },
      '1h',
      ['tk', 'd', 't', 'o', 'h', 'l', 'c', 'v'],
      [['GEN.US', '20250128', '220000', '27.69', '27.84', '27.645', '27.8', '1214849']],
    );
    // 22:00 CET is 21:00Z = 16:00 New York, the close; the bar began an hour earlier.
    expect(rows[0]).toMatchObject({ symbol: 'GEN', ts: '2025-01-28T20:00:00Z', low: 27.645 });
  });

  test('epoch milliseconds of New York midnight map a daily bar to its session date', async () => {
    const rows = await transform(
      { dataset: 'ohlcv', columns: { ts: { from: 't', epoch: 'ms', stamp: { date_in: 'America/New_York' } }, ...ohlcCols, vwap: { from: 'vw' }, trades: { from: 'n' } }, symbol: { value: 'AAPL' } },
      '1d',
      ['t', 'o', 'h', 'l', 'c', 'v', 'vw', 'n'],
      [
        ['1112331600000', '1.5', '1.6', '1.4', '1.55', '1.12117471e+08', '1.51', '12345'],
        ['1719806400000', '1', '1', '1', '1', '642646396.0', '1', '7'],
      ],
    );
    expect(rows.map((r) => [r.ts, r.volume, r.trades, r.vwap])).toEqual([
      ['2005-04-01T00:00:00Z', 112117471, 12345, 1.51],
      ['2024-07-01T00:00:00Z', 642646396, 7, 1],
    ]);
  });

  test('price scale divides exactly; constants, nulls and map rules', async () => {
    const rows = await transform(
      {
        dataset: 'ohlcv',
        columns: { ts: { from: 'Date', date: '%Y%m%d' }, ...ohlcCols },
        price_scale: 0.01,
        constants: { trades: 0 },
        symbol: { from: 'sym', case: 'upper', strip_suffix: ['.us'], map: { 'BRK-B': 'BRK.B' } },
      },
      '1d',
      ['Date', 'sym', 'o', 'h', 'l', 'c', 'v'],
      [['20240102', 'brk-b.us', '9982', '10003', '9976', '9990', 'N/A']],
    );
    expect(rows[0]).toMatchObject({ symbol: 'BRK.B', ts: '2024-01-02T00:00:00Z', open: 99.82, high: 100.03, low: 99.76, close: 99.9, volume: null, trades: 0 });
  });

  test('unreadable values become reasons, not silent nulls', async () => {
    const rows = await transform(
      { dataset: 'ohlcv', columns: { ts: { from: 'Date', date: '%Y-%m-%d' }, ...ohlcCols, trades: { from: 'n' } }, symbol: { value: 'X' } },
      '1d',
      ['Date', 'o', 'h', 'l', 'c', 'v', 'n'],
      [['2024-02-30', 'abc', '1', '1', 'inf', '1', '2.5']],
    );
    expect(rows[0]!._errors).toBe(
      [
        'ts: cannot read "2024-02-30" as a date (%Y-%m-%d)',
        'open: cannot read "abc" as a number',
        'close: cannot read "inf" as a number',
        'trades: cannot read "2.5" as a whole number',
      ].join('; '),
    );
  });
});

describe('daily stamps name their session by the convention of the vendor and market', () => {
  // Polygon's aggregates: stocks at 00:00 New York, crypto (X:) at 00:00 UTC, forex (C:) inside the 24/5 session.
  const polygon: TransformRules = {
    dataset: 'ohlcv',
    columns: {
      ts: { from: 't', epoch: 'ms', stamp: { date_in: 'America/New_York', markets: [{ symbols: '^X:', date_in: 'UTC' }, { symbols: '^C:', within_session: true }] } },
      ...ohlcCols,
    },
    symbol: { from: 'ticker', case: 'keep' },
  };
  const ms = (iso: string) => String(Date.parse(iso));
  async function stamped(calendar: TradingCalendar | null, rows: [string, string][]) {
    const cols = ['ticker', 't', 'o', 'h', 'l', 'c', 'v'];
    const sql = compileTransform({
      rules: polygon,
      dataset: datasets.ohlcv,
      granularity: parseGranularity('1d'),
      calendar,
      sourceColumns: cols.map((name) => ({ name, type: 'VARCHAR' as const })),
      from: rawRelation(cols, rows.map(([T, t]) => [T, ms(t), '1', '1', '1', '1', '1'])),
    });
    return duck.all<{ symbol: string; day: string; stamp: string; as: string }>(
      `SELECT symbol, strftime(ts, '%Y-%m-%d') AS day, strftime(_stamp, '%Y-%m-%dT%H:%M:%SZ') AS stamp, _stamp_as AS as FROM (${sql})`,
    );
  }

  test('a crypto day stamped at 00:00 UTC is that UTC date, a stock day at 00:00 New York its New York date', async () => {
    const rows = await stamped(calendars['24/7'], [
      ['X:BTCUSD', '2024-03-09T00:00:00Z'], // a Saturday: crypto trades
      ['X:BTCUSD', '2024-03-10T00:00:00Z'],
      ['AAPL', '2024-03-08T05:00:00Z'], // New York midnight in winter
      ['AAPL', '2024-03-11T04:00:00Z'], // ... and in summer time
    ]);
    expect(rows).toEqual([
      { symbol: 'X:BTCUSD', day: '2024-03-09', stamp: '2024-03-09T00:00:00Z', as: 'its date in UTC' },
      { symbol: 'X:BTCUSD', day: '2024-03-10', stamp: '2024-03-10T00:00:00Z', as: 'its date in UTC' },
      { symbol: 'AAPL', day: '2024-03-08', stamp: '2024-03-08T05:00:00Z', as: 'its date in America/New_York' },
      { symbol: 'AAPL', day: '2024-03-11', stamp: '2024-03-11T04:00:00Z', as: 'its date in America/New_York' },
    ]);
  });

  test('a forex stamp names the 24/5 session it falls in: the 17:00 New York roll opens the next day', async () => {
    const rows = await stamped(calendars['24/5'], [
      ['C:EURUSD', '2024-03-11T00:00:00Z'], // Monday 00:00 UTC: inside Monday's session (opened Sunday 17:00 New York)
      ['C:EURUSD', '2024-03-11T21:00:00Z'], // Monday 17:00 New York: the roll opens Tuesday's
      ['C:EURUSD', '2024-03-08T21:59:00Z'], // Friday 16:59 New York (winter): still Friday's
      ['C:EURUSD', '2024-03-10T00:00:00Z'], // Sunday 00:00 UTC: the weekend; names Sunday, no 24/5 session
    ]);
    expect(rows.map((r) => r.day)).toEqual(['2024-03-11', '2024-03-12', '2024-03-08', '2024-03-10']);
    expect(rows[0]!.as).toBe('the 24/5 session it falls in (days roll at 17:00 America/New_York)');
  });

  test('a plain date is its own session: no stamp instant is kept', async () => {
    const cols = ['d', 'o', 'h', 'l', 'c', 'v'];
    const sql = compileTransform({
      rules: { dataset: 'ohlcv', columns: { ts: { from: 'd', date: '%Y-%m-%d' }, ...ohlcCols }, symbol: { value: 'T' } },
      dataset: datasets.ohlcv,
      granularity: parseGranularity('1d'),
      calendar: calendars.XNYS,
      sourceColumns: cols.map((name) => ({ name, type: 'VARCHAR' as const })),
      from: rawRelation(cols, [['2024-03-08', '1', '1', '1', '1', '1']]),
    });
    expect(await duck.all(`SELECT strftime(ts, '%Y-%m-%d') AS day, _stamp, _stamp_as FROM (${sql})`)).toEqual([{ day: '2024-03-08', _stamp: null, _stamp_as: null }]);
  });
});

describe('record rules', () => {
  const rules: ValidationRules = {
    dataset: 'ohlcv',
    rules: [{ rule: 'required' }, { rule: 'ohlc_bracket' }, { rule: 'positive_prices' }, { rule: 'non_negative_volume' }],
  };
  const tf: TransformRules = { dataset: 'ohlcv', columns: { ts: { from: 'd', date: '%Y-%m-%d' }, ...ohlcCols }, symbol: { value: 'T' } };

  async function check(rows: (string | null)[][], r: ValidationRules = rules) {
    const cols = ['d', 'o', 'h', 'l', 'c', 'v'];
    const transformed = compileTransform({ rules: tf, dataset: datasets.ohlcv, granularity: parseGranularity('1d'), calendar: null, sourceColumns: cols.map((name) => ({ name, type: 'VARCHAR' as const })), from: rawRelation(cols, rows) });
    const rules = compileRecordRules({ rules: r, dataset: datasets.ohlcv, columns: producedColumns(tf, datasets.ohlcv), now: new Date('2026-11-22T12:00:00Z') });
    await duck.run(`CREATE OR REPLACE TABLE rr AS SELECT *, ${rules.failed} AS _failed, NULL::VARCHAR AS _rules, NULL::VARCHAR AS _detail FROM (${transformed})`);
    await duck.run(rules.explain('rr', '_failed'));
    const out = await duck.all<{ _rules: string | null; _detail: string | null }>(`SELECT _rules, _detail FROM rr ORDER BY rowid`);
    return out.map((o) => ({ _rules: o._rules === null ? null : o._rules.split(','), _detail: o._detail }));
  }

  test('each rule names the rows it rejects and why', async () => {
    const out = await check([
      ['2024-01-02', '10', '11', '9', '10.5', '100'], // clean
      ['2024-01-03', '10', '9.5', '9', '9.8', '100'], // high below open
      ['2024-01-04', '10', '11', '10.2', '10.5', '100'], // low above open
      ['2024-01-05', '10', '11', '12', '10.5', '100'], // high below low
      ['2024-01-08', '-1', '11', '9', '10.5', '100'], // negative open
      ['2024-01-09', '10', '11', '9', '10.5', '-5'], // negative volume
      ['2024-01-10', '10', '11', '9', null, '100'], // missing close
      ['2024-01-11', '10', '11', '9', '10', '0'], // zero volume is allowed
    ]);
    expect(out.map((r) => r._rules)).toEqual([
      null,
      ['ohlc_bracket'],
      ['ohlc_bracket'],
      ['ohlc_bracket'],
      ['ohlc_bracket', 'positive_prices'],
      ['non_negative_volume'],
      ['required'],
      null,
    ]);
    expect(out[0]!._detail).toBeNull();
    expect(out[1]!._detail).toBe('ohlc_bracket: open 10.0 high 9.5 low 9.0 close 9.8: high < max(open, close)');
    expect(out[3]!._detail).toBe('ohlc_bracket: open 10.0 high 11.0 low 12.0 close 10.5: high < low, low > min(open, close)');
    expect(out[5]!._detail).toBe('non_negative_volume: volume -5.0 < 0');
    expect(out[6]!._detail).toBe('required: missing close');
  });

  test('a tolerance lets rounding in adjusted files through, and only that', async () => {
    const rows = [
      ['2024-01-02', '10.000001', '10', '9', '9.5', '1'],
      ['2024-01-03', '10.2', '10', '9', '9.5', '1'],
    ];
    const loose: ValidationRules = { dataset: 'ohlcv', rules: [{ rule: 'ohlc_bracket', tolerance: 1e-6 }] };
    expect((await check(rows, loose)).map((r) => r._rules)).toEqual([null, ['ohlc_bracket']]);
    expect((await check(rows)).map((r) => r._rules)).toEqual([['ohlc_bracket'], ['ohlc_bracket']]);
  });
});
