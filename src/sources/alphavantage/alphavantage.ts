import { lastDay } from '../../core/time-window.js';
import { BudgetExhaustedError, VendorError, type JsonResponse } from '../../http/http-client.js';
import type { VendorRequest } from '../fetcher.js';
import { askedUntil } from '../landing.js';
import type { ExtractRequest } from '../source.js';

/**
 * What Alpha Vantage's functions share (https://www.alphavantage.co/documentation/): one path,
 * /query, the function and its arguments in the query string, and the key too (apikey, added by
 * the HTTP client as it sends, never part of a landed request's name). Every answer is HTTP
 * 200, its errors included:
 * - {"Error Message": "..."}: a bad call (an unknown symbol, a wrong interval). Terminal.
 * - {"Note": "..."} or {"Information": "..."} and no data: the plan's limit is reached (25
 *   requests a day on the free plan; older answers named 5 a minute). That is a spent budget,
 *   never an empty answer: the run stops with exit 3 and the next one resumes, asking again
 *   only for what it has not landed. An Information that names a premium endpoint (or a
 *   premium parameter) is terminal: asking again tomorrow would not help.
 */
export function refuseAnswer(page: JsonResponse, request: VendorRequest, data: string): void {
  const body = page.body;
  const what = `alphavantage ${String(request.query['function'])}`;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new VendorError('bad_payload', `${what}: the answer is no Alpha Vantage document`, 'alphavantage', request.path, page.status);
  }
  const doc = body as Record<string, unknown>;
  const error = doc['Error Message'];
  if (typeof error === 'string') throw new VendorError('bad_payload', `${what} ${symbolOf(request)}: ${error}`, 'alphavantage', request.path, page.status);
  if (data in doc) return;
  const limit = [doc['Note'], doc['Information']].find((v): v is string => typeof v === 'string');
  if (limit !== undefined) {
    if (/premium (endpoint|function|feature)|premium plans? .*unlock/i.test(limit) && !/rate limit|requests? per|call frequency|calls per/i.test(limit)) {
      throw new VendorError('bad_payload', `${what}: ${limit}`, 'alphavantage', request.path, page.status);
    }
    throw new BudgetExhaustedError(`alphavantage: the plan's request limit is reached ("${limit}"); run again later (tomorrow on the free plan) to resume`, 'alphavantage');
  }
  throw new VendorError('bad_payload', `${what} ${symbolOf(request)}: the answer has no "${data}" (fields: ${Object.keys(doc).join(', ') || 'none'})`, 'alphavantage', request.path, page.status);
}

function symbolOf(request: VendorRequest): string {
  return String(request.query['symbol'] ?? '');
}

/** The window's first and last day, as far as data exists by now, and today. */
export function alphavantageDates(request: ExtractRequest, now: Date): { from: string; last: string; today: string } {
  const today = now.toISOString().slice(0, 10);
  const end = lastDay(askedUntil(request, now));
  return { from: request.from ? request.from.toISOString().slice(0, 10) : end, last: end < today ? end : today, today };
}
