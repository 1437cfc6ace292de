import { addDays } from '../../calendar/calendar.js';
import type { Granularity } from '../../core/granularity.js';
import { UsageError } from '../../core/errors.js';
import { zonedTimeToUtc } from '../../core/zone.js';
import { singlePage, type Fetcher } from '../fetcher.js';
import { barsFindings, vendorScope } from '../landing.js';
import { finnhubDates, refuseError } from './finnhub.js';

/**
 * Finnhub stock candles, /stock/candle?symbol&resolution&from&to (Finnhub's API documentation,
 * "Stock Candles"): resolution 1, 5, 15, 30, 60 (minutes), D, W or M; from and to in UNIX
 * seconds, both inclusive. The answer is columnar: parallel arrays o, h, l, c, v and t (the bar
 * start in UNIX seconds; a daily bar at 00:00 UTC of its session date), and s, "ok" or
 * "no_data". "no_data" (a window with no trading, a symbol Finnhub does not know) is an empty
 * answer, not an error. The answer names no symbol: the request's is added to every record.
 */
export const finnhubCandles: Fetcher = {
  vendor: 'finnhub',
  endpoint: 'candles',
  dataset: 'ohlcv',
  default: true,
  granularities: { m: [1, 5, 15, 30, 60], h: [1], d: [1], w: [1], mo: [1] },
  // One answer per request; the windows below keep each under about 30,000 candles.
  pageSize: 30_000,
  historyYears: 30,
  unique: false,
  weight: 6,
  description: 'stock candles of one symbol a request, 1-60 minutes to months (columnar arrays)',
  plan(request, now) {
    const { job } = request;
    const { symbols } = vendorScope('finnhub', request);
    const resolution = finnhubResolution(job.granularity);
    const { from, last, today } = finnhubDates(request, now);
    const intraday = job.granularity.unit === 'm' || job.granularity.unit === 'h';
    // Intraday: a month a request (a 1-minute month of extended hours is ~20,000 candles); daily and longer: 20 years.
    const days = intraday ? 30 : 7305;
    // Days as US stocks trade them: intraday from New York midnight (the post-market runs past
    // midnight UTC); daily candles are stamped 00:00 UTC of their date.
    const zone = intraday ? 'America/New_York' : 'UTC';
    const at = (day: string) => zonedTimeToUtc(day, '00:00', zone).getTime() / 1000;
    return symbols.flatMap((symbol) => {
      const out = [];
      for (let start = from; start <= last; start = addDays(start, days)) {
        const end = addDays(start, days - 1) < last ? addDays(start, days - 1) : last;
        out.push({
          path: '/stock/candle',
          query: { symbol, resolution, from: at(start), to: at(addDays(end, 1)) - 1 },
          closed: end < today,
          fields: { symbol },
          bars: { symbols: [symbol], from: start, to: end },
        });
      }
      return out;
    });
  },
  pages: singlePage,
  check(page, request) {
    const body = page.body as { s?: unknown; t?: unknown } | null;
    if (!body || typeof body !== 'object' || Array.isArray(body) || (body.s !== 'ok' && body.s !== 'no_data')) refuseError(page, request, 'a candles answer (s is neither "ok" nor "no_data")');
    const times = Array.isArray(body.t) ? body.t.map((t) => Number(t) * 1000) : [];
    return barsFindings(request.bars!, { symbols: [], times });
  },
  read: (reader, pages) => reader.arrays(pages),
};

const resolutions: Readonly<Record<string, string>> = { '1m': '1', '5m': '5', '15m': '15', '30m': '30', '60m': '60', '1h': '60', '1d': 'D', '1w': 'W', '1mo': 'M' };

/** 5m -> 5, 1h -> 60, 1d -> D. */
export function finnhubResolution(g: Granularity): string {
  const r = resolutions[g.text];
  if (!r) throw new UsageError(`finnhub has no ${g.text} candles (1m, 5m, 15m, 30m, 1h, 1d, 1w, 1mo)`);
  return r;
}
