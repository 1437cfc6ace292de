import { addDays } from '../../calendar/calendar.js';
import { UsageError } from '../../core/errors.js';
import { lastDay } from '../../core/time-window.js';
import { VendorError } from '../../http/http-client.js';
import { singlePage, type Fetcher, type VendorRequest } from '../fetcher.js';
import { askedUntil, barsFindings } from '../landing.js';
import { coinRequests, refuseError } from './coingecko.js';

const hour = 3_600_000;
const day = 86_400_000;

/**
 * CoinGecko market data, GET /coins/{id}/market_chart/range?vs_currency&from&to (CoinGecko API
 * documentation, "Coin Historical Chart Data within Time Range by ID"): {"prices",
 * "market_caps", "total_volumes"}, each a list of [time (ms), value] on the same times. The
 * sampling follows from the range: 1 day up to now gives 5-minute samples, 2-90 days hourly ones
 * (at no fixed minute), more than 90 days daily ones at 00:00 UTC; the last sample of a range
 * that reaches now is "now". A job declares 1h or 1d; the plan cuts its window into ranges that
 * give that sampling (at least 2 days for hourly, more than 90 for daily: a shorter window is
 * asked with an earlier start, and the rows outside it are not kept), and a page sampled
 * otherwise is refused. total_volume is the 24-hour rolling volume at the sample, not a bar's.
 */
export const coingeckoMarketChart: Fetcher = {
  vendor: 'coingecko',
  endpoint: 'market_chart',
  dataset: 'crypto_market',
  default: true,
  granularities: { h: [1], d: [1] },
  pageSize: 2200,
  historyYears: 1,
  unique: false,
  weight: 2,
  description: 'price, market cap and 24h volume samples of one coin a request (id from source.coins), hourly (ranges of 2-90 days) or daily (over 90 days)',
  plan(request, now) {
    const { job } = request;
    const g = job.granularity.text;
    if (g !== '1h' && g !== '1d') throw new UsageError(`coingecko market_chart samples hourly (1h) or daily (1d), not ${g}: the job declares one, and the ranges asked give it`);
    const daily = g === '1d';
    const today = now.toISOString().slice(0, 10);
    const end = askedUntil(request, now);
    const from = request.from!.toISOString().slice(0, 10);
    const last = lastDay(end) < today ? lastDay(end) : today;
    // Hourly: 90 days a range at most; daily: a year (any range over 90 days is daily).
    const span = daily ? 365 : 90;
    const least = daily ? 91 : 2;
    const out: VendorRequest[] = [];
    for (const { symbol, id, vs } of coinRequests(request)) {
      for (let start = from; start <= last; start = addDays(start, span)) {
        const stop = addDays(start, span - 1) < last ? addDays(start, span - 1) : last;
        const to = Math.min(Date.parse(`${addDays(stop, 1)}T00:00:00Z`), now.getTime());
        const asked = Math.min(Date.parse(`${start}T00:00:00Z`), to - least * day);
        out.push({
          path: `/coins/${encodeURIComponent(id)}/market_chart/range`,
          query: { vs_currency: vs, from: Math.floor(asked / 1000), to: Math.floor(to / 1000) },
          closed: stop < today,
          fields: { symbol },
          bars: { symbols: [symbol], from: new Date(asked).toISOString().slice(0, 10), to: stop },
        });
      }
    }
    return out;
  },
  pages: singlePage,
  check(page, request) {
    const body = page.body as { prices?: unknown; market_caps?: unknown; total_volumes?: unknown } | null;
    const lists = [body?.prices, body?.market_caps, body?.total_volumes];
    if (!body || typeof body !== 'object' || !lists.every((l) => Array.isArray(l) && l.every((p) => Array.isArray(p) && p.length >= 2))) {
      refuseError(page, request, 'a market chart ({prices, market_caps, total_volumes} of [time, value] pairs)');
    }
    const [prices, caps, volumes] = lists as unknown[][][];
    const times = prices!.map((p) => Number(p[0]));
    const fail = (why: string): never => {
      throw new VendorError('bad_payload', `coingecko ${request.path} from=${String(request.query['from'])} to=${String(request.query['to'])}: ${why}`, 'coingecko', request.path, page.status);
    };
    // The three lists are read side by side: a price is never paired with another time's market cap.
    if (caps!.length !== times.length || volumes!.length !== times.length || caps!.some((c, i) => Number(c[0]) !== times[i]) || volumes!.some((v, i) => Number(v[0]) !== times[i])) {
      fail('prices, market_caps and total_volumes are not on the same times; refused rather than paired wrongly');
    }
    const step = sampling(times);
    const span = Number(request.query['to']) - Number(request.query['from']);
    const want = span > 90 * 86_400 ? day : hour;
    // Hourly samples fall at no fixed minute: half a step either way is the same sampling.
    if (step !== null && Math.abs(step - want) > want / 2) {
      fail(`samples ${Math.round(step / 60_000)} minutes apart, not the ${want === day ? 'daily' : 'hourly'} ones the range asks for; refused rather than stored as another sampling`);
    }
    return barsFindings(request.bars!, { symbols: [], times });
  },
  read: (reader, pages) => reader.tuples(pages, { prices: { t: 0, price: 1 }, market_caps: { market_cap: 1 }, total_volumes: { total_volume: 1 } }),
};

/** The median spacing of sample times, the last ("now") left out; null for fewer than three. */
function sampling(times: readonly number[]): number | null {
  const t = times.slice(0, -1);
  if (t.length < 2) return null;
  const d = t.slice(1).map((x, i) => x - t[i]!).sort((a, b) => a - b);
  return d[Math.floor(d.length / 2)]!;
}
