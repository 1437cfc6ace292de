import type { IncomingMessage } from 'node:http';
import { VendorSim, type FaultKind } from '../vendor-sim.js';
import type { Send, SimRoute } from './route.js';

/**
 * Binance spot (https://developers.binance.com/docs/binance-spot-api-docs/rest-api), under
 * /api/v3: /klines answers a list of 12-element arrays, oldest first, prices and volumes as
 * strings, at most `limit` (default 500, most 1000) from startTime; a day opens at 00:00 UTC.
 * Every answer carries X-MBX-USED-WEIGHT-1M (2 a klines request, counted from
 * `sim.binanceWeight`). An unknown symbol is a 400 with {"code": -1121, "msg": "Invalid symbol."}.
 * Market data needs no key.
 */
export const binanceSim: SimRoute = {
  vendor: 'binance',
  serves: (url) => url.startsWith('/api/v3/klines'),
  refuse: (_req: IncomingMessage, _sim: VendorSim) => null,
  tooMany: JSON.stringify({ code: -1003, msg: 'Too many requests; current limit of IP is 6000 request weight per 1 MINUTE.' }),
  answer(url: string, kind: FaultKind | undefined, send: Send, sim: VendorSim): void {
    const q = new URL(url, 'http://sim').searchParams;
    sim.binanceWeight += 2;
    const headers = { 'x-mbx-used-weight-1m': String(sim.binanceWeight) };
    const symbol = q.get('symbol') ?? '';
    if (!sim.binancePairs.includes(symbol)) return send(400, JSON.stringify({ code: -1121, msg: 'Invalid symbol.' }), headers);
    const interval = q.get('interval') ?? '';
    const spans: Record<string, [string, number, number]> = { '1m': ['minute', 1, 60_000], '1h': ['hour', 1, 3_600_000], '1d': ['day', 1, 86_400_000] };
    const span = spans[interval];
    if (!span) return send(400, JSON.stringify({ code: -1120, msg: 'Invalid interval.' }), headers);
    const start = Number(q.get('startTime') ?? 0);
    const end = Number(q.get('endTime') ?? Date.now());
    const limit = Math.min(1000, Number(q.get('limit') ?? 500));
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const bars = kind === 'empty' ? [] : VendorSim.bars(`X:${symbol}`, span[0], span[1], day(start), day(end)).filter((b) => b.t >= start && b.t <= end).slice(0, limit);
    const s = (x: number) => x.toFixed(8);
    const klines = bars.map((b) => [b.t, s(b.o), s(b.h), s(b.l), s(b.c), s(b.v), b.t + span[2] - 1, s(b.v * b.vw), b.n, s(b.v / 2), s((b.v * b.vw) / 2), '0']);
    const body = JSON.stringify(klines);
    if (kind === 'truncated') return send(200, body.slice(0, Math.floor(body.length / 2)), headers);
    if (kind === 'invalid-json') return send(200, `<html>${body}`, headers);
    send(200, body, headers);
  },
};
