import { lastDay } from '../../core/time-window.js';
import { askedUntil } from '../landing.js';
import { alpacaFetcher, inHundreds } from './alpaca.js';

/**
 * Alpaca /v1/corporate-actions: splits and cash and stock dividends, for the job's symbols or
 * the whole market, by process date.
 */
export const alpacaCorporateActions = alpacaFetcher({
  endpoint: 'corporate_actions',
  dataset: 'corporate_actions',
  default: true,
  granularities: null,
  pageSize: 1000,
  historyYears: null,
  unique: false,
  weight: 8,
  description: 'splits, cash and stock dividends by process date',
  plan(request, now) {
    // Dates are process dates, inclusive; Alpaca's default for both is today.
    const day = (d: Date) => d.toISOString().slice(0, 10);
    const last = lastDay(askedUntil(request, now));
    const groups: (readonly string[] | null)[] = request.symbols?.length ? inHundreds(request.symbols) : [null];
    return groups.map((named) => ({
      path: '/v1/corporate-actions',
      query: {
        ...(named ? { symbols: named.join(',') } : {}),
        types: 'forward_split,reverse_split,cash_dividend,stock_dividend',
        start: day(request.from ?? new Date('1970-01-01')),
        end: last,
        limit: 1000,
        sort: 'asc',
      },
      closed: last < day(now),
    }));
  },
  check: () => [],
  read: (reader, pages) => reader.json(pages, { format: 'json', records: 'corporate_actions.*' }),
});
