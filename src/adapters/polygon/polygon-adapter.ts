import { addDays } from '../../calendar/calendar.js';
import { calendars } from '../../calendar/registry.js';
import type { Job } from '../../config/jobs.js';
import { jobEndpoint } from '../../config/vendor-endpoints.js';
import { UsageError } from '../../core/errors.js';
import { lastDay } from '../../core/time-window.js';
import type { Granularity, GranularityUnit } from '../../core/granularity.js';
import { VendorError, pages, type HttpClient } from '../../http/http-client.js';
import type { Adapter, AdapterContext, ExtractRequest, InputRef, RawBatch } from '../adapter.js';
import { readJson } from '../file/json-reader.js';
import type { ResponseFinding } from '../../lake/raw-landing.js';
import { barsFindings, landedPages, requestKey, vendorClient, vendorScope } from '../vendor.js';

/**
 * Polygon, one adapter for its endpoints (the job's source.endpoint, see vendor-endpoints.ts):
 * - aggs: /v2/aggs/ticker/{T}/range/{n}/{span}/{from}/{to}, any multiplier of second to month
 *   bars, split under 50,000 bars a request, `adjusted` explicit (false unless the job asks);
 * - grouped: /v2/aggs/grouped/locale/us/market/stocks/{date}, every US stock's daily bar, one
 *   request per XNYS session;
 * - splits, dividends: /v3/reference/splits and /dividends, per symbol or the whole market,
 *   by execution or ex-dividend date;
 * - tickers: /v3/reference/tickers as of the window's last day, active and delisted names.
 * Pages are followed by next_url. list() fetches what the run needs and lands every page as
 * received; extract() reads the landed pages with the same JSON reader as any file, and the
 * job's transform (configs/transforms/polygon-*.yml) turns them into canonical rows.
 */
export const polygonAdapter: Adapter = {
  name: 'polygon',
  async list(ctx: AdapterContext, request: ExtractRequest): Promise<InputRef[]> {
    const { job } = request;
    const target = { source: job.spec.source.name, dataset: job.dataset.name, vendor: 'polygon' };
    // Opened on the first fetch: a run whose windows were all fetched before needs no key.
    let client: HttpClient | null = null;
    const http = () => (client ??= vendorClient(ctx, 'polygon'));
    const inputs: InputRef[] = [];
    for (const r of polygonRequests(job, request, ctx.now)) {
      const key = requestKey(r.path, r.query);
      // A window that has closed does not change: a complete earlier fetch is used again.
      const landed = await landedPages(ctx, target, { key, closed: r.closed }, () => pages(http(), { path: r.path, query: r.query }, { kind: 'next_url', field: 'next_url' }), (page) => {
        const body = page.body as { status?: string; error?: string } | null;
        if (!body || typeof body !== 'object' || Array.isArray(body) || body.status === 'ERROR') {
          throw new VendorError('bad_payload', `polygon ${r.path}: ${body?.error ?? 'not a Polygon page'}`, 'polygon', r.path, page.status);
        }
        return r.bars ? contradictions(page.body as BarsPage, r.bars) : [];
      });
      inputs.push(...landed);
    }
    return inputs;
  },
  async extract(ctx, request, inputs): Promise<RawBatch> {
    const read = { format: 'json' as const, records: 'results', ...request.job.transform.value.read, ...request.job.spec.source.read };
    return readJson(request.job, inputs.map((i) => i.uri), read, request, ctx.logger);
  },
};

interface PolygonRequest {
  readonly path: string;
  readonly query: Readonly<Record<string, string | number | boolean>>;
  /** Asks only for what can no longer change (a window that ended before today). */
  readonly closed: boolean;
  /** Bars requests: what the answer must match (a ticker, or any for the whole market), the dates asked and adjusted or not. */
  readonly bars?: { readonly ticker: string | null; readonly from: string; readonly to: string; readonly adjusted: boolean };
}

/** An aggregates or grouped daily page, as far as it is checked against its request. */
interface BarsPage {
  readonly ticker?: unknown;
  readonly adjusted?: unknown;
  readonly results?: readonly { readonly t?: unknown; readonly T?: unknown }[];
}

/** Where a page of bars contradicts its request: adjusted prices, another ticker, bars outside the window. */
function contradictions(page: BarsPage, asked: NonNullable<PolygonRequest['bars']>): ResponseFinding[] {
  const results = Array.isArray(page.results) ? page.results : [];
  const out: ResponseFinding[] = [];
  if (typeof page.adjusted === 'boolean' && page.adjusted !== asked.adjusted) {
    out.push({ rule: 'response_adjusted', rows: results.length, detail: `the response says adjusted=${page.adjusted}, the request asked adjusted=${asked.adjusted}` });
  }
  const symbols = asked.ticker !== null && typeof page.ticker === 'string' ? [page.ticker] : [];
  return [...out, ...barsFindings({ symbols: asked.ticker === null ? [] : [asked.ticker], from: asked.from, to: asked.to }, { symbols, times: results.map((b) => Number(b.t)) })];
}

/** The requests a run makes: one per symbol (or one for the whole market), per window piece. */
function polygonRequests(job: Job, request: ExtractRequest, now: Date): PolygonRequest[] {
  const today = now.toISOString().slice(0, 10);
  // The window's last day as asked (dividends are declared ahead), and as far as bars exist.
  const last = request.toExclusive ? lastDay(request.toExclusive) : null;
  const to = last && last < today ? last : today;
  const endpoint = jobEndpoint('polygon', job.dataset.name, job.spec.source.endpoint);
  if ('error' in endpoint) throw new UsageError(`${job.name}: ${endpoint.error}`);
  const from = request.from?.toISOString().slice(0, 10) ?? null;
  const symbols: readonly (string | null)[] = request.symbols?.length ? request.symbols : [null];
  const ticker = (t: string | null): Record<string, string> => (t === null ? {} : { ticker: t });
  switch (endpoint.endpoint) {
    case 'aggs': {
      const scope = vendorScope('polygon', request);
      const query = { adjusted: Boolean(job.spec.source.adjusted), sort: 'asc', limit: 50_000 };
      return planAggregates(scope.symbols, from!, to, job.granularity).map((r) => ({
        path: `/v2/aggs/ticker/${encodeURIComponent(r.ticker)}/range/${r.multiplier}/${r.timespan}/${r.from}/${r.to}`,
        query,
        closed: r.to < today,
        bars: { ticker: r.ticker, from: r.from, to: r.to, adjusted: query.adjusted },
      }));
    }
    case 'grouped': {
      if (!from) throw new UsageError(`${job.name}: the grouped endpoint asks one page per session: set window.from in the job, or pass --from`);
      // Every US stock, one session a request: only sessions that have closed by now.
      return calendars.XNYS.sessions(from, to)
        .filter((s) => s.close <= now)
        .map((s) => {
          const adjusted = Boolean(job.spec.source.adjusted);
          return {
            path: `/v2/aggs/grouped/locale/us/market/stocks/${s.date}`,
            query: { adjusted, include_otc: false },
            closed: s.date < today,
            bars: { ticker: null, from: s.date, to: s.date, adjusted },
          };
        });
    }
    case 'splits':
    case 'dividends': {
      const field = endpoint.endpoint === 'splits' ? 'execution_date' : 'ex_dividend_date';
      // Dividends are declared ahead of their ex-date: a window that has not ended yet is asked again.
      const dates = { ...(from ? { [`${field}.gte`]: from } : {}), ...(last ? { [`${field}.lte`]: last } : {}) };
      return symbols.map((t) => ({
        path: `/v3/reference/${endpoint.endpoint}`,
        query: { ...ticker(t), ...dates, order: 'asc', sort: field, limit: 1000 },
        closed: last !== null && last < today,
      }));
    }
    case 'tickers':
      // The listing as of the window's last day (today by default), active and delisted names.
      return symbols.flatMap((t) =>
        [true, false].map((active) => ({
          path: '/v3/reference/tickers',
          query: { ...ticker(t), date: to, active, order: 'asc', sort: 'ticker', limit: 1000 },
          closed: to < today,
        })),
      );
    default:
      throw new UsageError(`${job.name}: polygon has no ${endpoint.endpoint} endpoint`);
  }
}

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
