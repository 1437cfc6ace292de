import { UsageError } from '../../core/errors.js';
import type { JsonResponse } from '../../http/http-client.js';
import type { Fetcher } from '../fetcher.js';
import { alphavantageDates, refuseAnswer } from './alphavantage.js';

/**
 * LISTING_STATUS (https://www.alphavantage.co/documentation/#listing-status): the US listing as
 * of a date (2010-01-02 or later; without one, the latest trading day), active or delisted
 * names (state=active|delisted), one CSV each, not JSON:
 * symbol,name,exchange,assetType,ipoDate,delistingDate,status, an empty delisting date being
 * the text `null`. The CSV names no date: the request's is the records' as-of. A refusal (an
 * error, the rate limit) comes back as JSON.
 */
export const alphavantageListing: Fetcher = {
  vendor: 'alphavantage',
  endpoint: 'listing_status',
  dataset: 'tickers',
  default: true,
  granularities: null,
  pageSize: 20_000,
  historyYears: null,
  // Delisted names with their delisting dates, as of a date: Polygon's tickers are the other such source.
  unique: true,
  weight: 5,
  description: 'the US listing as of a date, active and delisted names with IPO and delisting dates (CSV)',
  plan(request, now) {
    const { last, today } = alphavantageDates(request, now);
    if (last < '2010-01-02') throw new UsageError(`${request.job.name}: Alpha Vantage's listing reaches back to 2010-01-02, not ${last}: end the window later`);
    return (['active', 'delisted'] as const).map((state) => ({
      path: '/query',
      query: { function: 'LISTING_STATUS', date: last, state },
      closed: last < today,
      fields: { as_of: last },
    }));
  },
  async *pages(http, request) {
    yield await http.getText(request.path, request.query);
  },
  check(page: JsonResponse, request) {
    if (typeof page.body !== 'string') refuseAnswer(page, request, 'symbol');
    else if (!/^symbol,name,exchange,assetType,ipoDate,delistingDate,status\r?\n/.test(page.text) && page.text.trim() !== '') {
      refuseAnswer({ ...page, body: { 'Error Message': `not a listing CSV (it begins ${JSON.stringify(page.text.slice(0, 60))})` } }, request, 'symbol');
    }
    return [];
  },
  read: (reader, pages) => reader.csv(pages, { format: 'csv', header: true }),
};
