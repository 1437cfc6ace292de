import { lastDay } from '../../core/time-window.js';
import { VendorError, type JsonResponse } from '../../http/http-client.js';
import type { VendorRequest } from '../fetcher.js';
import { askedUntil } from '../landing.js';
import type { ExtractRequest } from '../source.js';

/**
 * What Finnhub's endpoints share (https://finnhub.io/docs/api): the base URL ends in /api/v1,
 * the key travels in the X-Finnhub-Token header (endpoints.yml), a request is answered in one
 * document (no paging), and an error comes back as {"error": "..."}: with 401/403/429 the
 * HTTP client sees the status, with 200 it is refused here as no page of Finnhub's.
 */
export function refuseError(page: JsonResponse, request: VendorRequest, expected: string): never {
  const error = (page.body as { error?: unknown } | null)?.error;
  throw new VendorError('bad_payload', `finnhub ${request.path}: ${typeof error === 'string' ? error : `not ${expected}`}`, 'finnhub', request.path, page.status);
}

/** The window's first and last day, as far as data exists by now, and today. */
export function finnhubDates(request: ExtractRequest, now: Date): { from: string; last: string; today: string } {
  const today = now.toISOString().slice(0, 10);
  const end = askedUntil(request, now);
  return { from: request.from!.toISOString().slice(0, 10), last: lastDay(end) < today ? lastDay(end) : today, today };
}
