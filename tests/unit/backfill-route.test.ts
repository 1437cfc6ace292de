import { describe, expect, test } from '@jest/globals';
import { chunkRequests, chunkWindow, routeChunk, type RouteCandidate, type RouteState } from '../../src/backfill/route.js';
import { loadJob } from '../../src/config/jobs.js';
import { calendars } from '../../src/calendar/registry.js';
import { fetchers } from '../../src/sources/index.js';
import { configDir } from '../support/helpers.js';

// What the registry's fetchers declare for daily bars (src/sources/*): Polygon weight 10 and 20
// years back, Alpaca 8 and 10 years, Finnhub 6 and 30 years; none unique.
const equities: RouteCandidate[] = [
  { vendor: 'polygon', fetcher: fetchers['polygon/aggs'] },
  { vendor: 'alpaca', fetcher: fetchers['alpaca/bars'] },
  { vendor: 'finnhub', fetcher: fetchers['finnhub/candles'] },
];
const chunk = { from: '2024-01-02' };
const fresh: RouteState = { remaining: new Map(), frozen: new Set(), today: '2026-12-03' };

function vendor(name: string, weight: number, unique = false, historyYears: number | null = null): RouteCandidate {
  return { vendor: name, fetcher: { unique, weight, historyYears } };
}

describe('routeChunk', () => {
  test('by weight, higher first', () => {
    expect(routeChunk(chunk, equities, fresh)).toEqual({ order: ['polygon', 'alpaca', 'finnhub'], skipped: [] });
    // The target's order does not outrank the weights.
    expect(routeChunk(chunk, [...equities].reverse(), fresh).order).toEqual(['polygon', 'alpaca', 'finnhub']);
  });

  test('a vendor unique for the dataset first, whatever its weight', () => {
    expect(routeChunk(chunk, [vendor('a', 10), vendor('b', 1, true), vendor('c', 5)], fresh).order).toEqual(['b', 'a', 'c']);
  });

  test('equal weights: more requests left today first, unknown counting as unlimited; then the target order', () => {
    const candidates = [vendor('a', 5), vendor('b', 5), vendor('c', 5), vendor('d', 5), vendor('e', 9)];
    const remaining = new Map<string, number | null>([
      ['a', 10],
      ['b', 100],
      ['c', null],
      ['e', 1],
    ]);
    // d has no entry (unknown), like c: the two tie and keep the target's order.
    expect(routeChunk(chunk, candidates, { ...fresh, remaining }).order).toEqual(['e', 'c', 'd', 'b', 'a']);
    expect(routeChunk(chunk, [vendor('x', 5), vendor('y', 5)], fresh).order).toEqual(['x', 'y']);
  });

  test('a spent budget skips the vendor: Polygon at 0 sends the chunk to Alpaca, then Finnhub', () => {
    const remaining = new Map([['polygon', 0]]);
    expect(routeChunk(chunk, equities, { ...fresh, remaining })).toEqual({ order: ['alpaca', 'finnhub'], skipped: [{ vendor: 'polygon', reason: 'spent' }] });
  });

  test('a budget left smaller than the requests the chunk costs is spent for it', () => {
    const remaining = new Map([
      ['polygon', 2],
      ['alpaca', 2],
    ]);
    const requests = new Map([
      ['polygon', 3],
      ['alpaca', 2],
    ]);
    expect(routeChunk(chunk, equities, { ...fresh, remaining, requests })).toEqual({ order: ['alpaca', 'finnhub'], skipped: [{ vendor: 'polygon', reason: 'spent' }] });
  });

  test('a frozen vendor is skipped for the rest of the run', () => {
    expect(routeChunk(chunk, equities, { ...fresh, frozen: new Set(['polygon', 'finnhub']) })).toEqual({
      order: ['alpaca'],
      skipped: [
        { vendor: 'polygon', reason: 'frozen' },
        { vendor: 'finnhub', reason: 'frozen' },
      ],
    });
  });

  test('a vendor whose history does not reach the chunk is skipped: Alpaca serves ten years', () => {
    expect(routeChunk({ from: '2016-12-02' }, equities, fresh)).toEqual({ order: ['polygon', 'finnhub'], skipped: [{ vendor: 'alpaca', reason: 'history' }] });
    expect(routeChunk({ from: '2016-12-03' }, equities, fresh).order).toEqual(['polygon', 'alpaca', 'finnhub']);
  });

  test('every vendor skipped: no order', () => {
    const remaining = new Map([
      ['polygon', 0],
      ['alpaca', 0],
    ]);
    expect(routeChunk(chunk, equities, { ...fresh, remaining, frozen: new Set(['finnhub']) })).toEqual({
      order: [],
      skipped: [
        { vendor: 'polygon', reason: 'spent' },
        { vendor: 'alpaca', reason: 'spent' },
        { vendor: 'finnhub', reason: 'frozen' },
      ],
    });
  });
});

describe('chunkRequests', () => {
  const now = new Date('2026-12-03T12:00:00Z');
  const aapl = { symbol: 'AAPL', from: '2024-01-02', to: '2024-01-12' };

  test('one request a chunk from each vendor, for the chunk symbol and dates', () => {
    const polygon = chunkRequests(fetchers['polygon/aggs'], loadJob(configDir, 'polygon-daily', {}), aapl, now);
    expect(polygon.map((r) => r.path)).toEqual(['/v2/aggs/ticker/AAPL/range/1/day/2024-01-02/2024-01-12']);
    const alpaca = chunkRequests(fetchers['alpaca/bars'], loadJob(configDir, 'alpaca-daily', {}), aapl, now);
    expect(alpaca.map((r) => [r.path, r.query['symbols'], r.query['start'], r.query['end'], r.query['adjustment'], r.query['feed']])).toEqual([
      ['/v2/stocks/bars', 'AAPL', '2024-01-02T00:00:00.000Z', '2024-01-13T00:00:00.000Z', 'raw', 'sip'],
    ]);
    const finnhub = chunkRequests(fetchers['finnhub/candles'], loadJob(configDir, 'finnhub-daily', {}), aapl, now);
    expect(finnhub.map((r) => r.bars)).toEqual([{ symbols: ['AAPL'], from: '2024-01-02', to: '2024-01-12' }]);
  });

  test('the job window does not narrow a chunk before it (backfill reaches past forward ingest)', () => {
    const early = chunkRequests(fetchers['polygon/aggs'], loadJob(configDir, 'polygon-daily', {}), { symbol: 'SPY', from: '2015-01-02', to: '2015-12-31' }, now);
    expect(early.map((r) => r.path)).toEqual(['/v2/aggs/ticker/SPY/range/1/day/2015-01-02/2015-12-31']);
  });
});

describe('chunkWindow', () => {
  const iso = (w: { from: Date | null; toExclusive: Date | null }) => [w.from!.toISOString(), w.toExclusive!.toISOString()];
  test('daily bars: the session dates as whole UTC days', () => {
    expect(iso(chunkWindow(loadJob(configDir, 'polygon-daily', {}), { from: '2024-01-02', to: '2024-01-12' }))).toEqual(['2024-01-02T00:00:00.000Z', '2024-01-13T00:00:00.000Z']);
  });
  test("intraday bars: whole UTC days, widened to the sessions' hours where they cross midnight UTC", () => {
    const hourly = loadJob(configDir, 'polygon-hourly', {});
    // Regular hours (14:30-21:00Z in January) lie within the dates.
    expect(iso(chunkWindow(hourly, { from: '2024-01-02', to: '2024-01-12' }))).toEqual(['2024-01-02T00:00:00.000Z', '2024-01-13T00:00:00.000Z']);
    // With extended hours, Friday's post-market runs to 20:00 New York, 01:00Z on Saturday.
    const extended = { ...hourly, spec: { ...hourly.spec, extended_hours: true } };
    expect(iso(chunkWindow(extended, { from: '2024-01-02', to: '2024-01-12' }))).toEqual(['2024-01-02T00:00:00.000Z', '2024-01-13T01:00:00.000Z']);
    // 24/5 forex: Monday's session opens at 17:00 New York on Sunday (22:00Z), its first hourly bar there.
    const fx = { ...hourly, calendar: calendars['24/5'] };
    expect(iso(chunkWindow(fx, { from: '2024-01-08', to: '2024-01-08' }))).toEqual(['2024-01-07T22:00:00.000Z', '2024-01-09T00:00:00.000Z']);
  });
});
