import { describe, expect, test } from '@jest/globals';
import { calendars } from '../../src/calendar/registry.js';
import type { ManifestPartition } from '../../src/catalog/retention-catalog.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultCompaction, loadRetentionConfig, parseSize, policyFor, type RetentionPolicy } from '../../src/config/retention.js';
import { planMerges } from '../../src/retention/compact.js';
import { cutFor, dayStart, planSeries } from '../../src/retention/plan.js';

/** The retention planner is pure: manifest rows, a policy, a calendar and a clock in; the cut and the partitions out. */
const policy = (over: Partial<RetentionPolicy> = {}): RetentionPolicy => ({
  name: 'p',
  dataset: 'ohlcv',
  source: null,
  granularity: null,
  raw: false,
  keep: { sessions: 30 },
  then: 'delete',
  compact: null,
  at: 'retention.yml:2',
  ...over,
});

const partition = (uri: string, first: string, last: string, symbols = ['AAPL']): ManifestPartition => ({
  id: uri,
  uri,
  symbol: symbols.length === 1 ? symbols[0]! : null,
  period: uri,
  rows: 10,
  bytes: 100,
  sha256: '0'.repeat(64),
  firstTs: new Date(first),
  lastTs: new Date(last),
  symbols,
});

describe('cutFor', () => {
  test('sessions: the last N sessions that have ended by now; an intraday day begins at midnight New York', () => {
    // Monday 2024-04-01 12:00Z: the session of that day has not ended; the last one is Thursday 2024-03-28.
    const cut = cutFor({ sessions: 30 }, new Date('2024-04-01T12:00:00Z'), calendars.XNYS, false)!;
    expect(cut).toEqual({ firstKept: '2024-02-15', before: new Date('2024-02-15T05:00:00Z') });
    const ended = calendars.XNYS.sessions('2024-02-15', '2024-03-31');
    expect(ended).toHaveLength(30);
    // After the close the day's session counts.
    expect(cutFor({ sessions: 1 }, new Date('2024-04-01T20:00:00Z'), calendars.XNYS, false)!.firstKept).toBe('2024-04-01');
  });

  test('sessions of daily bars cut at the session date 00:00Z; of FX at the 17:00 New York roll of the evening before', () => {
    expect(cutFor({ sessions: 5 }, new Date('2024-04-01T12:00:00Z'), calendars.XNYS, true)).toEqual({ firstKept: '2024-03-22', before: new Date('2024-03-22T00:00:00Z') });
    // 24/5: Monday's session opens Sunday 17:00 New York (21:00Z in daylight time).
    expect(dayStart('2024-04-01', calendars['24/5'], false)).toEqual(new Date('2024-03-31T21:00:00Z'));
    expect(dayStart('2024-04-01', calendars['24/7'], false)).toEqual(new Date('2024-04-01T00:00:00Z'));
    expect(dayStart('2024-01-10', calendars.XNYS, false)).toEqual(new Date('2024-01-10T05:00:00Z'));
  });

  test('days: the last N UTC dates, today included; without a calendar the cut is 00:00Z', () => {
    expect(cutFor({ days: 1 }, new Date('2024-04-01T12:00:00Z'), null, false)).toEqual({ firstKept: '2024-04-01', before: new Date('2024-04-01T00:00:00Z') });
    expect(cutFor({ days: 60 }, new Date('2024-04-01T12:00:00Z'), calendars.XNYS, false)).toEqual({ firstKept: '2024-02-02', before: new Date('2024-02-02T05:00:00Z') });
  });

  test('sessions beyond the calendar\'s history cut nothing; without a calendar a sessions policy is refused', () => {
    expect(cutFor({ sessions: 100_000 }, new Date('2024-04-01T12:00:00Z'), calendars.XNYS, true)).toBeNull();
    expect(() => cutFor({ sessions: 5 }, new Date('2024-04-01T12:00:00Z'), null, true)).toThrow('a sessions policy needs a calendar');
  });
});

describe('planSeries', () => {
  test('whole partitions before the cut retire, the one across it straddles, later ones stay; symbols of what goes are listed', () => {
    const cut = { before: new Date('2024-02-15T05:00:00Z'), firstKept: '2024-02-15' };
    const plan = planSeries(policy(), cut, [
      partition('jan', '2024-01-02T14:30:00Z', '2024-01-31T20:59:00Z', ['AAPL']),
      partition('feb', '2024-02-01T14:30:00Z', '2024-02-29T20:59:00Z', ['AAPL']),
      partition('mar', '2024-03-01T14:30:00Z', '2024-03-28T20:59:00Z', ['AAPL']),
      partition('year', '2023-01-03T00:00:00Z', '2024-03-28T00:00:00Z', ['MSFT', 'IBM']),
      // A partition whose first row is the cut itself stays whole.
      partition('at', '2024-02-15T05:00:00Z', '2024-02-16T00:00:00Z', ['ZZZ']),
    ]);
    expect(plan.retire.map((p) => p.uri)).toEqual(['jan']);
    expect(plan.straddle.map((p) => p.uri)).toEqual(['feb', 'year']);
    expect(plan.symbols).toEqual(['AAPL', 'IBM', 'MSFT']);
  });

  test('an empty partition, or one with no times, is left alone', () => {
    const cut = { before: new Date('2024-02-15T00:00:00Z'), firstKept: '2024-02-15' };
    const empty = { ...partition('e', '2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z'), rows: 0 };
    const untimed = { ...partition('u', '2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z'), firstTs: null, lastTs: null };
    expect(planSeries(policy(), cut, [empty, untimed])).toMatchObject({ retire: [], straddle: [], symbols: [] });
  });
});

describe('policyFor', () => {
  test('the first policy that matches a series applies; none matching keeps it whole', () => {
    const policies = [policy({ name: 'poly-1s', source: 'polygon', granularity: '1s' }), policy({ name: 'minutes', granularity: '1m' }), policy({ name: 'rest' })];
    expect(policyFor(policies, { dataset: 'ohlcv', source: 'polygon', granularity: '1s' })?.name).toBe('poly-1s');
    expect(policyFor(policies, { dataset: 'ohlcv', source: 'alpaca', granularity: '1s' })?.name).toBe('rest');
    expect(policyFor(policies, { dataset: 'ohlcv', source: 'polygon', granularity: '1m' })?.name).toBe('minutes');
    expect(policyFor(policies, { dataset: 'tickers', source: 'polygon', granularity: '1d' })).toBeNull();
  });
});

describe('merges into the next grain up (compaction)', () => {
  const day = (symbol: string | null, date: string, bytes = 1000): ManifestPartition => ({
    id: `${symbol}-${date}`,
    uri: `ohlcv/source=s/granularity=1s/${symbol ? `symbol=${symbol}/` : ''}day=${date}/data-000001.parquet`,
    symbol,
    period: date,
    rows: 100,
    bytes,
    sha256: '0'.repeat(64),
    firstTs: new Date(`${date}T14:30:00Z`),
    lastTs: new Date(`${date}T21:00:00Z`),
    symbols: symbol ? [symbol] : ['A', 'B'],
  });
  const bySymbol = { period: 'day', by_symbol: true } as const;
  const below = (bytes: number, into: 'month' | 'year' | null = null) => ({ belowBytes: bytes, into });
  const now = new Date('2024-04-10T12:00:00Z');

  test("a symbol's days of an ended month merge when they add up to less than the size; the month still open does not", () => {
    const parts = [day('A', '2024-03-04'), day('A', '2024-03-01'), day('A', '2024-04-01'), day('A', '2024-04-02'), day('B', '2024-03-01'), day('B', '2024-03-05')];
    const plan = planMerges(parts, bySymbol, below(10_000), now);
    expect(plan.map((m) => [m.symbol, m.period, m.parts.map((p) => p.period), m.rows, m.bytes])).toEqual([
      ['A', '2024-03', ['2024-03-01', '2024-03-04'], 200, 2000],
      ['B', '2024-03', ['2024-03-01', '2024-03-05'], 200, 2000],
    ]);
    // At the end of April, April's days merge too.
    expect(planMerges(parts, bySymbol, below(10_000), new Date('2024-05-01T00:00:00Z')).map((m) => `${m.symbol} ${m.period}`)).toEqual(['A 2024-03', 'A 2024-04', 'B 2024-03']);
  });

  test('nothing merges at or above the size, from a single partition, into another grain than the next one up, or where the month is merged already', () => {
    const parts = [day('A', '2024-03-01', 600), day('A', '2024-03-04', 400), day('B', '2024-03-01')];
    expect(planMerges(parts, bySymbol, below(1000), now)).toEqual([]);
    expect(planMerges(parts, bySymbol, below(1001), now).map((m) => m.symbol)).toEqual(['A']);
    expect(planMerges(parts, bySymbol, below(1001, 'year'), now)).toEqual([]);
    expect(planMerges(parts, bySymbol, below(1001, 'month'), now).map((m) => m.symbol)).toEqual(['A']);
    expect(planMerges(parts, { period: 'year', by_symbol: false }, below(10_000), now)).toEqual([]);
    const merged = { ...day('A', '2024-03-01'), id: 'm', period: '2024-03', uri: 'ohlcv/source=s/granularity=1s/symbol=A/month=2024-03/data-000001.parquet' };
    expect(planMerges([...parts, merged], bySymbol, below(1001), now)).toEqual([]);
  });

  test('a grain of all symbols per day merges a month of days into one file', () => {
    const plan = planMerges([day(null, '2024-02-01'), day(null, '2024-02-29')], { period: 'day', by_symbol: false }, below(1 << 20), now);
    expect(plan.map((m) => [m.symbol, m.period, m.parts.length])).toEqual([[null, '2024-02', 2]]);
  });
});

describe('compact in a policy', () => {
  test('sizes read as bytes or with KB, MB, GB (units of 1024); anything else is refused', () => {
    expect(parseSize('8MB')).toBe(8 * 2 ** 20);
    expect(parseSize('1.5 gb')).toBe(1.5 * 2 ** 30);
    expect(parseSize(4096)).toBe(4096);
    expect(parseSize('512KB')).toBe(512 * 1024);
    expect(parseSize('8 MiB')).toBeNull();
    expect(parseSize('0MB')).toBeNull();
    expect(parseSize(0)).toBeNull();
  });

  test('compact: true takes the defaults; { below, into } is read; a size that is not one is refused at its line', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mdw-compact-policy-'));
    try {
      const file = path.join(dir, 'retention.yml');
      writeFileSync(file, 'policies:\n  - name: a\n    dataset: ohlcv\n    compact: true\n  - name: b\n    dataset: ohlcv\n    granularity: 1s\n    compact: { below: 2MB, into: month }\n');
      expect(loadRetentionConfig(file, {}, { required: true }).policies.map((p) => p.compact)).toEqual([defaultCompaction, { belowBytes: 2 * 2 ** 20, into: 'month' }]);
      expect(defaultCompaction).toEqual({ belowBytes: 8 * 2 ** 20, into: null });
      writeFileSync(file, 'policies:\n  - name: a\n    dataset: ohlcv\n    compact: { below: 8 MiB }\n');
      expect(() => loadRetentionConfig(file, {}, { required: true })).toThrow(/retention\.yml:4/);
      writeFileSync(file, 'policies:\n  - name: a\n    dataset: ohlcv\n    compact: { into: week }\n');
      expect(() => loadRetentionConfig(file, {}, { required: true })).toThrow(/retention\.yml:4/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
