import type { IncomingMessage } from 'node:http';
import type { FaultKind, VendorSim } from '../vendor-sim.js';
import type { Send, SimRoute } from './route.js';

/**
 * CoinGecko (https://docs.coingecko.com), under /api/v3: /coins/{id}/ohlc answers a list of
 * [close time ms, open, high, low, close], `days` back from now, the candle size following from
 * days (1-2: 30 minutes, 3-30: 4 hours, more: 4 days) or from interval=hourly|daily. "Now" is
 * `sim.coingeckoNow`, so answers do not depend on the day a test runs. An unknown coin is a 404
 * with {"error": "coin not found"}. The key is optional; a wrong one is a 401.
 */
export const coingeckoSim: SimRoute = {
  vendor: 'coingecko',
  serves: (url) => url.startsWith('/api/v3/coins/'),
  refuse(req: IncomingMessage, sim: VendorSim) {
    const key = sim.vendorKeys['coingecko'];
    const sent = req.headers['x-cg-demo-api-key'];
    return key !== undefined && sent !== undefined && sent !== key ? { status: 401, body: JSON.stringify({ status: { error_code: 10002, error_message: 'API Key Missing or invalid' } }) } : null;
  },
  tooMany: JSON.stringify({ status: { error_code: 429, error_message: "You've exceeded the Rate Limit. Please visit https://www.coingecko.com/en/api/pricing to subscribe to our API plans for higher rate limits." } }),
  answer(url: string, kind: FaultKind | undefined, send: Send, sim: VendorSim): void {
    const u = new URL(url, 'http://sim');
    const m = /^\/api\/v3\/coins\/([^/]+)\/ohlc$/.exec(u.pathname);
    if (!m) return send(404, JSON.stringify({ error: 'Not found' }));
    const id = decodeURIComponent(m[1]!);
    if (!sim.coingeckoCoins.includes(id)) return send(404, JSON.stringify({ error: 'coin not found' }));
    const q = u.searchParams;
    const daysText = q.get('days') ?? '1';
    const days = daysText === 'max' ? 3650 : Number(daysText);
    const interval = q.get('interval');
    const step = interval === 'hourly' ? 3_600_000 : interval === 'daily' ? 86_400_000 : (sim.coingeckoStepMs ?? (days <= 2 ? 1_800_000 : days <= 30 ? 14_400_000 : 345_600_000));
    const now = sim.coingeckoNow;
    const last = Math.floor(now / step) * step;
    const seed = [...id].reduce((a, ch) => a + ch.charCodeAt(0), 0) * 10;
    const candles: number[][] = [];
    if (kind !== 'empty') {
      for (let t = last - Math.floor((days * 86_400_000) / step) * step + step; t <= last; t += step) {
        const c = Math.round((seed + (t / step) % 97) * 100) / 100;
        candles.push([t, c - 1, c + 2, c - 2, c]);
      }
    }
    send(200, JSON.stringify(candles));
  },
};
