import { calendars } from '../../calendar/registry.js';
import { UsageError } from '../../core/errors.js';
import { polygonDates, polygonFetcher } from './polygon.js';

/** Polygon grouped daily: /v2/aggs/grouped/locale/us/market/stocks/{date}, every US stock's daily bar, one request per XNYS session. */
export const polygonGrouped = polygonFetcher({
  endpoint: 'grouped',
  dataset: 'ohlcv',
  default: false,
  granularities: { d: [1] },
  pageSize: 50_000,
  historyYears: 20,
  unique: false,
  weight: 10,
  description: "every US stock's daily bar, one request per XNYS session",
  plan(request, now) {
    const { job } = request;
    const { from, to, today } = polygonDates(request, now);
    if (!from) throw new UsageError(`${job.name}: the grouped endpoint asks one page per session: set window.from in the job, or pass --from`);
    const adjusted = Boolean(job.spec.source.adjusted);
    // Every US stock, one session a request: only sessions that have closed by now.
    return calendars.XNYS.sessions(from, to)
      .filter((s) => s.close <= now)
      .map((s) => ({
        path: `/v2/aggs/grouped/locale/us/market/stocks/${s.date}`,
        query: { adjusted, include_otc: false },
        closed: s.date < today,
        bars: { symbols: [], from: s.date, to: s.date, adjusted },
      }));
  },
});
