import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { calendars } from '../../src/calendar/registry.js';
import { zonedTimeToUtc } from '../../src/core/zone.js';

/**
 * A local vendor: serves Polygon aggregates in their documented shape, with paging by
 * next_url, from a deterministic generator, and injects faults on demand. Tests point the
 * adapters' base URL at it (configs/endpoints.yml reads MDW_POLYGON_URL), so nothing leaves
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

  /** The bars the vendor has for a ticker: daily on XNYS sessions, or regular-hours minute bars. */
  static bars(ticker: string, timespan: string, multiplier: number, from: string, to: string): SimBar[] {
    const seed = [...ticker].reduce((a, ch) => a + ch.charCodeAt(0), 0);
    const out: SimBar[] = [];
    calendars.XNYS.sessions(from, to).forEach((s, day) => {
      const stamps =
        timespan === 'day'
          ? [zonedTimeToUtc(s.date, '00:00', 'America/New_York').getTime()]
          : Array.from({ length: Math.floor((s.close.getTime() - s.open.getTime()) / (multiplier * 60_000)) }, (_, i) => s.open.getTime() + i * multiplier * 60_000);
      stamps.forEach((t, i) => {
        const c = Math.round((seed + day * 0.37 + i * 0.01 + (day % 7) * 0.5) * 100) / 100;
        out.push({ t, o: c - 0.05, h: c + 0.2, l: c - 0.2, c, v: 1000 + ((seed * 7 + day * 13 + i) % 500), vw: c, n: 10 + (i % 9) });
      });
    });
    return out;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    this.requests.push({ url, headers: req.headers });
    this.onRequest?.(this.requests.length);
    const fault = this.faults.find((f) => f.remaining > 0 && f.match.test(url));
    if (fault) fault.remaining--;
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body);
    };
    const alpaca = url.startsWith('/v2/stocks/');
    if (alpaca && this.alpacaKeys && (req.headers['apca-api-key-id'] !== this.alpacaKeys.id || req.headers['apca-api-secret-key'] !== this.alpacaKeys.secret)) {
      return send(401, JSON.stringify({ message: 'unauthorized.' }));
    }
    if (!alpaca && this.key !== null && req.headers.authorization !== `Bearer ${this.key}`) {
      return send(401, JSON.stringify({ status: 'ERROR', request_id: 'sim', error: 'Unknown API Key' }));
    }
    switch (fault?.kind) {
      case '429':
        return send(429, JSON.stringify({ status: 'ERROR', error: 'You have exceeded the maximum requests per minute' }), { 'retry-after': '1' });
      case '500':
      case '503':
        return send(Number(fault.kind), JSON.stringify({ status: 'ERROR', error: 'upstream' }));
      case '401':
        return send(401, JSON.stringify({ status: 'ERROR', error: 'Unknown API Key' }));
      case 'slow':
        await new Promise((r) => setTimeout(r, this.slowMs));
        break;
      case 'hang':
        return; // never answers: the test ends the client
      default:
        break;
    }
    if (url.startsWith('/v2/stocks/bars')) return this.alpacaBars(url, fault?.kind, send);
    const m = /^\/v2\/aggs\/ticker\/([^/]+)\/range\/(\d+)\/(\w+)\/(\d{4}-\d{2}-\d{2})\/(\d{4}-\d{2}-\d{2})/.exec(url);
    if (!m) return send(404, JSON.stringify({ status: 'NOT_FOUND', error: 'no such route' }));
    const [, ticker, mult, span, from, to] = m as unknown as [string, string, string, string, string, string];
    const query = new URL(url, 'http://sim').searchParams;
    const all = fault?.kind === 'empty' ? [] : VendorSim.bars(decodeURIComponent(ticker), span, Number(mult), from, to);
    const offset = Number(query.get('cursor') ?? 0);
    const size = Math.min(this.pageSize, Number(query.get('limit') ?? 50_000));
    const results = all.slice(offset, offset + size);
    const nextQuery = new URLSearchParams(query);
    nextQuery.set('cursor', String(offset + size));
    const more = offset + size < all.length;
    const body = JSON.stringify({
      ticker: decodeURIComponent(ticker),
      queryCount: results.length,
      resultsCount: results.length,
      adjusted: query.get('adjusted') === 'true',
      ...(results.length ? { results } : {}),
      status: 'OK',
      request_id: `sim-${this.requests.length}`,
      count: results.length,
      // A page loop: next_url is the page itself.
      ...(fault?.kind === 'loop' ? { next_url: `${this.url}${url}` } : more ? { next_url: `${this.url}${url.split('?')[0]}?${nextQuery.toString()}` } : {}),
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
      .flatMap((sym) => (kind === 'empty' ? [] : VendorSim.bars(sym, 'day', 1, day(q.get('start')), end).map((b) => ({ sym, b }))));
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
}
