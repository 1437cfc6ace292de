import { UsageError } from '../../core/errors.js';
import type { Granularity, GranularityUnit } from '../../core/granularity.js';
import { lastDay } from '../../core/time-window.js';
import { askedUntil, barsFindings, vendorScope } from '../landing.js';
import { alpacaFetcher, inHundreds } from './alpaca.js';

/**
 * Alpaca /v2/stocks/bars: many symbols a request, pages followed by next_page_token.
 * `adjustment` (raw unless the job says) and `feed` (sip unless the job says) are always sent,
 * so what is stored never depends on Alpaca's defaults.
 */
export const alpacaBars = alpacaFetcher({
  endpoint: 'bars',
  dataset: 'ohlcv',
  default: true,
  granularities: { m: 'any', h: 'any', d: 'any', w: 'any', mo: 'any' },
  pageSize: 10_000,
  historyYears: 10,
  unique: false,
  weight: 8,
  description: 'US stock bars, many symbols a request, minutes to months',
  plan(request, now) {
    const { job } = request;
    const end = askedUntil(request, now);
    const { from, symbols } = vendorScope('alpaca', request);
    const timeframe = alpacaTimeframe(job.granularity);
    return inHundreds(symbols).map((named) => {
      const query = {
        symbols: named.join(','),
        timeframe,
        start: from.toISOString(),
        end: end.toISOString(),
        adjustment: job.spec.source.adjustment ?? 'raw',
        feed: job.spec.source.feed ?? 'sip',
        limit: 10_000,
        sort: 'asc',
      };
      return { path: '/v2/stocks/bars', query, closed: end < now, bars: { symbols: named, from: query.start.slice(0, 10), to: lastDay(end) } };
    });
  },
  check(page, request) {
    const keyed = ((page.body as { bars?: unknown } | null)?.bars ?? {}) as Record<string, readonly { t?: unknown }[] | { t?: unknown }>;
    const bars = Object.values(keyed).flatMap((l) => (Array.isArray(l) ? l : [l]));
    return barsFindings(request.bars!, { symbols: Object.keys(keyed), times: bars.map((b) => Date.parse(String(b.t))) });
  },
  read: (reader, pages) => reader.json(pages, { format: 'json', records: 'bars.*' }),
});

const units: Record<GranularityUnit, string | null> = { s: null, m: 'Min', h: 'Hour', d: 'Day', w: 'Week', mo: 'Month' };

/** 5m -> 5Min, 1d -> 1Day. Alpaca has no second bars. */
export function alpacaTimeframe(g: Granularity): string {
  const unit = units[g.unit];
  if (!unit) throw new UsageError(`alpaca has no ${g.text} bars (minutes, hours, days, weeks, months)`);
  return `${g.count}${unit}`;
}
