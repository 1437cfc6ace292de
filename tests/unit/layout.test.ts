import { describe, expect, test } from '@jest/globals';
import { dataFileName, dataFileVersion, encodeSegment, partitionUri, periodsBetween } from '../../src/lake/layout.js';
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
