import type { IncomingMessage } from 'node:http';
import { calendars } from '../../../src/calendar/registry.js';
import { VendorSim, type FaultKind } from '../vendor-sim.js';
import type { Send, SimRoute } from './route.js';

/**
 * Polygon: aggregates ({ticker, results: [{t, o, h, l, c, v, vw, n}]}, t in epoch ms), grouped
 * daily, splits, dividends and tickers, paged by next_url, keyed by a bearer token.
 */
export const polygonSim: SimRoute = {
  vendor: 'polygon',
  serves: () => true,
  refuse(req: IncomingMessage, sim: VendorSim) {
    return sim.key !== null && req.headers.authorization !== `Bearer ${sim.key}` ? { status: 401, body: JSON.stringify({ status: 'ERROR', request_id: 'sim', error: 'Unknown API Key' }) } : null;
  },
  tooMany: JSON.stringify({ status: 'ERROR', error: 'You have exceeded the maximum requests per minute' }),
  answer(url: string, kind: FaultKind | undefined, send: Send, sim: VendorSim): void {
    if (url.startsWith('/v3/reference/') || url.startsWith('/v2/aggs/grouped/')) return reference(url, kind, send, sim);
    const m = /^\/v2\/aggs\/ticker\/([^/]+)\/range\/(\d+)\/(\w+)\/(\d{4}-\d{2}-\d{2})\/(\d{4}-\d{2}-\d{2})/.exec(url);
    if (!m) return send(404, JSON.stringify({ status: 'NOT_FOUND', error: 'no such route' }));
    const [, ticker, mult, span, from, to] = m as unknown as [string, string, string, string, string, string];
    const query = new URL(url, 'http://sim').searchParams;
    const shift = (sim.lie?.shiftDays ?? 0) * 86_400_000;
    const name = decodeURIComponent(ticker);
    let all = kind === 'empty' ? [] : sim.served(name, VendorSim.bars(name, span, Number(mult), from, to)).map((b) => ({ ...b, t: b.t + shift }));
    if (sim.fxSundays && name.startsWith('C:') && span === 'day') {
      const sundays = [...Array(Math.round((Date.parse(to) - Date.parse(from)) / 86_400_000) + 1).keys()]
        .map((i) => Date.parse(`${from}T00:00:00Z`) + i * 86_400_000)
        .filter((t) => new Date(t).getUTCDay() === 0)
        .map((t) => ({ t, o: 1.1, h: 1.2, l: 1.0, c: 1.1, v: 5, vw: 1.1, n: 1 }));
      all = [...all, ...sundays].sort((a, b) => a.t - b.t);
    }
    const offset = Number(query.get('cursor') ?? 0);
    const size = Math.min(sim.pageSize, Number(query.get('limit') ?? 50_000));
    const results = all.slice(offset, offset + size);
    const nextQuery = new URLSearchParams(query);
    nextQuery.set('cursor', String(offset + size));
    nextQuery.delete('redirected');
    const more = offset + size < all.length;
    const body = JSON.stringify({
      ticker: sim.lie?.ticker ?? decodeURIComponent(ticker),
      queryCount: results.length,
      resultsCount: results.length,
      adjusted: sim.lie?.adjusted ?? query.get('adjusted') === 'true',
      ...(results.length ? { results } : {}),
      status: 'OK',
      request_id: `sim-${sim.requests.length}`,
      count: results.length,
      // A page loop: next_url is the page itself.
      ...(kind === 'loop' ? { next_url: `${sim.url}${url}` } : more ? { next_url: `${sim.nextUrlBase ?? sim.url}${url.split('?')[0]}?${nextQuery.toString()}` } : {}),
    });
    if (kind === 'truncated') return send(200, body.slice(0, Math.floor(body.length / 2)));
    if (kind === 'invalid-json') return send(200, `<html>${body}`);
    return send(200, body);
  },
};

/** Polygon reference lists and grouped daily, paged by next_url with a cursor of this sim's own. */
function reference(url: string, kind: FaultKind | undefined, send: (status: number, body: string) => void, sim: VendorSim): void {
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
      all = session ? sim.universe.map((T) => ({ T, ...VendorSim.bars(T, 'day', 1, '2020-01-01', date).at(-1)!, t: session.close.getTime() })) : [];
    } else if (u.pathname === '/v3/reference/splits') all = sim.splits.filter((x) => forTicker(x.ticker) && between(x.execution_date, 'execution_date'));
    else if (u.pathname === '/v3/reference/dividends') all = sim.dividends.filter((x) => forTicker(x.ticker) && between(x.ex_dividend_date, 'ex_dividend_date'));
    else if (u.pathname === '/v3/reference/tickers') {
      const date = q.get('date') ?? '2026-11-22';
      const active = q.get('active') !== 'false';
      all = sim.tickers
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
    const size = Math.min(sim.pageSize, Number(q.get('limit') ?? 1000));
    const results = all.slice(offset, offset + size);
    const next = new URLSearchParams(q);
    next.set('cursor', String(offset + size));
    send(
      200,
      JSON.stringify({
        results,
        status: 'OK',
        request_id: `sim-${sim.requests.length}`,
        ...(grouped ? { queryCount: results.length, resultsCount: results.length, adjusted: q.get('adjusted') === 'true' } : {}),
        ...(offset + size < all.length ? { next_url: `${sim.url}${u.pathname}?${next.toString()}` } : {}),
      }),
    );
}
