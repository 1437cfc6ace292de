import { jobEndpoint } from '../../config/vendor-endpoints.js';
import { UsageError } from '../../core/errors.js';
import { lastDay } from '../../core/time-window.js';
import type { Granularity, GranularityUnit } from '../../core/granularity.js';
import { pages, type HttpClient, type JsonResponse } from '../../http/http-client.js';
import type { ResponseFinding } from '../../lake/raw-landing.js';
import type { Adapter, AdapterContext, ExtractRequest, InputRef, RawBatch } from '../adapter.js';
import { readJson } from '../file/json-reader.js';
import { barsFindings, landedPages, requestKey, vendorClient, vendorScope } from '../vendor.js';

/**
 * Alpaca market data, one adapter for its endpoints (the job's source.endpoint):
 * - bars: /v2/stocks/bars, many symbols a request, pages followed by next_page_token.
 *   `adjustment` (raw unless the job says) and `feed` (sip unless the job says) are always
 *   sent, so what is stored never depends on Alpaca's defaults;
 * - corporate_actions: /v1/corporate-actions, splits and cash and stock dividends, for the
 *   job's symbols or the whole market, by process date.
 * Pages land as received and are read by the JSON reader with the job's transform
 * (configs/transforms/alpaca-*.yml: t is RFC 3339 UTC; daily bars at New York midnight map to
 * their session date).
 */
export const alpacaAdapter: Adapter = {
  name: 'alpaca',
  async list(ctx: AdapterContext, request: ExtractRequest): Promise<InputRef[]> {
    const { job } = request;
    const endpoint = jobEndpoint('alpaca', job.dataset.name, job.spec.source.endpoint);
    if ('error' in endpoint) throw new UsageError(`${job.name}: ${endpoint.error}`);
    const now = ctx.now;
    const end = request.toExclusive && request.toExclusive < now ? request.toExclusive : now;
    // Opened on the first fetch: a dry run, or a run whose windows were all fetched before, needs no key.
    let client: HttpClient | null = null;
    const http = () => (client ??= vendorClient(ctx, 'alpaca'));
    const target = { source: job.spec.source.name, dataset: job.dataset.name, vendor: 'alpaca' };
    const inputs: InputRef[] = [];
    const fetch = async (path: string, query: Record<string, string | number>, closed: boolean, check?: (page: JsonResponse) => ResponseFinding[]) => {
      const key = requestKey(path, query);
      inputs.push(...(await landedPages(ctx, target, { key, closed }, () => pages(http(), { path, query }, { kind: 'token', field: 'next_page_token', param: 'page_token' }), check)));
    };
    if (endpoint.endpoint === 'corporate_actions') {
      // Dates are process dates, inclusive; Alpaca's default for both is today.
      const day = (d: Date) => d.toISOString().slice(0, 10);
      const last = lastDay(end);
      const symbols = request.symbols?.length ? request.symbols : [null];
      for (let i = 0; i < symbols.length; i += 100) {
        const named: Record<string, string> = symbols[0] === null ? {} : { symbols: symbols.slice(i, i + 100).join(',') };
        const query = { ...named, types: 'forward_split,reverse_split,cash_dividend,stock_dividend', start: day(request.from ?? new Date('1970-01-01')), end: last, limit: 1000, sort: 'asc' };
        await fetch('/v1/corporate-actions', query, last < day(now));
      }
      return inputs;
    }
    const { from, symbols } = vendorScope('alpaca', request);
    const timeframe = alpacaTimeframe(job.granularity);
    // A request names at most 100 symbols; the vendor pages through them in order.
    for (let i = 0; i < symbols.length; i += 100) {
      const query = {
        symbols: symbols.slice(i, i + 100).join(','),
        timeframe,
        start: from.toISOString(),
        end: end.toISOString(),
        adjustment: job.spec.source.adjustment ?? 'raw',
        feed: job.spec.source.feed ?? 'sip',
        limit: 10_000,
        sort: 'asc',
      };
      const asked = { symbols: symbols.slice(i, i + 100), from: query.start.slice(0, 10), to: lastDay(end) };
      await fetch('/v2/stocks/bars', query, end < now, (page) => {
        const keyed = ((page.body as { bars?: unknown } | null)?.bars ?? {}) as Record<string, readonly { t?: unknown }[] | { t?: unknown }>;
        const bars = Object.values(keyed).flatMap((l) => (Array.isArray(l) ? l : [l]));
        return barsFindings(asked, { symbols: Object.keys(keyed), times: bars.map((b) => Date.parse(String(b.t))) });
      });
    }
    return inputs;
  },
  async extract(ctx, request, inputs): Promise<RawBatch> {
    const read = { format: 'json' as const, records: 'bars.*', ...request.job.transform.value.read, ...request.job.spec.source.read };
    return readJson(request.job, inputs.map((i) => i.uri), read, request, ctx.logger);
  },
};

const units: Record<GranularityUnit, string | null> = { s: null, m: 'Min', h: 'Hour', d: 'Day', w: 'Week', mo: 'Month' };

/** 5m -> 5Min, 1d -> 1Day. Alpaca has no second bars. */
export function alpacaTimeframe(g: Granularity): string {
  const unit = units[g.unit];
  if (!unit) throw new UsageError(`alpaca has no ${g.text} bars (minutes, hours, days, weeks, months)`);
  return `${g.count}${unit}`;
}
