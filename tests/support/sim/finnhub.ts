import type { IncomingMessage } from 'node:http';
import { VendorSim, type FaultKind } from '../vendor-sim.js';
import type { Send, SimRoute } from './route.js';

/**
 * Finnhub (https://finnhub.io/docs/api), under /api/v1: /stock/candle answers one document of
 * parallel arrays (o, h, l, c, v, t in UNIX seconds, a day at 00:00 UTC) and s, "ok" or
 * "no_data"; /stock/split a list of {symbol, date, fromFactor, toFactor}. No paging. The key
 * travels in X-Finnhub-Token; errors are {"error": "..."}.
 */
export const finnhubSim: SimRoute = {
  vendor: 'finnhub',
  serves: (url) => url.startsWith('/api/v1/'),
  refuse(req: IncomingMessage, sim: VendorSim) {
    const key = sim.vendorKeys['finnhub'];
    return key !== undefined && req.headers['x-finnhub-token'] !== key ? { status: 401, body: JSON.stringify({ error: 'Invalid API key' }) } : null;
  },
  tooMany: JSON.stringify({ error: 'API limit reached. Please try again later. Remaining Limit: 0' }),
  answer(url: string, kind: FaultKind | undefined, send: Send, sim: VendorSim): void {
    const u = new URL(url, 'http://sim');
    const q = u.searchParams;
    const day = (seconds: string | null) => new Date(Number(seconds) * 1000).toISOString().slice(0, 10);
    if (u.pathname === '/api/v1/stock/candle') {
      if (q.get('resolution') !== 'D') return send(200, JSON.stringify({ s: 'no_data' }));
      const from = Number(q.get('from'));
      const to = Number(q.get('to'));
      // Finnhub stamps a daily candle at 00:00 UTC of its session date.
      const bars = kind === 'empty' ? [] : sim.served(q.get('symbol') ?? '', VendorSim.bars(q.get('symbol') ?? '', 'day', 1, day(q.get('from')), day(q.get('to'))));
      const candles = bars.map((b) => ({ ...b, t: Date.parse(`${new Date(b.t + 12 * 3_600_000).toISOString().slice(0, 10)}T00:00:00Z`) / 1000 })).filter((b) => b.t >= from && b.t <= to);
      if (candles.length === 0) return send(200, JSON.stringify({ s: 'no_data' }));
      const column = (k: 'o' | 'h' | 'l' | 'c' | 'v' | 't') => candles.map((b) => b[k]);
      return send(200, JSON.stringify({ c: column('c'), h: column('h'), l: column('l'), o: column('o'), s: 'ok', t: column('t'), v: column('v') }));
    }
    if (u.pathname === '/api/v1/stock/split') {
      const symbol = q.get('symbol');
      const splits = kind === 'empty' ? [] : sim.splits.filter((x) => x.ticker === symbol && x.execution_date >= (q.get('from') ?? '') && x.execution_date <= (q.get('to') ?? '9999'));
      return send(200, JSON.stringify(splits.map((x) => ({ symbol: x.ticker, date: x.execution_date, fromFactor: x.split_from, toFactor: x.split_to }))));
    }
    send(404, JSON.stringify({ error: 'Not found' }));
  },
};
