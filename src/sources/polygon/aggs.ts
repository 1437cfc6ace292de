import { addDays } from '../../calendar/calendar.js';
import type { Granularity, GranularityUnit } from '../../core/granularity.js';
import { vendorScope } from '../landing.js';
import { polygonDates, polygonFetcher } from './polygon.js';

/**
 * Polygon aggregates: /v2/aggs/ticker/{T}/range/{n}/{span}/{from}/{to}, any multiple of second
 * to month bars, split under 50,000 bars a request, `adjusted` explicit (false unless the job
 * asks), one symbol a request.
 */
export const polygonAggs = polygonFetcher({
  endpoint: 'aggs',
  dataset: 'ohlcv',
  default: true,
  granularities: { s: 'any', m: 'any', h: 'any', d: 'any', w: 'any', mo: 'any' },
  pageSize: 50_000,
  historyYears: 20,
  unique: false,
  weight: 10,
  description: 'bars of one ticker, seconds to months (stocks, X: crypto, C: forex)',
  plan(request, now) {
    const { job } = request;
    const { to, today } = polygonDates(request, now);
    const scope = vendorScope('polygon', request);
    const query = { adjusted: Boolean(job.spec.source.adjusted), sort: 'asc', limit: 50_000 };
    return planAggregates(scope.symbols, scope.from.toISOString().slice(0, 10), to, job.granularity).map((r) => ({
      path: `/v2/aggs/ticker/${encodeURIComponent(r.ticker)}/range/${r.multiplier}/${r.timespan}/${r.from}/${r.to}`,
      query,
      closed: r.to < today,
      bars: { symbols: [r.ticker], from: r.from, to: r.to, adjusted: query.adjusted },
    }));
  },
});

const timespans: Record<GranularityUnit, string> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', mo: 'month' };
/** Bars one day can hold at most (extended hours, or 24 hours for crypto): Polygon returns at most 50,000 a request. */
const perDay: Record<GranularityUnit, number> = { s: 86_400, m: 1_440, h: 24, d: 1, w: 1, mo: 1 };

export interface AggregatesRequest {
  readonly ticker: string;
  readonly multiplier: number;
  readonly timespan: string;
  readonly from: string;
  readonly to: string;
}

/** Splits a window into requests that each stay under Polygon's 50,000 bars. Pure. */
export function planAggregates(symbols: readonly string[], from: string, to: string, g: Granularity): AggregatesRequest[] {
  const days = Math.max(1, Math.floor(50_000 / Math.ceil(perDay[g.unit] / g.count)));
  const out: AggregatesRequest[] = [];
  for (const ticker of symbols) {
    for (let start = from; start <= to; ) {
      const end = addDays(start, days - 1) < to ? addDays(start, days - 1) : to;
      out.push({ ticker, multiplier: g.count, timespan: timespans[g.unit], from: start, to: end });
      start = addDays(end, 1);
    }
  }
  return out;
}
