import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { xnys } from '../src/calendar/xnys.js';
import { zoneOffsetMinutes } from '../src/core/zone.js';
import { nextBar, prng } from '../src/fixtures/random-walk.js';

/**
 * A deterministic large data set for `make bench`: N symbols x the NYSE sessions of a span of
 * years, as one-minute bars inside regular hours (early closes included) and daily bars, with a
 * share of bad rows (high below low). Written in the layouts the adapters read:
 *   csv-1m/<SYM>.csv                 Yahoo intraday (Datetime with offset)
 *   csv-1d/<SYM>.csv                 Yahoo daily
 *   polygon-1m/<SYM>/<YYYY-MM-DD>.json   Polygon aggregates pages, one per symbol-day
 * The same parameters give the same bytes; a generated set is reused when its manifest matches.
 */
export interface BenchDataParams {
  readonly symbols: number;
  readonly from: string;
  readonly to: string;
  /** Share of bars made invalid (high < low). */
  readonly badShare: number;
  readonly seed: number;
}

export interface BenchDataManifest {
  readonly params: BenchDataParams;
  readonly symbols: readonly string[];
  readonly sessions: number;
  readonly minuteBars: number;
  readonly minuteBad: number;
  readonly dailyBars: number;
  readonly dailyBad: number;
  readonly seconds: number;
}

const tickers = ['AAPL', 'MSFT', 'AMZN', 'GOOG', 'META', 'NVDA', 'TSLA', 'JPM', 'V', 'JNJ', 'WMT', 'PG', 'XOM', 'UNH', 'HD', 'BAC', 'KO', 'PEP', 'CSCO', 'ORCL', 'INTC', 'DIS', 'MRK', 'CVX', 'ADBE', 'NFLX', 'CRM', 'ABT', 'TMO', 'NKE'];

export function symbolNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => (i < tickers.length ? tickers[i]! : `S${String(i).padStart(4, '0')}`));
}

const f2 = (x: number) => x.toFixed(2);

/** Writes the data set under `dir` unless an identical one is there. */
export function generateBenchData(dir: string, params: BenchDataParams, log: (m: string) => void = () => {}): BenchDataManifest {
  const manifestFile = path.join(dir, 'manifest.json');
  if (existsSync(manifestFile)) {
    const prior = JSON.parse(readFileSync(manifestFile, 'utf8')) as BenchDataManifest;
    if (JSON.stringify(prior.params) === JSON.stringify(params)) return prior;
  }
  rmSync(dir, { recursive: true, force: true });
  const started = Date.now();
  const symbols = symbolNames(params.symbols);
  const sessions = xnys.sessions(params.from, params.to);
  const offsets = sessions.map((s) => {
    const m = zoneOffsetMinutes(s.open, 'America/New_York');
    return `${m < 0 ? '-' : '+'}${String(Math.floor(Math.abs(m) / 60)).padStart(2, '0')}:${String(Math.abs(m) % 60).padStart(2, '0')}`;
  });
  let minuteBars = 0;
  let minuteBad = 0;
  let dailyBars = 0;
  let dailyBad = 0;
  for (const dirName of ['csv-1m', 'csv-1d', 'polygon-1m']) mkdirSync(path.join(dir, dirName), { recursive: true });
  symbols.forEach((symbol, k) => {
    const rand = prng(params.seed * 1000 + k);
    let price = 20 + 480 * rand();
    const csv = openSync(path.join(dir, 'csv-1m', `${symbol}.csv`), 'w');
    writeSync(csv, 'Datetime,Open,High,Low,Close,Adj Close,Volume\n');
    const daily: string[] = ['Date,Open,High,Low,Close,Adj Close,Volume'];
    mkdirSync(path.join(dir, 'polygon-1m', symbol), { recursive: true });
    sessions.forEach((s, d) => {
      const minutes = (s.close.getTime() - s.open.getTime()) / 60000;
      const offsetMs = zoneOffsetMinutes(s.open, 'America/New_York') * 60000;
      const lines: string[] = [];
      const results: object[] = [];
      let dayOpen = 0;
      let dayHigh = -Infinity;
      let dayLow = Infinity;
      let dayVolume = 0;
      for (let m = 0; m < minutes; m++) {
        const bar = nextBar(rand, price, 0.0008, 20_000, 2);
        price = bar.close;
        let { high } = bar;
        const { low } = bar;
        if (rand() < params.badShare) {
          high = Number((low * 0.99).toFixed(2)); // high below low: always invalid
          minuteBad++;
        }
        const t = s.open.getTime() + m * 60000;
        const local = new Date(t + offsetMs).toISOString();
        lines.push(`${local.slice(0, 10)} ${local.slice(11, 19)}${offsets[d]},${f2(bar.open)},${f2(high)},${f2(low)},${f2(bar.close)},${f2(bar.close)},${bar.volume}`);
        results.push({ v: bar.volume, vw: Number(((bar.open + bar.close) / 2).toFixed(4)), o: bar.open, c: bar.close, h: high, l: low, t, n: Math.max(1, Math.round(bar.volume / 100)) });
        if (m === 0) dayOpen = bar.open;
        dayHigh = Math.max(dayHigh, bar.high);
        dayLow = Math.min(dayLow, bar.low);
        dayVolume += bar.volume;
      }
      minuteBars += minutes;
      writeSync(csv, `${lines.join('\n')}\n`);
      writeFileSync(
        path.join(dir, 'polygon-1m', symbol, `${s.date}.json`),
        JSON.stringify({ ticker: symbol, queryCount: minutes, resultsCount: minutes, adjusted: false, results, status: 'OK', request_id: `${symbol}-${s.date}`, count: minutes }),
      );
      let high = dayHigh;
      if (rand() < params.badShare) {
        high = Number((dayLow * 0.99).toFixed(2));
        dailyBad++;
      }
      daily.push(`${s.date},${f2(dayOpen)},${f2(high)},${f2(dayLow)},${f2(price)},${f2(price)},${dayVolume}`);
      dailyBars++;
    });
    closeSync(csv);
    writeFileSync(path.join(dir, 'csv-1d', `${symbol}.csv`), `${daily.join('\n')}\n`);
    log(`generated ${symbol} (${k + 1}/${symbols.length})`);
  });
  const manifest: BenchDataManifest = {
    params,
    symbols,
    sessions: sessions.length,
    minuteBars,
    minuteBad,
    dailyBars,
    dailyBad,
    seconds: (Date.now() - started) / 1000,
  };
  writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

if (process.argv[1]?.endsWith('generate.js')) {
  const [out = 'bench/out/data', symbols = '21', from = '2019-01-01', to = '2023-12-31', bad = '0.001'] = process.argv.slice(2);
  const m = generateBenchData(out, { symbols: Number(symbols), from, to, badShare: Number(bad), seed: 7 }, (l) => process.stderr.write(`${l}\n`));
  process.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
}
