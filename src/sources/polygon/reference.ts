import type { VendorRequest } from '../fetcher.js';
import type { ExtractRequest } from '../source.js';
import { polygonDates, polygonFetcher } from './polygon.js';

/** The job's symbols, or one request for the whole market. */
const each = (request: ExtractRequest): readonly (string | null)[] => (request.symbols?.length ? request.symbols : [null]);
const ticker = (t: string | null): Record<string, string> => (t === null ? {} : { ticker: t });

/** Splits or dividends into corporate_actions, per symbol or the whole market, by execution or ex-dividend date. */
function actions(endpoint: 'splits' | 'dividends', field: string, description: string) {
  return polygonFetcher({
    endpoint,
    dataset: 'corporate_actions',
    default: false,
    granularities: null,
    pageSize: 1000,
    historyYears: null,
    unique: false,
    weight: 10,
    description,
    plan(request: ExtractRequest, now: Date): VendorRequest[] {
      const { from, last, today } = polygonDates(request, now);
      // Dividends are declared ahead of their ex-date: a window that has not ended yet is asked again.
      const dates = { ...(from ? { [`${field}.gte`]: from } : {}), ...(last ? { [`${field}.lte`]: last } : {}) };
      return each(request).map((t) => ({
        path: `/v3/reference/${endpoint}`,
        query: { ...ticker(t), ...dates, order: 'asc', sort: field, limit: 1000 },
        closed: last !== null && last < today,
      }));
    },
  });
}

/** /v3/reference/splits. */
export const polygonSplits = actions('splits', 'execution_date', 'stock splits by execution date');
/** /v3/reference/dividends. */
export const polygonDividends = actions('dividends', 'ex_dividend_date', 'cash dividends by ex-dividend date');

/** /v3/reference/tickers as of the window's last day (today by default), active and delisted names. */
export const polygonTickers = polygonFetcher({
  endpoint: 'tickers',
  dataset: 'tickers',
  default: true,
  granularities: null,
  pageSize: 1000,
  historyYears: null,
  // The only source here with delisted names and FIGIs.
  unique: true,
  weight: 10,
  description: 'the listing as of a date, active and delisted names, with FIGIs',
  plan(request, now) {
    const { to, today } = polygonDates(request, now);
    return each(request).flatMap((t) =>
      [true, false].map((active) => ({
        path: '/v3/reference/tickers',
        query: { ...ticker(t), date: to, active, order: 'asc', sort: 'ticker', limit: 1000 },
        closed: to < today,
      })),
    );
  },
});
