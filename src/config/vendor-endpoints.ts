import type { DatasetName } from '../core/datasets.js';
import type { VendorEndpoint } from './types.js';

/**
 * Which endpoints of a vendor adapter serve which dataset, the first being the default when a
 * job names none (source.endpoint). Pure data: jobs are checked against it when loaded.
 */
export const vendorEndpoints: Readonly<Record<'polygon' | 'alpaca', Readonly<Partial<Record<DatasetName, readonly VendorEndpoint[]>>>>> = {
  polygon: { ohlcv: ['aggs', 'grouped'], corporate_actions: ['splits', 'dividends'], tickers: ['tickers'] },
  alpaca: { ohlcv: ['bars'], corporate_actions: ['corporate_actions'] },
};

/** The endpoint a vendor job uses, or a message saying why it has none. */
export function jobEndpoint(adapter: 'polygon' | 'alpaca', dataset: DatasetName, named: VendorEndpoint | undefined): { endpoint: VendorEndpoint } | { error: string } {
  const served = vendorEndpoints[adapter][dataset] ?? [];
  if (served.length === 0) return { error: `${adapter} serves no ${dataset} here (it serves ${Object.keys(vendorEndpoints[adapter]).join(', ')})` };
  if (named === undefined) {
    // corporate_actions at Polygon is two endpoints of different shapes: a job names one.
    if (served.length > 1 && dataset !== 'ohlcv') return { error: `${adapter} serves ${dataset} from ${served.join(' and ')}: name one as source.endpoint (a job each)` };
    return { endpoint: served[0]! };
  }
  if (!served.includes(named)) return { error: `${adapter} serves ${dataset} from ${served.join(' or ')}, not ${named}` };
  return { endpoint: named };
}
