import { describe, expect, test } from '@jest/globals';
import { dataFileName, dataFileVersion, encodeSegment, partitionUri, periodRange, periodsBetween, shadowingFolders } from '../../src/lake/layout.js';
import { periodLabel, periodSql, previousPeriod } from '../../src/load/periods.js';
import { DuckSession } from '../../src/lake/duckdb.js';
import { parseWindow } from '../../src/core/time-window.js';

describe('lake layout', () => {
  test('daily bars of all symbols share one file per year', () => {
    expect(
      partitionUri({ dataset: 'ohlcv', source: 'yahoo', granularity: '1d', symbol: null, period: '2014' }, { period: 'year', by_symbol: false }, 1),
    ).toBe('ohlcv/source=yahoo/granularity=1d/year=2014/data-000001.parquet');
  });

  test('minute bars get one file per symbol and month, with unsafe symbol characters encoded', () => {
    expect(
      partitionUri({ dataset: 'ohlcv', source: 'polygon', granularity: '1m', symbol: 'X:BTC/USD', period: '2024-03' }, { period: 'month', by_symbol: true }, 12),
    ).toBe('ohlcv/source=polygon/granularity=1m/symbol=X%3ABTC%2FUSD/month=2024-03/data-000012.parquet');
    expect(encodeSegment('BRK.B')).toBe('BRK.B');
    expect(encodeSegment('^GSPC')).toBe('%5EGSPC');
    expect(encodeSegment('100%')).toBe('100%25');
  });

  test('a partition file is versioned: each write adds the next, and data.parquet of older lakes is version 0', () => {
    expect([dataFileName(0), dataFileName(1), dataFileName(1234567)]).toEqual(['data.parquet', 'data-000001.parquet', 'data-1234567.parquet']);
    expect(['data.parquet', 'data-000002.parquet', 'data-1234567.parquet', 'data-2.parquet', '.data-000002.parquet.ab12cd34.tmp', 'x.parquet'].map(dataFileVersion)).toEqual([
      0, 2, 1234567, null, null, null,
    ]);
  });

  test('periods between two instants, half-open', () => {
    const w = parseWindow('2023-11-15', '2024-02-01');
    expect(periodsBetween(w.from!, w.toExclusive!, 'month')).toEqual(['2023-11', '2023-12', '2024-01', '2024-02']);
    expect(periodsBetween(w.from!, w.toExclusive!, 'year')).toEqual(['2023', '2024']);
    expect(periodsBetween(new Date('2024-02-28T00:00:00Z'), new Date('2024-03-01T00:00:00Z'), 'day')).toEqual(['2024-02-28', '2024-02-29']);
  });
});

describe('time windows', () => {
  test('a --to date includes that whole day', () => {
    const w = parseWindow('2024-01-01', '2024-01-31');
    expect(w.from!.toISOString()).toBe('2024-01-01T00:00:00.000Z');
    expect(w.toExclusive!.toISOString()).toBe('2024-02-01T00:00:00.000Z');
  });

  test('date-times need an offset; impossible dates and reversed windows are usage errors', () => {
    expect(parseWindow('2024-03-08T14:30:00Z', undefined).from!.toISOString()).toBe('2024-03-08T14:30:00.000Z');
    expect(parseWindow('2024-03-08T09:30:00-05:00', undefined).from!.toISOString()).toBe('2024-03-08T14:30:00.000Z');
    expect(() => parseWindow('2024-03-08T09:30', undefined)).toThrow(/date-time with offset/);
    expect(() => parseWindow('2023-02-30', undefined)).toThrow(/not a real date/);
    expect(() => parseWindow('2024-02-01', '2024-01-01')).toThrow(/after/);
  });
});

describe('periods of two grains in one series (compaction into the next grain up)', () => {
  const grain = { period: 'day', by_symbol: true, merged: [{ symbol: 'A', period: '2024-03' }] } as const;

  test('a merged partition lives in the folder of its own grain, and shadows the finer folders it covers', () => {
    expect(partitionUri({ dataset: 'ohlcv', source: 's', granularity: '1s', symbol: 'A', period: '2024-03' }, grain, 1)).toBe(
      'ohlcv/source=s/granularity=1s/symbol=A/month=2024-03/data-000001.parquet',
    );
    expect(shadowingFolders('day=2024-03-15')).toEqual(['month=2024-03', 'year=2024']);
    expect(shadowingFolders('month=2024-03')).toEqual(['year=2024']);
    expect(shadowingFolders('year=2024')).toEqual([]);
    expect(shadowingFolders('symbol=A')).toEqual([]);
    expect(shadowingFolders('day=2024-03')).toEqual([]);
    expect(periodRange('2024-02')).toEqual({ start: new Date('2024-02-01T00:00:00Z'), end: new Date('2024-03-01T00:00:00Z') });
    expect(periodRange('2024-12-31')).toEqual({ start: new Date('2024-12-31T00:00:00Z'), end: new Date('2025-01-01T00:00:00Z') });
  });

  test("period integers say their kind; the partition before a day is the merged month that holds the day before", () => {
    expect([periodLabel(2024), periodLabel(202403), periodLabel(20240315)]).toEqual(['2024', '2024-03', '2024-03-15']);
    expect(previousPeriod(grain, 'A', 20240401)).toBe(202403);
    expect(previousPeriod(grain, 'B', 20240401)).toBe(20240331);
    expect(previousPeriod(grain, 'A', 202403)).toBe(20240229);
    expect(previousPeriod(grain, 'B', 20240315)).toBe(20240314);
    expect(previousPeriod({ period: 'month', by_symbol: true }, null, 202401)).toBe(202312);
  });

  test("a row of a merged month gets the month's period, others their day's (DuckDB)", async () => {
    const duck = await DuckSession.open({ threads: 1 });
    try {
      const rows = await duck.all<{ symbol: string; p: number }>(
        `SELECT symbol, ${periodSql(grain, 'ts', 'symbol')} AS p FROM (VALUES ('A', TIMESTAMP '2024-03-15 14:30:00'), ('A', TIMESTAMP '2024-04-01 14:30:00'), ('B', TIMESTAMP '2024-03-15 14:30:00')) t(symbol, ts) ORDER BY ALL`,
      );
      expect(rows.map((r) => [r.symbol, Number(r.p)])).toEqual([
        ['A', 202403],
        ['A', 20240401],
        ['B', 20240315],
      ]);
      expect(periodSql({ period: 'day', by_symbol: true }, 'ts', 'symbol')).toBe('(year(ts) * 10000 + month(ts) * 100 + day(ts))');
    } finally {
      duck.close();
    }
  });
});
