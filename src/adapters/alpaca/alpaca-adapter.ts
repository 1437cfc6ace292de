import { loadEndpoints, provider, providerAuth } from '../../config/endpoints.js';
import { UsageError } from '../../core/errors.js';
import type { Granularity, GranularityUnit } from '../../core/granularity.js';
import { HttpClient, pages } from '../../http/http-client.js';
import type { Adapter, AdapterContext, ExtractRequest, InputRef, RawBatch } from '../adapter.js';
import { readJson } from '../file/json-reader.js';
import { landedPages } from '../vendor-pages.js';

/**
 * Alpaca market data v2 stock bars (/v2/stocks/bars), many symbols a request, pages followed
 * by next_page_token. `adjustment` (raw unless the job says) and `feed` (sip unless the job
 * says) are always sent, so what is stored never depends on Alpaca's defaults. Pages land as
 * received and are read by the JSON reader (configs/transforms/alpaca-bars.yml: t is RFC 3339
 * UTC; daily bars at New York midnight map to their session date).
 */
export const alpacaAdapter: Adapter = {
  name: 'alpaca',
  async list(ctx: AdapterContext, request: ExtractRequest): Promise<InputRef[]> {
    const { job } = request;
    if (!request.from) throw new UsageError(`${job.name}: an alpaca job needs a window: set window.from in the job, or pass --from`);
    if (!request.symbols?.length) throw new UsageError(`${job.name}: an alpaca job needs symbols: set symbols in the job, or pass --symbols`);
    const timeframe = alpacaTimeframe(job.granularity);
    const now = ctx.now;
    const end = request.toExclusive && request.toExclusive < now ? request.toExclusive : now;
    const endpoints = loadEndpoints(ctx.configDir, ctx.env);
    const spec = provider(endpoints, 'alpaca');
    const client = new HttpClient({
      vendor: 'alpaca',
      baseUrl: spec.base_url,
      rpm: spec.rpm,
      dailyBudget: spec.daily_budget,
      budget: ctx.budget,
      logger: ctx.logger,
      ...(spec.timeout_ms ? { timeoutMs: spec.timeout_ms } : {}),
      ...providerAuth(endpoints, 'alpaca', ctx.env),
    });
    const path = '/v2/stocks/bars';
    const inputs: InputRef[] = [];
    // A request names at most 100 symbols; the vendor pages through them in order.
    for (let i = 0; i < request.symbols.length; i += 100) {
      const query = {
        symbols: request.symbols.slice(i, i + 100).join(','),
        timeframe,
        start: request.from.toISOString(),
        end: end.toISOString(),
        adjustment: job.spec.source.adjustment ?? 'raw',
        feed: job.spec.source.feed ?? 'sip',
        limit: 10_000,
        sort: 'asc',
      };
      const key = `${path}?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
      inputs.push(
        ...(await landedPages(ctx, { source: job.spec.source.name, dataset: job.dataset.name }, { key, closed: end < now }, () =>
          pages(client, { path, query }, { kind: 'token', field: 'next_page_token', param: 'page_token' }),
        )),
      );
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
