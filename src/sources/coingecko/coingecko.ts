import { UsageError } from '../../core/errors.js';
import { VendorError, type JsonResponse } from '../../http/http-client.js';
import type { VendorRequest } from '../fetcher.js';
import { vendorScope } from '../landing.js';
import type { ExtractRequest } from '../source.js';

/**
 * What CoinGecko's coin endpoints share (https://docs.coingecko.com/reference/introduction):
 * the base URL ends in /api/v3; a coin is named by its id (bitcoin), not a ticker, so a job maps
 * its symbols to ids in source.coins; prices are in source.vs_currency (usd by default); the
 * key, optional on the public API, travels in x-cg-demo-api-key (a Pro key in
 * x-cg-pro-api-key at pro-api.coingecko.com: endpoints.yml). Errors come back as
 * {"error": "coin not found"} or {"status": {"error_code", "error_message"}}.
 */
export function coinRequests(request: ExtractRequest): { symbol: string; id: string; vs: string }[] {
  const { job } = request;
  const { symbols } = vendorScope('coingecko', request);
  const coins = job.spec.source.coins ?? {};
  const unmapped = symbols.filter((s) => coins[s] === undefined);
  if (unmapped.length > 0) {
    throw new UsageError(`${job.name}: CoinGecko names coins by id, not ticker: add ${unmapped.join(', ')} to source.coins in the job (e.g. BTC: bitcoin; /coins/list lists the ids)`);
  }
  return symbols.map((symbol) => ({ symbol, id: coins[symbol]!, vs: job.spec.source.vs_currency ?? 'usd' }));
}

/** A 200 that is no answer of this endpoint: refused with what CoinGecko said, if it said anything. */
export function refuseError(page: JsonResponse, request: VendorRequest, expected: string): never {
  const body = page.body as { error?: unknown; status?: { error_message?: unknown } } | null;
  const said = typeof body?.error === 'string' ? body.error : typeof body?.status?.error_message === 'string' ? body.status.error_message : `not ${expected}`;
  throw new VendorError('bad_payload', `coingecko ${request.path}: ${said}`, 'coingecko', request.path, page.status);
}

/** Whole days from `from` to now, at least 1. */
export function daysBack(from: Date, now: Date): number {
  return Math.max(1, Math.ceil((now.getTime() - from.getTime()) / 86_400_000));
}
