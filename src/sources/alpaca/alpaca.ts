import { paged, type Fetcher } from '../fetcher.js';

/**
 * What Alpaca's market-data endpoints share: pages followed by next_page_token, records keyed
 * by type or symbol, read by the JSON reader with the job's transform
 * (configs/transforms/alpaca-*.yml: t is RFC 3339 UTC; daily bars at New York midnight map to
 * their session date).
 */
export function alpacaFetcher(f: Omit<Fetcher, 'vendor' | 'pages'>): Fetcher {
  return { ...f, vendor: 'alpaca', pages: paged({ kind: 'token', field: 'next_page_token', param: 'page_token' }) };
}

/** A request names at most 100 symbols; the vendor pages through them in order. */
export function inHundreds<T>(symbols: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < symbols.length; i += 100) out.push(symbols.slice(i, i + 100));
  return out;
}

