import { addDays } from '../../calendar/calendar.js';
import type { Granularity } from '../../core/granularity.js';
import { UsageError } from '../../core/errors.js';
import type { ExtractRequest } from '../source.js';
import { singlePage, type Fetcher, type VendorRequest } from '../fetcher.js';
import { barsFindings, vendorScope } from '../landing.js';
import { alphavantageDates, refuseAnswer } from './alphavantage.js';

/**
 * Alpha Vantage's time series (https://www.alphavantage.co/documentation/), one symbol a
 * request. Each answer is {"Meta Data": {...}, "<series>": {"<time>": {"1. open": "...", ...}}}:
 * an object keyed by the bar's date (or local date-time), newest first, every value a string.
 * The series' name depends on the function (and the interval): it is the records path here.
 * Times are US/Eastern (the Meta Data says so); the transforms turn them to UTC.
 */
const compactSessions = 100;

/** TIME_SERIES_DAILY, _WEEKLY and _INTRADAY, by the job's bar size: raw (unadjusted) prices. */
export const alphavantageTimeSeries: Fetcher = {
  vendor: 'alphavantage',
  endpoint: 'time_series',
  dataset: 'ohlcv',
  default: true,
  granularities: { m: [1, 5, 15, 30, 60], h: [1], d: [1], w: [1] },
  // A month of 1-minute bars with extended hours (04:00-20:00 New York) is ~20,000.
  pageSize: 20_000,
  historyYears: 20,
  unique: false,
  weight: 2,
  description: 'stock bars of one symbol a request: daily and weekly history whole, intraday (1-60 minutes) a month a request',
  plan(request, now) {
    const { job } = request;
    const { symbols } = vendorScope('alphavantage', request);
    const { from, last, today } = alphavantageDates(request, now);
    const g = job.granularity;
    if (g.unit === 'd' || g.unit === 'w') {
      const fn = g.unit === 'd' ? 'TIME_SERIES_DAILY' : 'TIME_SERIES_WEEKLY';
      return symbols.map((symbol) => wholeSeries(fn, symbol, from, last, today, g.unit === 'd'));
    }
    const interval = intervalOf(g);
    return symbols.flatMap((symbol) =>
      monthsOf(from, last).map((month) => {
        const end = monthEnd(month) < last ? monthEnd(month) : last;
        return {
          path: '/query',
          // adjusted=false: intraday bars come split and dividend adjusted unless asked otherwise.
          query: { function: 'TIME_SERIES_INTRADAY', symbol, interval, month, outputsize: 'full', adjusted: 'false', extended_hours: 'true' },
          closed: monthEnd(month) < today,
          fields: { symbol },
          bars: { symbols: [symbol], from: `${month}-01` > from ? `${month}-01` : from, to: end },
        };
      }),
    );
  },
  pages: singlePage,
  check: (page, request) => checkSeries(page, request),
  read: (reader, pages, request) => reader.json(pages, { format: 'json', records: `${seriesName(request)}.*` }),
};

/**
 * TIME_SERIES_DAILY_ADJUSTED: the same raw daily bars, with the adjusted close, the dividend
 * (by ex-date) and the split coefficient beside them, and volume as field 6.
 */
export const alphavantageDailyAdjusted: Fetcher = {
  ...alphavantageTimeSeries,
  endpoint: 'daily_adjusted',
  default: false,
  granularities: { d: [1] },
  description: 'daily stock bars of one symbol a request, with the adjusted close, dividends and split coefficients',
  plan(request, now) {
    const { symbols } = vendorScope('alphavantage', request);
    const { from, last, today } = alphavantageDates(request, now);
    return symbols.map((symbol) => wholeSeries('TIME_SERIES_DAILY_ADJUSTED', symbol, from, last, today, true));
  },
  read: (reader, pages) => reader.json(pages, { format: 'json', records: 'Time Series (Daily).*' }),
};

/**
 * DIGITAL_CURRENCY_DAILY: a coin's days in a market currency (symbol=BTC&market=EUR), the
 * whole history, days in UTC. A job names the pair as BTC/EUR (BTC alone is BTC/USD).
 */
export const alphavantageCryptoDaily: Fetcher = {
  ...alphavantageTimeSeries,
  endpoint: 'crypto_daily',
  default: false,
  granularities: { d: [1] },
  weight: 1,
  description: 'daily crypto bars of one coin in one market currency a request (BTC/EUR), whole history',
  plan(request, now) {
    const { symbols } = vendorScope('alphavantage', request);
    const { from, last, today } = alphavantageDates(request, now);
    return symbols.map((pair) => {
      const [coin, market = 'USD'] = pair.split('/');
      const symbol = `${coin}/${market}`;
      return {
        path: '/query',
        query: { function: 'DIGITAL_CURRENCY_DAILY', symbol: coin!, market },
        closed: last < today,
        covers: last,
        fields: { symbol },
        bars: { symbols: [symbol], from, to: last },
      };
    });
  },
  check(page, request) {
    refuseAnswer(page, request, 'Time Series (Digital Currency Daily)');
    return [];
  },
  read: (reader, pages) => reader.json(pages, { format: 'json', records: 'Time Series (Digital Currency Daily).*' }),
};

/**
 * A daily or weekly series: the vendor answers its history up to now, whatever the window, so
 * the landing names the request with the last day it must cover (a later window asks again).
 * Daily: the last 100 sessions (compact) where they reach back to the window's start, else the
 * whole history (full; a paid plan's parameter on today's free plan).
 */
function wholeSeries(fn: string, symbol: string, from: string, last: string, today: string, daily: boolean): VendorRequest {
  // 100 sessions are at least 140 calendar days back from today.
  const compact = daily && from >= addDays(today, -Math.floor((compactSessions * 7) / 5) + 1);
  return {
    path: '/query',
    query: { function: fn, symbol, ...(daily ? { outputsize: compact ? 'compact' : 'full' } : {}) },
    closed: last < today,
    covers: last,
    fields: { symbol },
    bars: { symbols: [symbol], from, to: last },
  };
}

function checkSeries(page: Parameters<Fetcher['check']>[0], request: VendorRequest) {
  const name = seriesName({ query: request.query });
  refuseAnswer(page, request, name);
  // The answer holds the symbol's history, not the window: only another symbol is a finding.
  const meta = (page.body as { 'Meta Data'?: Record<string, unknown> })['Meta Data'];
  const said = meta?.['2. Symbol'];
  const symbols = typeof said === 'string' && said.toUpperCase() !== String(request.query['symbol']).toUpperCase() ? [said] : [];
  return barsFindings({ ...request.bars!, symbols: [String(request.query['symbol'])] }, { symbols, times: [] });
}

/** The answer's series object, by function (and interval): "Time Series (Daily)", "Weekly Time Series", "Time Series (5min)". */
function seriesName(request: Pick<VendorRequest, 'query'> | ExtractRequest): string {
  if ('job' in request) {
    const g = request.job.granularity;
    return g.unit === 'd' ? 'Time Series (Daily)' : g.unit === 'w' ? 'Weekly Time Series' : `Time Series (${intervalOf(g)})`;
  }
  const q = request.query;
  if (q['function'] === 'TIME_SERIES_WEEKLY') return 'Weekly Time Series';
  if (q['function'] === 'TIME_SERIES_INTRADAY') return `Time Series (${String(q['interval'])})`;
  return 'Time Series (Daily)';
}

const intervals: Readonly<Record<string, string>> = { '1m': '1min', '5m': '5min', '15m': '15min', '30m': '30min', '60m': '60min', '1h': '60min' };

/** 5m -> 5min, 1h -> 60min. */
function intervalOf(g: Granularity): string {
  const i = intervals[g.text];
  if (!i) throw new UsageError(`alphavantage has no ${g.text} intraday bars (1m, 5m, 15m, 30m, 1h)`);
  return i;
}

/** YYYY-MM of every month from one day to another. */
function monthsOf(from: string, to: string): string[] {
  const out: string[] = [];
  for (let m = from.slice(0, 7); m <= to.slice(0, 7); ) {
    out.push(m);
    const [y, mo] = m.split('-').map(Number) as [number, number];
    m = mo === 12 ? `${y + 1}-01` : `${y}-${String(mo + 1).padStart(2, '0')}`;
  }
  return out;
}

function monthEnd(month: string): string {
  const [y, mo] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, mo, 0)).toISOString().slice(0, 10);
}
