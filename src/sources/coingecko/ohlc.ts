import type { Granularity } from '../../core/granularity.js';
import { UsageError } from '../../core/errors.js';
import { VendorError } from '../../http/http-client.js';
import { singlePage, type Fetcher, type VendorRequest } from '../fetcher.js';
import { barsFindings } from '../landing.js';
import { coinRequests, daysBack, refuseError } from './coingecko.js';

/**
 * How CoinGecko's /coins/{id}/ohlc is asked for candles of one size. The size is not a
 * parameter: it follows from `days` (1-2 days: 30 minutes, 3-30 days: 4 hours, 31 days and
 * more: 4 days), except on paid plans, where interval=hourly (days 1-90) and interval=daily
 * (days 1-180) ask for it. `days` takes 1, 7, 14, 30, 90, 180, 365 or max, counted back from now.
 */
interface Ask {
  readonly ms: number;
  readonly days: readonly (number | 'max')[];
  readonly interval?: 'hourly' | 'daily';
}

const asks: Readonly<Record<string, Ask>> = {
  '30m': { ms: 1_800_000, days: [1] },
  '4h': { ms: 14_400_000, days: [7, 14, 30] },
  '4d': { ms: 345_600_000, days: [90, 180, 365, 'max'] },
  '1h': { ms: 3_600_000, days: [1, 7, 14, 30, 90], interval: 'hourly' },
  '1d': { ms: 86_400_000, days: [1, 7, 14, 30, 90, 180], interval: 'daily' },
};

/**
 * CoinGecko candles, GET /coins/{id}/ohlc?vs_currency&days (CoinGecko API documentation, "Coin
 * OHLC Chart by ID"): a list of [time (ms), open, high, low, close], numbers, no volume. The
 * time is the candle's CLOSE (the documentation says so, and the saved example's 30-minute
 * candles sit on the half hour): the transform labels it `end`, so a daily candle stamped
 * 2024-01-02T00:00Z is the day 2024-01-01. The answer reaches back `days` from now, not a
 * window: the plan asks the fewest days that give the job's candle size and cover its window,
 * and a page whose candles are spaced otherwise (days that give another size) is refused, never
 * stored as the wrong size. The newest candle may still be forming; a later run replaces it.
 */
export const coingeckoOhlc: Fetcher = {
  vendor: 'coingecko',
  endpoint: 'ohlc',
  dataset: 'ohlcv',
  default: true,
  granularities: { m: [30], h: [1, 4], d: [1, 4] },
  pageSize: 1000,
  // The public (demo) API serves the past 365 days; paid plans from 2013.
  historyYears: 1,
  unique: false,
  weight: 2,
  description: 'candles of one coin a request (id from source.coins), 30m/4h/4d by days back from now (1h/1d with a paid plan); close-time stamps, no volume',
  plan(request, now) {
    const ask = askFor(request.job.granularity);
    const back = daysBack(request.from!, now);
    // The fewest days that reach the window's start; the most the size allows when none does.
    const days = ask.days.find((d) => d === 'max' || d >= back) ?? ask.days[ask.days.length - 1]!;
    // What the answer holds: `days` back from now, whatever the window asked.
    const from = new Date(now.getTime() - (days === 'max' ? back : days) * 86_400_000).toISOString().slice(0, 10);
    const to = now.toISOString().slice(0, 10);
    return coinRequests(request).map(({ symbol, id, vs }): VendorRequest => ({
      path: `/coins/${encodeURIComponent(id)}/ohlc`,
      query: { vs_currency: vs, days, ...(ask.interval ? { interval: ask.interval } : {}) },
      // Counted back from now: never the same answer twice.
      closed: false,
      fields: { symbol },
      bars: { symbols: [symbol], from, to },
    }));
  },
  pages: singlePage,
  check(page, request) {
    const body = page.body;
    if (!Array.isArray(body) || body.some((c) => !Array.isArray(c) || c.length < 5)) refuseError(page, request, 'a list of [time, open, high, low, close] candles');
    const times = (body as unknown[][]).map((c) => Number(c[0]));
    const step = stepOf(request);
    const off = spacingMismatch([...times].sort((a, b) => a - b), step);
    if (off) {
      throw new VendorError(
        'bad_payload',
        `coingecko ${request.path} days=${String(request.query['days'])}: ${off}, not the ${step / 60_000}-minute candles asked for; refused rather than stored as another size (CoinGecko picks the size from days)`,
        'coingecko',
        request.path,
        page.status,
      );
    }
    // Close times: the window check sees the candles' starts.
    return barsFindings(request.bars!, { symbols: [], times: times.map((t) => t - step) });
  },
  read: (reader, pages) => reader.tuples(pages, { $: { t: 0, open: 1, high: 2, low: 3, close: 4 } }),
};

function askFor(g: Granularity): Ask {
  const ask = asks[g.text];
  if (!ask) throw new UsageError(`coingecko has no ${g.text} candles: /coins/{id}/ohlc gives 30m (1 day back), 4h (up to 30 days) and 4d (more), and 1h or 1d with a paid plan`);
  return ask;
}

/** The candle length a request's days (or interval) give. */
function stepOf(request: VendorRequest): number {
  const interval = request.query['interval'];
  if (interval === 'hourly') return asks['1h']!.ms;
  if (interval === 'daily') return asks['1d']!.ms;
  const days = request.query['days'];
  const n = days === 'max' ? Infinity : Number(days);
  return n <= 2 ? asks['30m']!.ms : n <= 30 ? asks['4h']!.ms : asks['4d']!.ms;
}

/**
 * Why candle times are not candles of `step`, or null when they are: consecutive times must
 * differ by the step or, across a hole, a whole multiple of it (a missing candle is a gap for
 * the audit, not another size), and the closest two by the step itself.
 */
export function spacingMismatch(times: readonly number[], step: number): string | null {
  let closest = Infinity;
  for (let i = 1; i < times.length; i++) {
    const d = times[i]! - times[i - 1]!;
    if (d <= 0 || d % step !== 0) {
      return `candles ${new Date(times[i - 1]!).toISOString()} and ${new Date(times[i]!).toISOString()} are ${d / 60_000} minutes apart`;
    }
    closest = Math.min(closest, d);
  }
  // 4-hour candles are whole multiples of 30 minutes: the closest two must be one step apart.
  if (closest !== Infinity && closest !== step) return `the closest candles are ${closest / 60_000} minutes apart`;
  return null;
}
