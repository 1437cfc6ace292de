import type { Fetcher } from '../fetcher.js';
import { singlePage } from '../fetcher.js';
import { vendorScope } from '../landing.js';
import { finnhubDates, refuseError } from './finnhub.js';

/**
 * Finnhub stock splits, /stock/split?symbol&from&to (Finnhub's API documentation, "Stock
 * Splits"): dates YYYY-MM-DD, inclusive; the answer is a list of {symbol, date, fromFactor,
 * toFactor}, date being the split's ex-date, and an empty list where there was none. A
 * 4-for-1 split is fromFactor 1, toFactor 4. One symbol a request.
 */
export const finnhubSplits: Fetcher = {
  vendor: 'finnhub',
  endpoint: 'splits',
  dataset: 'corporate_actions',
  default: true,
  granularities: null,
  pageSize: 1000,
  historyYears: 30,
  unique: false,
  weight: 6,
  description: 'stock splits of one symbol a request, by ex-date',
  plan(request, now) {
    const { symbols } = vendorScope('finnhub', request);
    const { from, last, today } = finnhubDates(request, now);
    return symbols.map((symbol) => ({ path: '/stock/split', query: { symbol, from, to: last }, closed: last < today }));
  },
  pages: singlePage,
  check(page, request) {
    if (!Array.isArray(page.body)) refuseError(page, request, 'a list of splits');
    return [];
  },
  read: (reader, pages) => reader.json(pages, { format: 'json', records: '$' }),
};
