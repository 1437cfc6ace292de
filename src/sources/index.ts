import { datasetNames, type DatasetName } from '../core/datasets.js';
import type { Granularity } from '../core/granularity.js';
import { alpacaBars } from './alpaca/bars.js';
import { alpacaCorporateActions } from './alpaca/corporate-actions.js';
import { binanceKlines } from './binance/klines.js';
import { coingeckoMarketChart } from './coingecko/market-chart.js';
import { coingeckoOhlc } from './coingecko/ohlc.js';
import { alphavantageListing } from './alphavantage/listing.js';
import { alphavantageCryptoDaily, alphavantageDailyAdjusted, alphavantageTimeSeries } from './alphavantage/time-series.js';
import { vendorAdapter, type Fetcher } from './fetcher.js';
import { fileAdapter } from './file/file-adapter.js';
import { finnhubCandles } from './finnhub/candles.js';
import { finnhubSplits } from './finnhub/splits.js';
import { polygonAggs } from './polygon/aggs.js';
import { polygonGrouped } from './polygon/grouped.js';
import { polygonDividends, polygonSplits, polygonTickers } from './polygon/reference.js';
import type { Adapter, ExtractRequest } from './source.js';
import { UsageError } from '../core/errors.js';

/**
 * Every fetcher, keyed by vendor/endpoint: the only list of what the vendors serve. The job
 * schema's adapter and endpoint names, the endpoints.yml providers and `mdw jobs sources` all
 * derive from it. A new vendor is a folder under src/sources/ and its lines here.
 */
export const fetchers = {
  'polygon/aggs': polygonAggs,
  'polygon/grouped': polygonGrouped,
  'polygon/splits': polygonSplits,
  'polygon/dividends': polygonDividends,
  'polygon/tickers': polygonTickers,
  'alpaca/bars': alpacaBars,
  'alpaca/corporate_actions': alpacaCorporateActions,
  'finnhub/candles': finnhubCandles,
  'finnhub/splits': finnhubSplits,
  'binance/klines': binanceKlines,
  'coingecko/ohlc': coingeckoOhlc,
  'coingecko/market_chart': coingeckoMarketChart,
  'alphavantage/time_series': alphavantageTimeSeries,
  'alphavantage/daily_adjusted': alphavantageDailyAdjusted,
  'alphavantage/crypto_daily': alphavantageCryptoDaily,
  'alphavantage/listing_status': alphavantageListing,
} as const satisfies Record<string, Fetcher>;

export type FetcherId = keyof typeof fetchers;
/** A vendor: the part of a fetcher's id before the slash. */
export type VendorName = FetcherId extends `${infer V}/${string}` ? V : never;
/** What a job's source.adapter names: files, or a vendor. */
export type AdapterName = 'file' | VendorName;

const all: readonly Fetcher[] = Object.values(fetchers);
export const vendorNames = [...new Set(all.map((f) => f.vendor))] as VendorName[];
export const adapterNames: readonly AdapterName[] = ['file', ...vendorNames];
/** Every endpoint name a job may give as source.endpoint. */
export const endpointNames: readonly string[] = [...new Set(all.map((f) => f.endpoint))];

/** The fetchers of one vendor. */
export function fetchersOf(vendor: string): Fetcher[] {
  return all.filter((f) => f.vendor === vendor);
}

/** The fetcher a vendor job uses, or a message saying why it has none. */
export function jobFetcher(vendor: string, dataset: DatasetName, named: string | undefined): { fetcher: Fetcher } | { error: string } {
  const ofVendor = fetchersOf(vendor);
  const served = ofVendor.filter((f) => f.dataset === dataset);
  if (served.length === 0) {
    const datasets = datasetNames.filter((d) => ofVendor.some((f) => f.dataset === d));
    return { error: `${vendor} serves no ${dataset} here (it serves ${datasets.join(', ')})` };
  }
  const names = served.map((f) => f.endpoint);
  if (named === undefined) {
    const fallback = served.find((f) => f.default);
    // Where a dataset comes from endpoints of different shapes (Polygon's splits and dividends), a job names one.
    if (!fallback) return { error: `${vendor} serves ${dataset} from ${names.join(' and ')}: name one as source.endpoint (a job each)` };
    return { fetcher: fallback };
  }
  const fetcher = served.find((f) => f.endpoint === named);
  if (!fetcher) return { error: `${vendor} serves ${dataset} from ${names.join(' or ')}, not ${named}` };
  return { fetcher };
}

function pick(vendor: string) {
  return (request: ExtractRequest): Fetcher => {
    const { job } = request;
    const found = jobFetcher(vendor, job.dataset.name, job.spec.source.endpoint);
    if ('error' in found) throw new UsageError(`${job.name}: ${found.error}`);
    return found.fetcher;
  };
}

/** Every source a job can name: files, and each vendor built from its fetchers. */
export const adapters = Object.fromEntries([['file', fileAdapter], ...vendorNames.map((v) => [v, vendorAdapter(v, pick(v))])]) as Record<AdapterName, Adapter>;

/**
 * The registry's names in the job schema, so the committed schema never lists them (and
 * cannot drift from the fetchers): source.adapter and source.endpoint.
 */
export function withRegistry(schema: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const s = structuredClone(schema) as { properties: { source: { properties: Record<string, Record<string, unknown>> } } };
  const source = s.properties.source.properties;
  source['adapter'] = { ...source['adapter'], enum: [...adapterNames] };
  source['endpoint'] = { ...source['endpoint'], enum: [...endpointNames] };
  return s;
}

/** Why a fetcher does not serve a job's bar size, or null when it does. */
export function servedGranularity(fetcher: Fetcher, g: Granularity): string | null {
  if (fetcher.granularities === null) return null;
  const counts = fetcher.granularities[g.unit];
  if (counts === 'any' || counts?.includes(g.count)) return null;
  const served = (Object.entries(fetcher.granularities) as [string, readonly number[] | 'any'][]).map(([unit, c]) => (c === 'any' ? `any ${unit}` : c.map((n) => `${n}${unit}`).join(', ')));
  return `${fetcher.vendor}'s ${fetcher.endpoint} endpoint serves ${served.join(', ')} bars, not ${g.text}`;
}
