import { addDays } from '../../calendar/calendar.js';
import type { Granularity } from '../../core/granularity.js';
import { UsageError } from '../../core/errors.js';
import { lastDay } from '../../core/time-window.js';
import { VendorError, type HttpClient, type JsonResponse } from '../../http/http-client.js';
import type { Fetcher, VendorRequest } from '../fetcher.js';
import { askedUntil, barsFindings, vendorScope } from '../landing.js';

/** Binance's largest page. */
const pageLimit = 1000;

/**
 * Binance spot klines, GET /api/v3/klines?symbol&interval&startTime&endTime&limit (Binance Spot
 * API documentation, "Kline/Candlestick data"): a list of 12-element arrays, [open time (ms),
 * open, high, low, close, volume (base asset), close time (ms, open + interval - 1), quote asset
 * volume, number of trades, taker buy base volume, taker buy quote volume, ignore], prices and
 * volumes as strings, oldest first. At most 1000 klines an answer (limit=1000): the next page
 * starts 1 ms after the last open time. Every interval starts on the UTC grid, a day at 00:00
 * UTC, a month on the 1st. Weight 2 a request. An unknown symbol is HTTP 400 with
 * {"code": -1121, "msg": "Invalid symbol."}, terminal with its message (http-client.ts).
 */
export const binanceKlines: Fetcher = {
  vendor: 'binance',
  endpoint: 'klines',
  dataset: 'ohlcv',
  default: true,
  granularities: { s: [1], m: [1, 3, 5, 15, 30], h: [1, 2, 4, 6, 8, 12], d: [1, 3], w: [1], mo: [1] },
  pageSize: pageLimit,
  // Spot trading opened in July 2017.
  historyYears: 10,
  unique: false,
  weight: 5,
  description: 'spot klines of one pair a request, 1s to 1M, 1000 a page by startTime (open time, UTC grid)',
  plan(request, now) {
    const { job } = request;
    const { symbols } = vendorScope('binance', request);
    const interval = binanceInterval(job.granularity);
    const today = now.toISOString().slice(0, 10);
    const end = askedUntil(request, now);
    const from = request.from!.toISOString().slice(0, 10);
    const last = lastDay(end) < today ? lastDay(end) : today;
    // A month a request for bars under a day (a 1m month is 44 pages), a year for days and
    // longer: a closed chunk is not asked again, and today's chunk is small.
    const intraday = job.granularity.unit === 's' || job.granularity.unit === 'm' || job.granularity.unit === 'h';
    return symbols.flatMap((symbol) => {
      const out: VendorRequest[] = [];
      for (let start = from; start <= last; start = intraday ? addDays(monthEnd(start), 1) : `${Number(start.slice(0, 4)) + 1}-01-01`) {
        const chunkEnd = intraday ? monthEnd(start) : `${start.slice(0, 4)}-12-31`;
        const stop = chunkEnd < last ? chunkEnd : last;
        out.push({
          path: '/api/v3/klines',
          query: { symbol, interval, startTime: Date.parse(`${start}T00:00:00Z`), endTime: Date.parse(`${addDays(stop, 1)}T00:00:00Z`) - 1, limit: pageLimit },
          closed: stop < today,
          fields: { symbol },
          bars: { symbols: [symbol], from: start, to: stop },
        });
      }
      return out;
    });
  },
  pages: klinePages,
  check(page, request) {
    if (!Array.isArray(page.body) || page.body.some((k) => !Array.isArray(k) || k.length < 9)) refuse(page, request);
    return barsFindings(request.bars!, { symbols: [], times: (page.body as unknown[][]).map((k) => Number(k[0])) });
  },
  read: (reader, pages) =>
    reader.tuples(pages, {
      $: { open_time: 0, open: 1, high: 2, low: 3, close: 4, volume: 5, close_time: 6, quote_volume: 7, trades: 8, taker_buy_base: 9, taker_buy_quote: 10 },
    }),
};

/**
 * Pages by startTime: a full page is followed by one starting 1 ms after its last open time,
 * until a short page or the window's end. A page that does not move forward is an error.
 */
async function* klinePages(http: HttpClient, request: VendorRequest): AsyncGenerator<JsonResponse> {
  const endTime = Number(request.query['endTime']);
  let startTime = Number(request.query['startTime']);
  for (;;) {
    const page = await http.getJson(request.path, { ...request.query, startTime });
    yield page;
    const klines = Array.isArray(page.body) ? (page.body as unknown[][]) : [];
    if (klines.length < pageLimit) return;
    const lastOpen = Number(klines[klines.length - 1]?.[0]);
    if (!(lastOpen >= startTime)) {
      throw new VendorError('page_loop', `binance ${request.path}: a full page whose last kline (${String(klines[klines.length - 1]?.[0])}) is not after its startTime ${startTime}; stopping instead of looping`, 'binance', request.path, page.status);
    }
    startTime = lastOpen + 1;
    if (startTime > endTime) return;
  }
}

function refuse(page: JsonResponse, request: VendorRequest): never {
  const body = page.body as { code?: unknown; msg?: unknown } | null;
  const said = body && typeof body === 'object' && typeof body.msg === 'string' ? `${body.msg} (code ${String(body.code)})` : 'not a list of klines';
  throw new VendorError('bad_payload', `binance ${request.path} ${String(request.query['symbol'])}: ${said}`, 'binance', request.path, page.status);
}

/** The last day of a date's month. */
function monthEnd(date: string): string {
  const d = new Date(`${date.slice(0, 7)}-01T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + 1);
  return addDays(d.toISOString().slice(0, 10), -1);
}

/** 1m -> 1m, 1h -> 1h, 1d -> 1d, 1w -> 1w, 1mo -> 1M: Binance's interval names. */
export function binanceInterval(g: Granularity): string {
  const unit = g.unit === 'mo' ? 'M' : g.unit;
  const served = binanceKlines.granularities?.[g.unit];
  if (!served || served === 'any' || !served.includes(g.count)) throw new UsageError(`binance has no ${g.text} klines (1s, 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d, 1w, 1mo)`);
  return `${g.count}${unit}`;
}
