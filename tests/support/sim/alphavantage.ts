import type { IncomingMessage } from 'node:http';
import { VendorSim, type FaultKind, type SimBar } from '../vendor-sim.js';
import type { Send, SimRoute } from './route.js';

/**
 * Alpha Vantage (https://www.alphavantage.co/documentation/): every function at /query, the key
 * as the apikey parameter, every answer HTTP 200: data as objects keyed by date (or US/Eastern
 * date-time, the bar's end), newest first, values as strings; {"Error Message"} for a bad call
 * or key; {"Note"} with no data once the plan's limit is reached (sim.alphavantageLimit).
 * LISTING_STATUS answers CSV.
 */
export const alphavantageSim: SimRoute = {
  vendor: 'alphavantage',
  serves: (url) => url.startsWith('/query?') || url === '/query',
  refuse(req: IncomingMessage, sim: VendorSim) {
    const key = sim.vendorKeys['alphavantage'];
    const sent = new URL(req.url ?? '/', 'http://sim').searchParams.get('apikey');
    return key !== undefined && sent !== key ? { status: 200, body: JSON.stringify({ 'Error Message': 'the parameter apikey is invalid or missing. Please claim your free API key on (https://www.alphavantage.co/support/#api-key).' }) } : null;
  },
  tooMany: JSON.stringify({ Note: 'Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day.' }),
  answer(url: string, kind: FaultKind | undefined, send: Send, sim: VendorSim): void {
    const q = new URL(url, 'http://sim').searchParams;
    const served = sim.requests.filter((r) => r.url.startsWith('/query')).length;
    if (sim.alphavantageLimit !== null && served > sim.alphavantageLimit) {
      return send(200, JSON.stringify({ Information: 'Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day. Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to instantly remove all daily rate limits.' }));
    }
    const fn = q.get('function');
    const symbol = q.get('symbol') ?? '';
    const unknown = () => send(200, JSON.stringify({ 'Error Message': `Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for ${fn}.` }));
    if (symbol === 'NOSUCH') return unknown();
    const { from, to } = sim.alphavantageDays;
    const values = (b: SimBar) => ({ '1. open': b.o.toFixed(4), '2. high': b.h.toFixed(4), '3. low': b.l.toFixed(4), '4. close': b.c.toFixed(4), '5. volume': String(b.v) });
    const keyed = (entries: [string, unknown][]) => Object.fromEntries(entries.sort(([a], [b]) => b.localeCompare(a)));
    const dayOf = (t: number) => easternKey(t).slice(0, 10);
    if (fn === 'TIME_SERIES_DAILY' || fn === 'TIME_SERIES_WEEKLY') {
      let bars = kind === 'empty' ? [] : sim.served(symbol, VendorSim.bars(symbol, 'day', 1, from, to));
      if (fn === 'TIME_SERIES_DAILY' && q.get('outputsize') !== 'full') bars = bars.slice(-100);
      // A week is keyed by its last trading day (its values here are that day's).
      if (fn === 'TIME_SERIES_WEEKLY') bars = bars.filter((b, i) => i === bars.length - 1 || weekOf(dayOf(bars[i + 1]!.t)) !== weekOf(dayOf(b.t)));
      const meta = { '1. Information': 'Daily Prices (open, high, low, close) and Volumes', '2. Symbol': symbol, '3. Last Refreshed': to, '5. Time Zone': 'US/Eastern' };
      const series = fn === 'TIME_SERIES_DAILY' ? 'Time Series (Daily)' : 'Weekly Time Series';
      return send(200, JSON.stringify({ 'Meta Data': meta, [series]: keyed(bars.map((b) => [dayOf(b.t), values(b)])) }));
    }
    if (fn === 'TIME_SERIES_DAILY_ADJUSTED') {
      let bars = kind === 'empty' ? [] : sim.served(symbol, VendorSim.bars(symbol, 'day', 1, from, to));
      if (q.get('outputsize') !== 'full') bars = bars.slice(-100);
      const adjusted = (b: SimBar) => {
        const { '5. volume': volume, ...prices } = values(b);
        return { ...prices, '5. adjusted close': b.c.toFixed(4), '6. volume': volume, '7. dividend amount': '0.0000', '8. split coefficient': '1.0' };
      };
      const meta = { '1. Information': 'Daily Time Series with Splits and Dividend Events', '2. Symbol': symbol, '3. Last Refreshed': to, '5. Time Zone': 'US/Eastern' };
      return send(200, JSON.stringify({ 'Meta Data': meta, 'Time Series (Daily)': keyed(bars.map((b) => [dayOf(b.t), adjusted(b)])) }));
    }
    if (fn === 'TIME_SERIES_INTRADAY') {
      const interval = q.get('interval') ?? '';
      const minutes = Number(/^(\d+)min$/.exec(interval)?.[1]);
      const month = q.get('month') ?? to.slice(0, 7);
      if (!minutes) return unknown();
      const [y, m] = month.split('-').map(Number) as [number, number];
      const last = new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
      const bars = kind === 'empty' ? [] : sim.served(symbol, VendorSim.bars(symbol, 'minute', minutes, `${month}-01`, last));
      const step = minutes * 60_000;
      const meta = { '1. Information': `Intraday (${interval}) open, high, low, close prices and volume`, '2. Symbol': symbol, '4. Interval': interval, '5. Output Size': 'Full size', '6. Time Zone': 'US/Eastern' };
      // Keyed by the bar's end, in New York time.
      return send(200, JSON.stringify({ 'Meta Data': meta, [`Time Series (${interval})`]: keyed(bars.map((b) => [easternKey(b.t + step), values(b)])) }));
    }
    if (fn === 'DIGITAL_CURRENCY_DAILY') {
      const market = q.get('market') ?? 'USD';
      // Every day, keyed by its UTC date.
      const bars = kind === 'empty' ? [] : sim.served(`X:${symbol}${market}`, VendorSim.bars(`X:${symbol}${market}`, 'day', 1, from, to));
      const meta = { '1. Information': 'Daily Prices and Volumes for Digital Currency', '2. Digital Currency Code': symbol, '4. Market Code': market, '6. Last Refreshed': `${to} 00:00:00`, '7. Time Zone': 'UTC' };
      return send(200, JSON.stringify({ 'Meta Data': meta, 'Time Series (Digital Currency Daily)': keyed(bars.map((b) => [new Date(b.t).toISOString().slice(0, 10), values(b)])) }));
    }
    if (fn === 'LISTING_STATUS') {
      const state = q.get('state') ?? 'active';
      const rows =
        state === 'delisted'
          ? ['AAIC-P-B,Arlington Asset Investment Corp,NYSE,Stock,2017-05-17,2023-12-14,Delisted']
          : sim.universe.map((s, i) => `${s},${s} Inc,NASDAQ,${s === 'SPY' ? 'ETF' : 'Stock'},${2000 + i}-01-0${i + 1},null,Active`);
      return send(200, ['symbol,name,exchange,assetType,ipoDate,delistingDate,status', ...rows].join('\r\n') + '\r\n', { 'content-type': 'application/x-download' });
    }
    unknown();
  },
};

/** An instant as Alpha Vantage keys it: its New York wall-clock time, "YYYY-MM-DD HH:MM:SS". */
function easternKey(t: number): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(new Date(t))
      .map((p) => [p.type, p.value]),
  );
  return `${parts['year']}-${parts['month']}-${parts['day']} ${parts['hour']}:${parts['minute']}:${parts['second']}`;
}

/** The Monday of a date's week. */
function weekOf(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  return new Date(d.getTime() - ((d.getUTCDay() + 6) % 7) * 86_400_000).toISOString().slice(0, 10);
}
