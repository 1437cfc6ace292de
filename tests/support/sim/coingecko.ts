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
  answer(url: string, kind: FaultKind | undefined, sent: Send, sim: VendorSim): void {
    // A cut or garbled body, as a proxy or a dropped connection leaves it.
    const send: Send = (status, body, headers) =>
      sent(status, status === 200 && kind === 'truncated' ? body.slice(0, Math.floor(body.length / 2)) : status === 200 && kind === 'invalid-json' ? `<html>${body}` : body, headers);
    const u = new URL(url, 'http://sim');
    const m = /^\/api\/v3\/coins\/([^/]+)\/(ohlc|market_chart\/range)$/.exec(u.pathname);
    if (!m) return send(404, JSON.stringify({ error: 'Not found' }));
    const id = decodeURIComponent(m[1]!);
    if (!sim.coingeckoCoins.includes(id)) return send(404, JSON.stringify({ error: 'coin not found' }));
    const q = u.searchParams;
    if (m[2] !== 'ohlc') return send(200, JSON.stringify(kind === 'empty' ? { prices: [], market_caps: [], total_volumes: [] } : marketChart(id, Number(q.get('from')) * 1000, Number(q.get('to')) * 1000, sim)));
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

/**
 * A market chart of [ms, value] lists on the same times: daily samples at 00:00 UTC for a range
 * over 90 days, else hourly ones 2 minutes 17 seconds past the hour (or every `coingeckoStepMs`),
 * and, for a range reaching the simulator's now, a last sample at now.
 */
function marketChart(id: string, from: number, to: number, sim: VendorSim): { prices: number[][]; market_caps: number[][]; total_volumes: number[][] } {
  const daily = to - from > 90 * 86_400_000;
  const step = sim.coingeckoStepMs ?? (daily ? 86_400_000 : 3_600_000);
  const offset = daily || sim.coingeckoStepMs ? 0 : 137_000;
  // A range after the simulator's now is answered as if now were later (the contract test's fixture clock).
  const now = sim.coingeckoNow >= from ? sim.coingeckoNow : Infinity;
  const times: number[] = [];
  for (let t = Math.ceil((from - offset) / step) * step + offset; t <= to && t < now; t += step) if (t >= from) times.push(t);
  if (to >= now) times.push(now);
  const seed = [...id].reduce((a, ch) => a + ch.charCodeAt(0), 0) * 10;
  const price = (t: number) => Math.round((seed + (t / 3_600_000) % 89) * 1000) / 1000;
  return {
    prices: times.map((t) => [t, price(t)]),
    market_caps: times.map((t) => [t, price(t) * 19_600_000]),
    total_volumes: times.map((t) => [t, price(t) * 350_000]),
  };
}
