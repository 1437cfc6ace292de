import type { IncomingMessage } from 'node:http';
import { VendorSim, type FaultKind } from '../vendor-sim.js';
import type { Send, SimRoute } from './route.js';

/** Alpaca: /v2/stocks/bars and /v1/corporate-actions, paged by next_page_token, keyed by two headers. */
export const alpacaSim: SimRoute = {
  vendor: 'alpaca',
  serves: (url) => url.startsWith('/v2/stocks/') || url.startsWith('/v1/corporate-actions'),
  refuse(req: IncomingMessage, sim: VendorSim) {
    const keys = sim.alpacaKeys;
    return keys && (req.headers['apca-api-key-id'] !== keys.id || req.headers['apca-api-secret-key'] !== keys.secret) ? { status: 401, body: JSON.stringify({ message: 'unauthorized.' }) } : null;
  },
  tooMany: JSON.stringify({ message: 'too many requests.' }),
  answer(url: string, kind: FaultKind | undefined, send: Send, sim: VendorSim): void {
    if (url.startsWith('/v2/stocks/bars')) return bars(url, kind, send, sim);
    if (url.startsWith('/v1/corporate-actions')) return actions(url, kind, send, sim);
    send(404, JSON.stringify({ message: 'Not Found' }));
  },
};

/** Alpaca /v2/stocks/bars: {"bars": {SYM: [...]}, "next_page_token"}, daily bars at New York midnight (RFC 3339). */
function bars(url: string, kind: FaultKind | undefined, send: (status: number, body: string) => void, sim: VendorSim): void {
    const q = new URL(url, 'http://sim').searchParams;
    const day = (iso: string | null) => (iso ?? '').slice(0, 10);
    const end = new Date(Date.parse(q.get('end') ?? '') - 1).toISOString().slice(0, 10);
    const rows = (q.get('symbols') ?? '')
      .split(',')
      .filter(Boolean)
      .flatMap((sym) => (kind === 'empty' ? [] : sim.served(sym, VendorSim.bars(sym, 'day', 1, day(q.get('start')), end)).map((b) => ({ sym, b }))));
    const offset = Number(Buffer.from(q.get('page_token') ?? '', 'base64').toString() || 0);
    const page = rows.slice(offset, offset + sim.pageSize);
    const bars: Record<string, unknown[]> = {};
    for (const { sym, b } of page) {
      (bars[sym] ??= []).push({ t: new Date(b.t).toISOString().replace('.000Z', 'Z'), o: b.o, h: b.h, l: b.l, c: b.c, v: b.v, n: b.n, vw: b.vw });
    }
    const more = offset + sim.pageSize < rows.length;
    // A page loop: the token handed back is the one this page was asked with (or page 1's).
    const token = kind === 'loop' ? (q.get('page_token') ?? Buffer.from('0').toString('base64')) : more ? Buffer.from(String(offset + sim.pageSize)).toString('base64') : null;
    send(200, JSON.stringify({ bars, next_page_token: token }));
}

/** Alpaca /v1/corporate-actions: the same splits and dividends, keyed by type, by process date. */
function actions(url: string, kind: FaultKind | undefined, send: (status: number, body: string) => void, sim: VendorSim): void {
    const q = new URL(url, 'http://sim').searchParams;
    const symbols = q.get('symbols')?.split(',') ?? null;
    const types = new Set(q.get('types')?.split(',') ?? ['forward_split', 'reverse_split', 'cash_dividend', 'stock_dividend', 'name_change']);
    const inRange = (d: string) => d >= (q.get('start') ?? '') && d <= (q.get('end') ?? '9999');
    const rows: { type: string; process: string; row: Record<string, unknown> }[] = [];
    for (const x of sim.splits) {
      const type = x.split_from > x.split_to ? 'reverse_split' : 'forward_split';
      rows.push({ type, process: x.execution_date, row: { id: x.id, symbol: x.ticker, ex_date: x.execution_date, old_rate: x.split_from, new_rate: x.split_to, process_date: x.execution_date, record_date: x.execution_date, cusip: 'CUSIP' } });
    }
    for (const x of sim.dividends) {
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
    const page = picked.slice(offset, offset + sim.pageSize);
    const actions: Record<string, unknown[]> = {};
    for (const r of page) (actions[`${r.type}s`] ??= []).push(r.row);
    const more = offset + sim.pageSize < picked.length;
    send(200, JSON.stringify({ corporate_actions: actions, next_page_token: more ? Buffer.from(String(offset + sim.pageSize)).toString('base64') : null }));
}
