import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calendars } from '../../src/calendar/registry.js';
import { zonedTimeToUtc, zoneOffsetMinutes } from '../../src/core/zone.js';
import { simRoutes } from './sim/index.js';

/**
 * A local vendor: one server for every vendor's route (tests/support/sim/<vendor>.ts), each
 * answering in the vendor's documented shapes from a deterministic generator, with faults
 * injected on demand. Tests point a vendor's base URL at it (MDW_POLYGON_URL, MDW_ALPACA_URL,
 * MDW_FINNHUB_URL), so nothing leaves the machine.
 */
export type FaultKind = '429' | '418' | '418-long' | '500' | '503' | 'slow' | 'truncated' | 'invalid-json' | 'empty' | '401' | 'loop' | 'hang';

interface Fault {
  readonly kind: FaultKind;
  remaining: number;
  readonly match: RegExp;
}

export interface SimBar {
  readonly t: number;
  readonly o: number;
  readonly h: number;
  readonly l: number;
  readonly c: number;
  readonly v: number;
  readonly vw: number;
  readonly n: number;
}

export class VendorSim {
  readonly requests: { url: string; headers: IncomingMessage['headers'] }[] = [];
  private readonly faults: Fault[] = [];
  private server: Server | null = null;
  /** Bars per page (Polygon's limit is 50,000; small pages exercise paging). */
  pageSize = 100;
  /** When set, requests without `Authorization: Bearer <key>` get 401. */
  key: string | null = null;
  /** How long a 'slow' response waits before it answers. */
  slowMs = 1500;
  /** How long every response waits (a vendor that is merely far away). */
  delayMs = 0;
  /** Called on every request, before it is answered. */
  onRequest: ((n: number) => void) | null = null;

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /**
   * Recorded answers (a source's contract fixture): a request whose path ends in a recorded
   * request's path, with the same query, gets the recorded body, whatever route serves it.
   */
  recorded: readonly { readonly request: string; readonly status?: number; readonly body: unknown }[] = [];

  /** A vendor's key, for routes that check one the way their vendor does (401 without it). */
  vendorKeys: Partial<Record<string, string>> = {};

  /** The pairs Binance lists; another symbol is its -1121. */
  binancePairs = ['BTCUSDT', 'ETHUSDT', 'ETHBTC'];
  /** Binance's request weight of the current minute, as its X-MBX-USED-WEIGHT-1M reports it. */
  binanceWeight = 0;

  /** The coin ids CoinGecko knows; another is its 404 "coin not found". */
  coingeckoCoins = ['bitcoin', 'ethereum'];
  /** CoinGecko's "now", which its answers count days back from. */
  coingeckoNow = Date.parse('2024-01-10T12:00:00Z');
  /** Candles of this length whatever days asks (a vendor that changed its sizes), when set. */
  coingeckoStepMs: number | null = null;
  /**
   * Alpha Vantage's plan limit: after this many /query answers, each further one is the 200 with
   * a "Note" and no data that Alpha Vantage sends over its limit (null: no limit).
   */
  alphavantageLimit: number | null = null;
  /** The last day of Alpha Vantage's daily and weekly history (its "today"), and the first. */
  alphavantageDays = { from: '2023-01-03', to: '2024-06-28' };

  /** Alpaca keys; when set, requests without both headers get 401. */
  alpacaKeys: { id: string; secret: string } | null = null;

  /** The next `times` requests whose URL matches get this fault. */
  fault(kind: FaultKind, times = 1, match = /./): void {
    this.faults.push({ kind, remaining: times, match });
  }

  /** Requests to the aggregates endpoint so far. */
  get aggregateRequests(): number {
    return this.requests.filter((r) => r.url.startsWith('/v2/aggs/')).length;
  }

  /**
   * The bars the vendor has for a ticker, stamped as Polygon stamps them. Stocks: a daily bar
   * per XNYS session at 00:00 New York, minute bars in regular hours, hourly bars on the hour
   * with the pre- and post-market (04:00-20:00 New York, to 17:00 after an early close). Crypto
   * (X:): every day, daily bars at 00:00 UTC, intraday bars around the clock. Forex (C:): daily
   * bars at 00:00 UTC of each weekday, intraday bars in the 24/5 sessions.
   */
  static bars(ticker: string, timespan: string, multiplier: number, from: string, to: string): SimBar[] {
    const seed = [...ticker].reduce((a, ch) => a + ch.charCodeAt(0), 0);
    const market = ticker.startsWith('X:') ? 'crypto' : ticker.startsWith('C:') ? 'fx' : 'stocks';
    const calendar = calendars[market === 'crypto' ? '24/7' : market === 'fx' ? '24/5' : 'XNYS'];
    const step = multiplier * (timespan === 'hour' ? 3_600_000 : 60_000);
    const out: SimBar[] = [];
    calendar.sessions(from, to).forEach((s, day) => {
      let stamps: number[];
      if (timespan === 'day') stamps = [market === 'stocks' ? zonedTimeToUtc(s.date, '00:00', 'America/New_York').getTime() : Date.parse(`${s.date}T00:00:00Z`)];
      else {
        const hours = market === 'stocks' && timespan === 'hour' ? calendar.extendedHours(s) : s;
        // Clock-aligned: the first bar starts on the hour (or minute) at or before the open.
        const first = Math.floor(hours.open.getTime() / step) * step;
        stamps = Array.from({ length: Math.ceil((hours.close.getTime() - first) / step) }, (_, i) => first + i * step);
      }
      stamps.forEach((t, i) => {
        const c = Math.round((seed + day * 0.37 + i * 0.01 + (day % 7) * 0.5) * 100) / 100;
        out.push({ t, o: c - 0.05, h: c + 0.2, l: c - 0.2, c, v: 1000 + ((seed * 7 + day * 13 + i) % 500), vw: c, n: 10 + (i % 9) });
      });
    });
    return out;
  }

  /** Session dates (YYYY-MM-DD) this vendor has no bars for: a halt, or a day it never recorded. */
  omitDates = new Set<string>();

  /** The bars of a ticker a route serves: shifted by priceShift, without the omitted dates. */
  served(ticker: string, bars: readonly SimBar[]): SimBar[] {
    // A stock bar's session is its date in New York (daily bars at New York midnight, minutes
    // within the hours); crypto and forex bars are dated in UTC.
    const stocks = !ticker.startsWith('X:') && !ticker.startsWith('C:');
    const dateOf = (t: number) => new Date(stocks ? t + zoneOffsetMinutes(new Date(t), 'America/New_York') * 60_000 : t).toISOString().slice(0, 10);
    return bars.filter((b) => !this.omitDates.has(dateOf(b.t))).map((b) => this.shifted(b));
  }

  shifted(b: SimBar): SimBar {
    const k = this.priceShift;
    return k === 0 ? b : { ...b, o: b.o + k, h: b.h + k, l: b.l + k, c: b.c + k, vw: b.vw + k };
  }

  /** Forex daily bars on Sundays too (00:00 UTC), as a vendor that counts UTC days might send them. */
  fxSundays = false;

  /** Answers that contradict their request, until reset: adjusted prices, another ticker, bars shifted by days. */
  lie: { adjusted?: boolean; ticker?: string; shiftDays?: number } | null = null;

  /**
   * A hostile or broken vendor, for the key's sake: next_url pointing at another server (its
   * base URL), a 302 of matching requests to the same path on another server (or on this one,
   * marked redirected=1 so that it is answered the second time), pages that echo the request's
   * credentials in their body, and prices shifted so that another server's rows are told apart.
   */
  nextUrlBase: string | null = null;
  redirect: { readonly to: string; readonly match: RegExp } | null = null;
  echoCredentials = false;
  priceShift = 0;

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    this.requests.push({ url, headers: req.headers });
    this.onRequest?.(this.requests.length);
    const fault = this.faults.find((f) => f.remaining > 0 && f.match.test(url));
    if (fault) fault.remaining--;
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      if (this.echoCredentials && status === 200 && body.startsWith('{')) {
        // As sent, and URL-encoded as a vendor's request URL would carry it.
        const bearer = req.headers.authorization?.replace(/^Bearer /, '');
        // A key sent in the query (Alpha Vantage's apikey) comes back in the URL as sent.
        const inQuery = /[?&]apikey=/.test(url);
        const echo = {
          authorization: req.headers.authorization,
          key_id: req.headers['apca-api-key-id'],
          secret_key: req.headers['apca-api-secret-key'],
          cg_key: req.headers['x-cg-demo-api-key'],
          ...(bearer ? { url: `?apiKey=${encodeURIComponent(bearer)}` } : inQuery ? { url } : {}),
        };
        body = `{"request_echo":${JSON.stringify(echo)},${body.slice(1)}`;
      }
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body);
    };
    if (this.redirect && this.redirect.match.test(url) && !/[?&]redirected=1/.test(url)) {
      return send(302, '', { location: `${this.redirect.to}${url}${url.includes('?') ? '&' : '?'}redirected=1` });
    }
    const recorded = this.recorded.find((r) => sameRequest(url, r.request));
    // A text body (a CSV export) is sent as it is.
    if (recorded) return send(recorded.status ?? 200, typeof recorded.body === 'string' ? recorded.body : JSON.stringify(recorded.body));
    const route = simRoutes.find((r) => r.serves(url))!;
    const refused = route.refuse(req, this);
    if (refused) return send(refused.status, refused.body);
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    switch (fault?.kind) {
      case '429':
        return send(429, route.tooMany, { 'retry-after': '1' });
      case '418':
      case '418-long':
        // Binance's ban of an address that kept on after 429s: 2 seconds, or two hours.
        return send(418, JSON.stringify({ code: -1003, msg: 'Way too much request weight used; IP banned until 1710000000000. Please use WebSocket Streams for live updates to avoid bans.' }), { 'retry-after': fault.kind === '418' ? '2' : '7200' });
      case '500':
      case '503':
        return send(Number(fault.kind), JSON.stringify({ status: 'ERROR', error: 'upstream' }));
      case '401':
        return send(401, JSON.stringify({ status: 'ERROR', error: 'Unknown API Key' }));
      case 'slow': {
        // Answers late, or not at all when the client gives up first (no timer outlives the test).
        const gaveUp = await new Promise<boolean>((r) => {
          const timer = setTimeout(() => r(false), this.slowMs);
          res.on('close', () => {
            clearTimeout(timer);
            r(true);
          });
        });
        if (gaveUp) return;
        break;
      }
      case 'hang':
        return; // never answers: the test ends the client
      default:
        break;
    }
    return route.answer(url, fault?.kind, send, this);
  }

  /** The US stocks the grouped daily endpoint lists. */
  universe = ['AAPL', 'MSFT', 'SPY', 'TSLA'];
  /** Splits the vendor knows (Polygon's shape; Alpaca's is derived from it). */
  splits: { ticker: string; execution_date: string; split_from: number; split_to: number; id: string }[] = [
    { ticker: 'AAPL', execution_date: '2020-08-31', split_from: 1, split_to: 4, id: 'S-AAPL-2020' },
    { ticker: 'TSLA', execution_date: '2020-08-31', split_from: 1, split_to: 5, id: 'S-TSLA-2020' },
    { ticker: 'TSLA', execution_date: '2022-08-25', split_from: 1, split_to: 3, id: 'S-TSLA-2022' },
    { ticker: 'MNTS', execution_date: '2023-08-24', split_from: 50, split_to: 1, id: 'S-MNTS-2023' },
  ];
  /** Dividends the vendor knows: quarterly AAPL cash, a special one, and what tests add. */
  dividends: { ticker: string; ex_dividend_date: string; cash_amount: number; dividend_type: string; currency?: string; declaration_date?: string; pay_date?: string; record_date?: string; frequency?: number; id: string }[] = [
    ...['2023-02-10', '2023-05-12', '2023-08-11', '2023-11-10', '2024-02-09', '2024-05-10', '2024-08-12', '2024-11-08'].map((d, i) => ({
      ticker: 'AAPL',
      ex_dividend_date: d,
      cash_amount: [0.23, 0.24, 0.24, 0.24, 0.24, 0.25, 0.25, 0.25][i]!,
      dividend_type: 'CD',
      currency: 'USD',
      pay_date: d.slice(0, 8) + '16',
      record_date: d.slice(0, 8) + '14',
      frequency: 4,
      id: `D-AAPL-${d}`,
    })),
    { ticker: 'COST', ex_dividend_date: '2023-12-27', cash_amount: 15, dividend_type: 'SC', currency: 'USD', frequency: 0, id: 'D-COST-2023-SC' },
  ];
  /** Listings: active names, and one delisted on 2023-06-30 (its record changed that day). */
  tickers: { ticker: string; name: string; active: boolean; delisted_utc?: string; primary_exchange: string; type: string }[] = [
    { ticker: 'AAPL', name: 'Apple Inc.', active: true, primary_exchange: 'XNAS', type: 'CS' },
    { ticker: 'MSFT', name: 'Microsoft Corp', active: true, primary_exchange: 'XNAS', type: 'CS' },
    { ticker: 'SPY', name: 'SPDR S&P 500 ETF Trust', active: true, primary_exchange: 'ARCX', type: 'ETF' },
    { ticker: 'BBBY', name: 'Bed Bath & Beyond Inc.', active: false, delisted_utc: '2023-05-03T00:00:00Z', primary_exchange: 'XNAS', type: 'CS' },
  ];
}

/** Whether a URL the server got asks what a request key (path?query, any order) asks, under any base path. */
function sameRequest(url: string, key: string): boolean {
  const got = new URL(url, 'http://sim');
  const want = new URL(key, 'http://sim');
  // A key sent in the query (Alpha Vantage's apikey) is never part of a recorded request.
  got.searchParams.delete('apikey');
  got.searchParams.sort();
  want.searchParams.sort();
  return got.pathname.endsWith(want.pathname) && got.searchParams.toString() === want.searchParams.toString();
}
