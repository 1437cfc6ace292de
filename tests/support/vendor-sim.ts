import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calendars } from '../../src/calendar/registry.js';
import { zonedTimeToUtc } from '../../src/core/zone.js';

/**
 * A local vendor: serves Polygon aggregates in their documented shape, with paging by
 * next_url, from a deterministic generator, and injects faults on demand. Tests point the
 * adapters' base URL at it (MDW_POLYGON_URL, MDW_ALPACA_URL), so nothing leaves
 * the machine.
 */
export type FaultKind = '429' | '500' | '503' | 'slow' | 'truncated' | 'invalid-json' | 'empty' | '401' | 'loop' | 'hang';

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

  private shifted(b: SimBar): SimBar {
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
        const echo = { authorization: req.headers.authorization, key_id: req.headers['apca-api-key-id'], secret_key: req.headers['apca-api-secret-key'], ...(bearer ? { url: `?apiKey=${encodeURIComponent(bearer)}` } : {}) };
        body = `{"request_echo":${JSON.stringify(echo)},${body.slice(1)}`;
      }
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body);
    };
    if (this.redirect && this.redirect.match.test(url) && !/[?&]redirected=1/.test(url)) {
      return send(302, '', { location: `${this.redirect.to}${url}${url.includes('?') ? '&' : '?'}redirected=1` });
    }
    const alpaca = url.startsWith('/v2/stocks/') || url.startsWith('/v1/corporate-actions');
    if (alpaca && this.alpacaKeys && (req.headers['apca-api-key-id'] !== this.alpacaKeys.id || req.headers['apca-api-secret-key'] !== this.alpacaKeys.secret)) {
      return send(401, JSON.stringify({ message: 'unauthorized.' }));
    }
    if (!alpaca && this.key !== null && req.headers.authorization !== `Bearer ${this.key}`) {
      return send(401, JSON.stringify({ status: 'ERROR', request_id: 'sim', error: 'Unknown API Key' }));
    }
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    switch (fault?.kind) {
      case '429':
        return send(429, JSON.stringify({ status: 'ERROR', error: 'You have exceeded the maximum requests per minute' }), { 'retry-after': '1' });
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
    if (url.startsWith('/v2/stocks/bars')) return this.alpacaBars(url, fault?.kind, send);
    if (url.startsWith('/v1/corporate-actions')) return this.alpacaActions(url, fault?.kind, send);
    if (url.startsWith('/v3/reference/') || url.startsWith('/v2/aggs/grouped/')) return this.polygonReference(url, fault?.kind, send);
    const m = /^\/v2\/aggs\/ticker\/([^/]+)\/range\/(\d+)\/(\w+)\/(\d{4}-\d{2}-\d{2})\/(\d{4}-\d{2}-\d{2})/.exec(url);
    if (!m) return send(404, JSON.stringify({ status: 'NOT_FOUND', error: 'no such route' }));
    const [, ticker, mult, span, from, to] = m as unknown as [string, string, string, string, string, string];
    const query = new URL(url, 'http://sim').searchParams;
    const shift = (this.lie?.shiftDays ?? 0) * 86_400_000;
    const name = decodeURIComponent(ticker);
    let all = fault?.kind === 'empty' ? [] : VendorSim.bars(name, span, Number(mult), from, to).map((b) => ({ ...this.shifted(b), t: b.t + shift }));
    if (this.fxSundays && name.startsWith('C:') && span === 'day') {
      const sundays = [...Array(Math.round((Date.parse(to) - Date.parse(from)) / 86_400_000) + 1).keys()]
        .map((i) => Date.parse(`${from}T00:00:00Z`) + i * 86_400_000)
        .filter((t) => new Date(t).getUTCDay() === 0)
        .map((t) => ({ t, o: 1.1, h: 1.2, l: 1.0, c: 1.1, v: 5, vw: 1.1, n: 1 }));
      all = [...all, ...sundays].sort((a, b) => a.t - b.t);
    }
    const offset = Number(query.get('cursor') ?? 0);
    const size = Math.min(this.pageSize, Number(query.get('limit') ?? 50_000));
    const results = all.slice(offset, offset + size);
    const nextQuery = new URLSearchParams(query);
    nextQuery.set('cursor', String(offset + size));
    nextQuery.delete('redirected');
    const more = offset + size < all.length;
    const body = JSON.stringify({
      ticker: this.lie?.ticker ?? decodeURIComponent(ticker),
      queryCount: results.length,
      resultsCount: results.length,
      adjusted: this.lie?.adjusted ?? query.get('adjusted') === 'true',
      ...(results.length ? { results } : {}),
      status: 'OK',
      request_id: `sim-${this.requests.length}`,
      count: results.length,
      // A page loop: next_url is the page itself.
      ...(fault?.kind === 'loop' ? { next_url: `${this.url}${url}` } : more ? { next_url: `${this.nextUrlBase ?? this.url}${url.split('?')[0]}?${nextQuery.toString()}` } : {}),
    });
    if (fault?.kind === 'truncated') return send(200, body.slice(0, Math.floor(body.length / 2)));
    if (fault?.kind === 'invalid-json') return send(200, `<html>${body}`);
    return send(200, body);
  }

  /** Alpaca /v2/stocks/bars: {"bars": {SYM: [...]}, "next_page_token"}, daily bars at New York midnight (RFC 3339). */
  private alpacaBars(url: string, kind: FaultKind | undefined, send: (status: number, body: string) => void): void {
    const q = new URL(url, 'http://sim').searchParams;
    const day = (iso: string | null) => (iso ?? '').slice(0, 10);
    const end = new Date(Date.parse(q.get('end') ?? '') - 1).toISOString().slice(0, 10);
    const rows = (q.get('symbols') ?? '')
      .split(',')
      .filter(Boolean)
      .flatMap((sym) => (kind === 'empty' ? [] : VendorSim.bars(sym, 'day', 1, day(q.get('start')), end).map((b) => ({ sym, b: this.shifted(b) }))));
    const offset = Number(Buffer.from(q.get('page_token') ?? '', 'base64').toString() || 0);
    const page = rows.slice(offset, offset + this.pageSize);
    const bars: Record<string, unknown[]> = {};
    for (const { sym, b } of page) {
      (bars[sym] ??= []).push({ t: new Date(b.t).toISOString().replace('.000Z', 'Z'), o: b.o, h: b.h, l: b.l, c: b.c, v: b.v, n: b.n, vw: b.vw });
    }
    const more = offset + this.pageSize < rows.length;
    // A page loop: the token handed back is the one this page was asked with (or page 1's).
    const token = kind === 'loop' ? (q.get('page_token') ?? Buffer.from('0').toString('base64')) : more ? Buffer.from(String(offset + this.pageSize)).toString('base64') : null;
    send(200, JSON.stringify({ bars, next_page_token: token }));
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

  /** Polygon reference lists and grouped daily, paged by next_url with a cursor of this sim's own. */
  private polygonReference(url: string, kind: FaultKind | undefined, send: (status: number, body: string) => void): void {
    const u = new URL(url, 'http://sim');
    const q = u.searchParams;
    const between = (d: string, field: string) => (!q.get(`${field}.gte`) || d >= q.get(`${field}.gte`)!) && (!q.get(`${field}.lte`) || d <= q.get(`${field}.lte`)!);
    const forTicker = (t: string) => !q.get('ticker') || q.get('ticker') === t;
    let all: unknown[];
    const grouped = /^\/v2\/aggs\/grouped\/locale\/us\/market\/stocks\/(\d{4}-\d{2}-\d{2})$/.exec(u.pathname);
    if (grouped) {
      const date = grouped[1]!;
      const session = calendars.XNYS.sessions(date, date)[0];
      // The live API stamps a grouped bar at the session's close.
      // The same bar the aggregates endpoint gives for that session (its series starts in 2020).
      all = session ? this.universe.map((T) => ({ T, ...VendorSim.bars(T, 'day', 1, '2020-01-01', date).at(-1)!, t: session.close.getTime() })) : [];
    } else if (u.pathname === '/v3/reference/splits') all = this.splits.filter((x) => forTicker(x.ticker) && between(x.execution_date, 'execution_date'));
    else if (u.pathname === '/v3/reference/dividends') all = this.dividends.filter((x) => forTicker(x.ticker) && between(x.ex_dividend_date, 'ex_dividend_date'));
    else if (u.pathname === '/v3/reference/tickers') {
      const date = q.get('date') ?? '2026-11-22';
      const active = q.get('active') !== 'false';
      all = this.tickers
        .filter((x) => forTicker(x.ticker))
        // Delisted names are inactive from their delisting on; before it they were active.
        .map((x) => ({ ...x, active: x.active || (x.delisted_utc !== undefined && date < x.delisted_utc.slice(0, 10)) }))
        .filter((x) => x.active === active)
        .map((x) => ({
          ticker: x.ticker,
          name: x.name,
          market: 'stocks',
          locale: 'us',
          primary_exchange: x.primary_exchange,
          type: x.type,
          active: x.active,
          currency_name: 'usd',
          cik: '0000320193',
          composite_figi: `BBG-${x.ticker}`,
          share_class_figi: `BBG-SC-${x.ticker}`,
          // Each record as of the date asked for; a delisted one stays as of its delisting.
          last_updated_utc: !x.active && x.delisted_utc ? x.delisted_utc : `${date}T00:00:00Z`,
          ...(x.active ? {} : { delisted_utc: x.delisted_utc }),
        }));
    } else return send(404, JSON.stringify({ status: 'NOT_FOUND', error: 'no such route' }));
    if (kind === 'empty') all = [];
    const offset = Number(q.get('cursor') ?? 0);
    const size = Math.min(this.pageSize, Number(q.get('limit') ?? 1000));
    const results = all.slice(offset, offset + size);
    const next = new URLSearchParams(q);
    next.set('cursor', String(offset + size));
    send(
      200,
      JSON.stringify({
        results,
        status: 'OK',
        request_id: `sim-${this.requests.length}`,
        ...(grouped ? { queryCount: results.length, resultsCount: results.length, adjusted: q.get('adjusted') === 'true' } : {}),
        ...(offset + size < all.length ? { next_url: `${this.url}${u.pathname}?${next.toString()}` } : {}),
      }),
    );
  }

  /** Alpaca /v1/corporate-actions: the same splits and dividends, keyed by type, by process date. */
  private alpacaActions(url: string, kind: FaultKind | undefined, send: (status: number, body: string) => void): void {
    const q = new URL(url, 'http://sim').searchParams;
    const symbols = q.get('symbols')?.split(',') ?? null;
    const types = new Set(q.get('types')?.split(',') ?? ['forward_split', 'reverse_split', 'cash_dividend', 'stock_dividend', 'name_change']);
    const inRange = (d: string) => d >= (q.get('start') ?? '') && d <= (q.get('end') ?? '9999');
    const rows: { type: string; process: string; row: Record<string, unknown> }[] = [];
    for (const x of this.splits) {
      const type = x.split_from > x.split_to ? 'reverse_split' : 'forward_split';
      rows.push({ type, process: x.execution_date, row: { id: x.id, symbol: x.ticker, ex_date: x.execution_date, old_rate: x.split_from, new_rate: x.split_to, process_date: x.execution_date, record_date: x.execution_date, cusip: 'CUSIP' } });
    }
    for (const x of this.dividends) {
      const process = x.pay_date ?? x.ex_dividend_date;
      rows.push({
        type: 'cash_dividend',
        process,
        row: { id: x.id, symbol: x.ticker, ex_date: x.ex_dividend_date, rate: x.cash_amount, special: x.dividend_type === 'SC', foreign: false, process_date: process, payable_date: x.pay_date, record_date: x.record_date },
      });
    }
    rows.push({ type: 'stock_dividend', process: '2023-05-19', row: { id: 'SD-MSBC', symbol: 'MSBC', ex_date: '2023-05-19', rate: 0.05, process_date: '2023-05-19', payable_date: '2023-06-05', record_date: '2023-05-22' } });
    rows.push({ type: 'name_change', process: '2023-05-19', row: { old_symbol: 'FB', new_symbol: 'META', process_date: '2023-05-19' } });
    const picked = kind === 'empty' ? [] : rows.filter((r) => types.has(r.type) && inRange(r.process) && (!symbols || symbols.includes(String(r.row.symbol ?? r.row.old_symbol))));
    const offset = Number(Buffer.from(q.get('page_token') ?? '', 'base64').toString() || 0);
    const page = picked.slice(offset, offset + this.pageSize);
    const actions: Record<string, unknown[]> = {};
    for (const r of page) (actions[`${r.type}s`] ??= []).push(r.row);
    const more = offset + this.pageSize < picked.length;
    send(200, JSON.stringify({ corporate_actions: actions, next_page_token: more ? Buffer.from(String(offset + this.pageSize)).toString('base64') : null }));
  }
}
