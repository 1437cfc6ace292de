import { describe, expect, test } from '@jest/globals';
import { barsPerSession, indexDates, lastEndedSession, planChunks, sessionIndex, sessionsPerRequest, type PlanInput } from '../../src/backfill/plan.js';
import { calendars } from '../../src/calendar/registry.js';
import { parseGranularity } from '../../src/core/granularity.js';

const xnys = calendars.XNYS;
// XNYS, 2023-12-18 .. 2024-02-09: no session on 12-25, 01-01 (holidays), 01-15 (Martin Luther King Jr. Day).
const sessions = sessionIndex(xnys, '2023-12-18', '2024-02-09', 'year');
const target = { name: 'eq', earliest: '2024-01-02', chunkSessions: 252 };

/** The sessions of [from, to], as the lake would hold them. */
function held(from: string, to: string): string[] {
  return xnys.sessions(from, to).map((s) => s.date);
}

function plan(over: Partial<PlanInput> & { present?: PlanInput['present'] }, t = target) {
  return planChunks(t, { sessions, symbols: ['AAPL'], present: new Map(), until: '2024-01-12', ...over });
}

describe('the sessions a plan walks', () => {
  test('are the calendar sessions, each knowing where its partition period ends', () => {
    expect(sessions.dates.slice(0, 10)).toEqual(['2023-12-18', '2023-12-19', '2023-12-20', '2023-12-21', '2023-12-22', '2023-12-26', '2023-12-27', '2023-12-28', '2023-12-29', '2024-01-02']);
    // The 2023 sessions end at index 9 (2024-01-02); the last period at the end of the list.
    expect([...sessions.periodEnd.slice(0, 10)]).toEqual([9, 9, 9, 9, 9, 9, 9, 9, 9, sessions.dates.length]);
    const months = indexDates(['2024-01-30', '2024-01-31', '2024-02-01', '2024-03-01'], 'month');
    expect([...months.periodEnd]).toEqual([2, 2, 3, 4]);
    expect([...indexDates(['2024-01-30', '2024-01-31'], 'day').periodEnd]).toEqual([1, 2]);
  });
});

describe('planChunks', () => {
  test('a hole in the middle is one chunk of exactly its sessions', () => {
    const present = new Map([['AAPL', [...held('2024-01-02', '2024-01-04'), ...held('2024-01-09', '2024-01-12')]]]);
    expect(plan({ present })).toEqual([{ target: 'eq', symbol: 'AAPL', from: '2024-01-05', to: '2024-01-08', sessions: 2 }]);
  });

  test('a hole across the new year splits at the year (the partition period)', () => {
    const present = new Map([['AAPL', [...held('2023-12-18', '2023-12-26'), ...held('2024-01-04', '2024-01-12')]]]);
    expect(plan({ present }, { ...target, earliest: '2023-12-18' })).toEqual([
      { target: 'eq', symbol: 'AAPL', from: '2023-12-27', to: '2023-12-29', sessions: 3 },
      { target: 'eq', symbol: 'AAPL', from: '2024-01-02', to: '2024-01-03', sessions: 2 },
    ]);
  });

  test('with a month grain, a hole across a month end splits there', () => {
    const byMonth = sessionIndex(xnys, '2024-01-02', '2024-02-09', 'month');
    const present = new Map([['AAPL', [...held('2024-01-02', '2024-01-29'), ...held('2024-02-05', '2024-02-09')]]]);
    expect(planChunks(target, { sessions: byMonth, symbols: ['AAPL'], present, until: '2024-02-09' })).toEqual([
      { target: 'eq', symbol: 'AAPL', from: '2024-01-30', to: '2024-01-31', sessions: 2 },
      { target: 'eq', symbol: 'AAPL', from: '2024-02-01', to: '2024-02-02', sessions: 2 },
    ]);
  });

  test('nothing before the listing or after the delisting; nothing at all when listed after until', () => {
    const listings = new Map([
      // Listed on a Saturday: the first session is the Monday after.
      ['NEW', { listed: '2024-01-06', delisted: '2024-01-10' }],
      ['LATE', { listed: '2024-02-01' }],
      ['GONE', { delisted: '2023-12-29' }],
      ['AAPL', { listed: null, delisted: null }],
    ]);
    expect(plan({ symbols: ['NEW', 'LATE', 'GONE', 'AAPL'], listings, present: new Map([['AAPL', held('2024-01-02', '2024-01-11')]]) })).toEqual([
      { target: 'eq', symbol: 'NEW', from: '2024-01-08', to: '2024-01-10', sessions: 3 },
      { target: 'eq', symbol: 'AAPL', from: '2024-01-12', to: '2024-01-12', sessions: 1 },
    ]);
  });

  test('a listing before the earliest date does not move it', () => {
    const listings = new Map([['AAPL', { listed: '1980-12-12' }]]);
    expect(plan({ listings, until: '2024-01-03' })).toEqual([{ target: 'eq', symbol: 'AAPL', from: '2024-01-02', to: '2024-01-03', sessions: 2 }]);
  });

  test('a symbol the lake holds whole gets no chunk, as an array or a set, with dates that are no session among them', () => {
    const all = held('2024-01-02', '2024-01-12');
    expect(plan({ present: new Map([['AAPL', all]]) })).toEqual([]);
    expect(plan({ present: new Map([['AAPL', new Set(all)]]) })).toEqual([]);
    // A bar stamped on New Year's Day (a vendor's mistake) neither fills nor hides a session.
    expect(plan({ present: new Map([['AAPL', ['2024-01-01', ...all.filter((d) => d !== '2024-01-03')]]]) })).toEqual([
      { target: 'eq', symbol: 'AAPL', from: '2024-01-03', to: '2024-01-03', sessions: 1 },
    ]);
  });

  test('chunks hold at most chunkSessions sessions, and at most what one request answers', () => {
    expect(plan({}, { ...target, chunkSessions: 4 })).toEqual([
      { target: 'eq', symbol: 'AAPL', from: '2024-01-02', to: '2024-01-05', sessions: 4 },
      { target: 'eq', symbol: 'AAPL', from: '2024-01-08', to: '2024-01-11', sessions: 4 },
      { target: 'eq', symbol: 'AAPL', from: '2024-01-12', to: '2024-01-12', sessions: 1 },
    ]);
    expect(plan({ sessionsPerRequest: 3 }, { ...target, chunkSessions: 4 })).toEqual([
      { target: 'eq', symbol: 'AAPL', from: '2024-01-02', to: '2024-01-04', sessions: 3 },
      { target: 'eq', symbol: 'AAPL', from: '2024-01-05', to: '2024-01-09', sessions: 3 },
      { target: 'eq', symbol: 'AAPL', from: '2024-01-10', to: '2024-01-12', sessions: 3 },
    ]);
  });

  test('holes within a chunk of each other share one request; held sessions at either end are not asked for', () => {
    const present = new Map([['AAPL', held('2024-01-02', '2024-01-12').filter((d) => d !== '2024-01-03' && d !== '2024-01-10')]]);
    expect(plan({ present })).toEqual([{ target: 'eq', symbol: 'AAPL', from: '2024-01-03', to: '2024-01-10', sessions: 2 }]);
    // Five sessions from 01-03 reach 01-09: the second hole is a chunk of its own.
    expect(plan({ present }, { ...target, chunkSessions: 5 })).toEqual([
      { target: 'eq', symbol: 'AAPL', from: '2024-01-03', to: '2024-01-03', sessions: 1 },
      { target: 'eq', symbol: 'AAPL', from: '2024-01-10', to: '2024-01-10', sessions: 1 },
    ]);
  });

  test('nothing after until, which may fall on a holiday', () => {
    expect(plan({ until: '2024-01-09' })).toEqual([{ target: 'eq', symbol: 'AAPL', from: '2024-01-02', to: '2024-01-09', sessions: 6 }]);
    const present = new Map([['AAPL', held('2024-01-02', '2024-01-11')]]);
    expect(plan({ present, until: '2024-01-15' })).toEqual([{ target: 'eq', symbol: 'AAPL', from: '2024-01-12', to: '2024-01-12', sessions: 1 }]);
    expect(plan({ until: '2023-12-31' })).toEqual([]);
  });

  test('symbols in the order given, each with its own holes', () => {
    const present = new Map([
      ['AAPL', held('2024-01-02', '2024-01-11')],
      ['MSFT', held('2024-01-03', '2024-01-12')],
    ]);
    expect(plan({ symbols: ['MSFT', 'AAPL', 'SPY'], present, until: '2024-01-12' }, { ...target, chunkSessions: 5 })).toEqual([
      { target: 'eq', symbol: 'MSFT', from: '2024-01-02', to: '2024-01-02', sessions: 1 },
      { target: 'eq', symbol: 'AAPL', from: '2024-01-12', to: '2024-01-12', sessions: 1 },
      { target: 'eq', symbol: 'SPY', from: '2024-01-02', to: '2024-01-08', sessions: 5 },
      { target: 'eq', symbol: 'SPY', from: '2024-01-09', to: '2024-01-12', sessions: 4 },
    ]);
  });
});

describe('lastEndedSession', () => {
  test('the last session closed by now: not today before the 16:00 New York close, the Friday on a holiday Monday', () => {
    expect(lastEndedSession(xnys, new Date('2024-01-12T20:59:00Z'))).toBe('2024-01-11');
    expect(lastEndedSession(xnys, new Date('2024-01-12T21:00:00Z'))).toBe('2024-01-12');
    expect(lastEndedSession(xnys, new Date('2024-01-15T23:00:00Z'))).toBe('2024-01-12');
  });
});

describe('request limits', () => {
  test('bars a session holds: one a day, 390 regular minutes, 960 with extended hours, 7 hourly bars', () => {
    expect(barsPerSession(xnys, parseGranularity('1d'), false)).toBe(1);
    expect(barsPerSession(xnys, parseGranularity('1m'), false)).toBe(390);
    expect(barsPerSession(xnys, parseGranularity('1m'), true)).toBe(960);
    expect(barsPerSession(xnys, parseGranularity('1h'), false)).toBe(7);
    expect(barsPerSession(calendars['24/7'], parseGranularity('5m'), false)).toBe(288);
  });

  test('sessions a request answers: the smallest page over the bars of a session', () => {
    // Polygon 50,000, Alpaca 10,000, Finnhub 30,000 bars a page.
    expect(sessionsPerRequest([50_000, 10_000, 30_000], 1)).toBe(10_000);
    expect(sessionsPerRequest([50_000, 10_000, 30_000], 390)).toBe(25);
    expect(sessionsPerRequest([100], 390)).toBe(1);
  });
});
