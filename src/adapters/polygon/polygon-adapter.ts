import { addDays } from '../../calendar/calendar.js';
import type { Granularity, GranularityUnit } from '../../core/granularity.js';
import { VendorError, pages, type HttpClient } from '../../http/http-client.js';
import type { Adapter, AdapterContext, ExtractRequest, InputRef, RawBatch } from '../adapter.js';
import { readJson } from '../file/json-reader.js';
import { landedPages, requestKey, vendorClient, vendorScope } from '../vendor.js';

/**
 * Polygon aggregates (/v2/aggs/ticker/{T}/range/{n}/{span}/{from}/{to}): any multiplier of
 * second to month bars, `adjusted` explicit (false unless the job asks), pages followed by
 * next_url. list() fetches what the run needs and lands every page as received; extract()
 * reads the landed pages with the same JSON reader as any file. The transform
 * (configs/transforms/polygon-aggs.yml) turns t (epoch ms; daily bars at New York midnight)
 * into canonical bars.
 */
export const polygonAdapter: Adapter = {
  name: 'polygon',
  async list(ctx: AdapterContext, request: ExtractRequest): Promise<InputRef[]> {
    const { job } = request;
    const scope = vendorScope('polygon', request);
    const today = ctx.now.toISOString().slice(0, 10);
    const from = scope.from.toISOString().slice(0, 10);
    const last = request.toExclusive ? new Date(request.toExclusive.getTime() - 1).toISOString().slice(0, 10) : today;
    const to = last > today ? today : last;
    const dataset = job.dataset.name;
    const source = job.spec.source.name;
    // Opened on the first fetch: a run whose windows were all fetched before needs no key.
    let client: HttpClient | null = null;
    const http = () => (client ??= vendorClient(ctx, 'polygon'));
    const inputs: InputRef[] = [];
    for (const r of planAggregates(scope.symbols, from, to, job.granularity)) {
      const path = `/v2/aggs/ticker/${encodeURIComponent(r.ticker)}/range/${r.multiplier}/${r.timespan}/${r.from}/${r.to}`;
      const query = { adjusted: Boolean(job.spec.source.adjusted), sort: 'asc', limit: 50_000 };
      const key = requestKey(path, query);
      // A window that has closed does not change: a complete earlier fetch is used again.
      const landed = await landedPages(
        ctx,
        { source, dataset },
        { key, closed: r.to < today },
        () => pages(http(), { path, query }, { kind: 'next_url', field: 'next_url' }),
        (page) => {
          const body = page.body as { status?: string; error?: string } | null;
          if (!body || typeof body !== 'object' || body.status === 'ERROR') {
            throw new VendorError('bad_payload', `polygon ${path}: ${body?.error ?? 'not an aggregates page'}`, 'polygon', path, page.status);
          }
        },
      );
      inputs.push(...landed);
    }
    return inputs;
  },
  async extract(ctx, request, inputs): Promise<RawBatch> {
    const read = { format: 'json' as const, records: 'results', ...request.job.transform.value.read, ...request.job.spec.source.read };
    return readJson(request.job, inputs.map((i) => i.uri), read, request, ctx.logger);
  },
};

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
