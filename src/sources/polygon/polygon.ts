import { lastDay } from '../../core/time-window.js';
import { VendorError, type JsonResponse } from '../../http/http-client.js';
import type { ResponseFinding } from '../../lake/raw-landing.js';
import { paged, type Fetcher, type RawReader, type VendorRequest } from '../fetcher.js';
import { barsFindings } from '../landing.js';
import type { ExtractRequest, InputRef, RawBatch } from '../source.js';

/**
 * What Polygon's endpoints share: pages followed by next_url, an error body refused, records
 * under `results` read by the JSON reader with the job's transform
 * (configs/transforms/polygon-*.yml), and the bars' answer checked against its request.
 */
export const polygon = {
  vendor: 'polygon',
  pages: paged({ kind: 'next_url', field: 'next_url' }),
  check(page: JsonResponse, request: VendorRequest): readonly ResponseFinding[] {
    const body = page.body as { status?: string; error?: string } | null;
    if (!body || typeof body !== 'object' || Array.isArray(body) || body.status === 'ERROR') {
      throw new VendorError('bad_payload', `polygon ${request.path}: ${body?.error ?? 'not a Polygon page'}`, 'polygon', request.path, page.status);
    }
    return request.bars ? contradictions(page.body as BarsPage, request.bars) : [];
  },
  read(reader: RawReader, pages: readonly InputRef[]): Promise<RawBatch> {
    return reader.json(pages, { format: 'json', records: 'results' });
  },
} as const;

/** The common part of a Polygon fetcher; the endpoint's file adds what it serves and its plan. */
export function polygonFetcher(f: Omit<Fetcher, 'vendor' | 'pages' | 'check' | 'read'>): Fetcher {
  return { ...f, ...polygon };
}

/** An aggregates or grouped daily page, as far as it is checked against its request. */
interface BarsPage {
  readonly ticker?: unknown;
  readonly adjusted?: unknown;
  readonly results?: readonly { readonly t?: unknown; readonly T?: unknown }[];
}

/** Where a page of bars contradicts its request: adjusted prices, another ticker, bars outside the window. */
function contradictions(page: BarsPage, asked: NonNullable<VendorRequest['bars']>): ResponseFinding[] {
  const results = Array.isArray(page.results) ? page.results : [];
  const out: ResponseFinding[] = [];
  if (typeof page.adjusted === 'boolean' && page.adjusted !== asked.adjusted) {
    out.push({ rule: 'response_adjusted', rows: results.length, detail: `the response says adjusted=${page.adjusted}, the request asked adjusted=${asked.adjusted}` });
  }
  const symbols = asked.symbols.length > 0 && typeof page.ticker === 'string' ? [page.ticker] : [];
  return [...out, ...barsFindings({ symbols: asked.symbols, from: asked.from, to: asked.to }, { symbols, times: results.map((b) => Number(b.t)) })];
}

/** The window's dates as Polygon takes them: from, the last day asked (dividends are declared ahead), and the last day bars exist. */
export function polygonDates(request: ExtractRequest, now: Date): { from: string | null; last: string | null; to: string; today: string } {
  const today = now.toISOString().slice(0, 10);
  const last = request.toExclusive ? lastDay(request.toExclusive) : null;
  return { from: request.from?.toISOString().slice(0, 10) ?? null, last, to: last && last < today ? last : today, today };
}
