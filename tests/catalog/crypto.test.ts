import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { auditSeries } from '../../src/audit/run-audit.js';
import { loadJob } from '../../src/config/jobs.js';
import type { Context } from '../../src/context.js';
import { createLogger } from '../../src/core/logger.js';
import { HttpClient, VendorError } from '../../src/http/http-client.js';
import { runIngest, type IngestOptions } from '../../src/pipeline/run-ingest.js';
import { copyConfigs, currentFiles, freshCatalog, removeDir, runMdw, tempDir, testContext } from '../support/helpers.js';
import { VendorSim } from '../support/vendor-sim.js';

/**
 * Binance and CoinGecko through the simulator: paging past 1000 klines, each crypto day on the
 * UTC date it covers (a close-stamped candle neither a day early nor late), a candle size that
 * is not the job's refused, and the vendors' refusals (unknown symbol, 418 ban, spent weight).
 */
let root: string;
let configs: string;
let url: string | undefined;
let drop: () => Promise<void>;
let sim: VendorSim;
let n = 0;
const contexts: Context[] = [];

beforeAll(async () => {
  root = tempDir();
  configs = copyConfigs(root);
  ({ url, drop } = await freshCatalog());
  sim = await new VendorSim().start();
  // No pacing to wait on, and no timeout a loaded machine could reach.
  const endpoints = path.join(configs, 'endpoints.yml');
  writeFileSync(endpoints, readFileSync(endpoints, 'utf8').replace(/(\n    rpm: )\d+/g, '$160000').replace(/(\n    daily_budget: \d+)/g, '$1\n    timeout_ms: 120000'));
});

afterAll(async () => {
  for (const c of contexts) await c.close();
  await sim.stop();
  await drop();
  removeDir(root);
});

function warehouse(now: string): Context {
  const ctx = testContext({ home: path.join(root, `home-${++n}`), databaseUrl: url, configDir: configs, now, env: { MDW_BINANCE_URL: sim.url, MDW_COINGECKO_URL: `${sim.url}/api/v3` } });
  contexts.push(ctx);
  sim.requests.length = 0;
  sim.binanceWeight = 0;
  return ctx;
}

/** A job written for the test, from a shipped one with some lines replaced. */
function job(ctx: Context, shipped: string, name: string, replace: Readonly<Record<string, string>>) {
  let text = readFileSync(path.join(configs, 'jobs', `${shipped}.yml`), 'utf8');
  for (const [key, line] of Object.entries(replace)) text = text.replace(new RegExp(`^${key}: .*$`, 'm'), `${key}: ${line}`);
  writeFileSync(path.join(configs, 'jobs', `${name}.yml`), text);
  return loadJob(configs, name, ctx.env);
}

const all: IngestOptions = { window: { from: null, toExclusive: null }, symbols: null, dryRun: false, runId: null };

async function bars(ctx: Context, source: string, granularity: string): Promise<{ symbol: string; ts: string; close: number; volume: number | null; quote_volume: number | null; trades: number | null }[]> {
  const duck = await ctx.duck();
  const rows = await duck.all<Record<string, unknown>>(
    `SELECT symbol, strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS ts, close, volume, quote_volume, trades FROM read_parquet(${currentFiles(`${ctx.paths.lake}/ohlcv/source=${source}/granularity=${granularity}`)}, union_by_name = true) ORDER BY symbol, ts`,
  );
  return rows.map((r) => ({ ...(r as { symbol: string; ts: string; close: number; volume: number | null; quote_volume: number | null }), trades: r['trades'] === null ? null : Number(r['trades']) }));
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

describe('Binance klines through the simulator', () => {
  test('1m klines past 1000 page by startTime: two days are 2,880 klines in 3 pages, each asked once, with quote volume and trades', async () => {
    const ctx = warehouse('2024-04-01T12:00:00Z');
    const j = job(ctx, 'binance-klines', 'binance-minute', { granularity: '1m', window: '{ from: 2024-03-09, to: 2024-03-10 }' });
    const result = await runIngest(ctx, j, { ...all, symbols: ['ETHUSDT'] });
    expect(result.counts).toMatchObject({ recordsIn: 2880, out: 2880, quarantined: 0 });
    const t0 = Date.parse('2024-03-09T00:00:00Z');
    // Each page starts 1 ms after the last kline of the one before.
    expect(sim.requests.map((r) => new URL(r.url, 'http://sim').searchParams.get('startTime'))).toEqual([t0, t0 + 999 * 60_000 + 1, t0 + 1999 * 60_000 + 1].map(String));
    const stored = await bars(ctx, 'binance', '1m');
    const sent = VendorSim.bars('X:ETHUSDT', 'minute', 1, '2024-03-09', '2024-03-10');
    expect(stored).toHaveLength(2880);
    expect([stored[0]!.ts, stored[1000]!.ts, stored.at(-1)!.ts]).toEqual(['2024-03-09T00:00:00Z', '2024-03-09T16:40:00Z', '2024-03-10T23:59:00Z']);
    // Strings with 8 decimals, read as numbers: the values sent.
    expect(stored[1000]).toMatchObject({ close: Number(sent[1000]!.c.toFixed(8)), volume: sent[1000]!.v, quote_volume: Number((sent[1000]!.v * sent[1000]!.vw).toFixed(8)), trades: sent[1000]!.n });
    // A re-run of the closed window asks nothing.
    sim.requests.length = 0;
    await runIngest(ctx, j, { ...all, symbols: ['ETHUSDT'] });
    expect(sim.requests).toHaveLength(0);
  });

  test('a daily kline (open 00:00 UTC) is stored under the UTC date it opens, weekends included, not a day early; the 24/7 ledger is GREEN', async () => {
    const ctx = warehouse('2024-04-01T12:00:00Z');
    const j = job(ctx, 'binance-klines', 'binance-daily', { window: '{ from: 2024-03-01, to: 2024-03-10 }' });
    const result = await runIngest(ctx, j, { ...all, symbols: ['BTCUSDT'] });
    expect(result.counts).toMatchObject({ recordsIn: 10, out: 10, quarantined: 0 });
    const sent = VendorSim.bars('X:BTCUSDT', 'day', 1, '2024-03-01', '2024-03-10');
    const stored = await bars(ctx, 'binance', '1d');
    expect(stored.map((b) => [b.ts, b.close])).toEqual(sent.map((b) => [iso(b.t), Number(b.c.toFixed(8))]));
    expect(stored.map((b) => b.ts.slice(0, 10))).toEqual([...Array(10).keys()].map((i) => `2024-03-${String(i + 1).padStart(2, '0')}`));
    const audit = (await auditSeries(ctx, j, { tolerance: 0.005 }))!;
    expect(audit.ledger).toEqual([{ symbol: 'BTCUSDT', firstSession: '2024-03-01', lastSession: '2024-03-10', status: 'GREEN', sessions: 10, expectedBars: 10, presentBars: 10, quarantined: 0 }]);
  });

  test("an unknown symbol is Binance's -1121, terminal with its message: asked once, nothing stored", async () => {
    const ctx = warehouse('2024-04-01T12:00:00Z');
    const j = job(ctx, 'binance-klines', 'binance-unknown', { window: '{ from: 2024-03-01, to: 2024-03-10 }' });
    const err = (await runIngest(ctx, j, { ...all, symbols: ['NOPEUSDT'] }).catch((e: unknown) => e)) as VendorError;
    expect(err).toBeInstanceOf(VendorError);
    expect([err.status, err.vendor, err.exitCode]).toEqual([400, 'binance', 1]);
    expect(err.message).toBe('binance /api/v3/klines: HTTP 400: Invalid symbol. (code -1121)');
    expect(sim.requests).toHaveLength(1);
    expect(existsSync(path.join(ctx.paths.lake, 'ohlcv'))).toBe(false);
  });
});

describe('the HTTP client and Binance: 418 bans, 429 and the used weight', () => {
  function client(sleeps: number[], now = Date.parse('2024-03-09T10:00:30Z')) {
    return new HttpClient({
      vendor: 'binance',
      baseUrl: sim.url,
      rpm: 60_000,
      logger: createLogger({ level: 'error', color: false, today: new Date(now) }),
      timeoutMs: 120_000,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      now: () => now,
      usedWeight: { header: 'X-MBX-USED-WEIGHT-1M', limit: 6000, windowMs: 60_000 },
    });
  }
  const klines = { symbol: 'BTCUSDT', interval: '1d', startTime: Date.parse('2024-03-01T00:00:00Z'), endTime: Date.parse('2024-03-02T00:00:00Z') - 1, limit: 1000 };

  test("a 418 is waited out for its Retry-After, then asked again; a ban longer than a run waits fails at once, naming when to run again", async () => {
    sim.requests.length = 0;
    sim.binanceWeight = 0;
    const sleeps: number[] = [];
    sim.fault('418', 1, /klines/);
    const page = await client(sleeps).getJson('/api/v3/klines', klines);
    expect((page.body as unknown[]).length).toBe(1);
    expect(sleeps).toEqual([2000]);
    expect(sim.requests).toHaveLength(2);

    sim.requests.length = 0;
    sim.fault('418-long', 1, /klines/);
    const err = (await client([]).getJson('/api/v3/klines', klines).catch((e: unknown) => e)) as VendorError;
    expect(err).toBeInstanceOf(VendorError);
    expect(err.status).toBe(418);
    expect(err.message).toBe(
      'binance /api/v3/klines: HTTP 418: Way too much request weight used; IP banned until 1710000000000. Please use WebSocket Streams for live updates to avoid bans. (code -1003); ' +
        'the vendor asks to wait 7200 s, until 2024-03-09T12:00:30.000Z (a run waits at most 120 s): run again after that',
    );
    expect(sim.requests).toHaveLength(1);
  });

  test('a 429 waits its Retry-After and is asked again', async () => {
    sim.requests.length = 0;
    sim.binanceWeight = 0;
    const sleeps: number[] = [];
    sim.fault('429', 1, /klines/);
    const page = await client(sleeps).getJson('/api/v3/klines', klines);
    expect((page.body as unknown[][])[0]![0]).toBe(klines.startTime);
    expect(sleeps).toEqual([1000]);
    expect(sim.requests).toHaveLength(2);
  });

  test("an answer whose X-MBX-USED-WEIGHT-1M is 90% of the limit holds the next request until the next minute", async () => {
    sim.requests.length = 0;
    const sleeps: number[] = [];
    const http = client(sleeps);
    sim.binanceWeight = 5000;
    await http.getJson('/api/v3/klines', klines); // weight 5002: under 5400
    expect(sleeps).toEqual([]);
    sim.binanceWeight = 5400;
    await http.getJson('/api/v3/klines', klines); // weight 5402
    await http.getJson('/api/v3/klines', klines);
    // Now is 10:00:30: the window opens again at 10:01:00, and a second's margin.
    expect(sleeps).toEqual([31_000]);
    expect(sim.requests).toHaveLength(3);
  });
});

describe('CoinGecko candles through the simulator', () => {
  const now = '2024-03-10T12:00:00Z';

  test('a daily candle is stamped at its close: the one closing 2024-03-10T00:00Z is stored as 2024-03-09, each candle on the day it covers, neither a day early nor late', async () => {
    const ctx = warehouse(now);
    sim.coingeckoNow = Date.parse(now);
    const j = job(ctx, 'coingecko-ohlc', 'coingecko-daily', { granularity: '1d', window: '{ from: 2024-03-01, to: 2024-03-09 }' });
    const result = await runIngest(ctx, j, { ...all, symbols: ['BTC'] });
    // 9 days back and a half from 12:00 on the 10th: days=14, interval=daily (a paid plan's).
    expect(sim.requests.map((r) => r.url)).toEqual(['/api/v3/coins/bitcoin/ohlc?days=14&interval=daily&vs_currency=usd']);
    // 14 candles, closing 00:00Z of 2024-02-26 .. 2024-03-10; the 9 of the window's days kept.
    expect(result.counts).toMatchObject({ recordsIn: 14, out: 9, quarantined: 0 });
    const stored = await bars(ctx, 'coingecko', '1d');
    // The candles closing 2024-03-02 .. 2024-03-10, each stored as the day before.
    const closes = [...Array(9).keys()].map((i) => Date.parse('2024-03-02T00:00:00Z') + i * 86_400_000);
    expect(stored.map((b) => b.ts)).toEqual(closes.map((t) => iso(t - 86_400_000)));
    expect([stored[0]!.ts, stored.at(-1)!.ts]).toEqual(['2024-03-01T00:00:00Z', '2024-03-09T00:00:00Z']);
    expect(stored.every((b) => b.volume === null && b.symbol === 'BTC')).toBe(true);
    // The candle that closed at 2024-03-10T00:00Z holds the close the vendor sent for it.
    const seed = [...'bitcoin'].reduce((a, ch) => a + ch.charCodeAt(0), 0) * 10;
    const lastClose = Math.round((seed + (closes.at(-1)! / 86_400_000) % 97) * 100) / 100;
    expect(stored.at(-1)!.close).toBe(lastClose);
    const audit = (await auditSeries(ctx, j, { tolerance: 0.005 }))!;
    expect(audit.ledger).toEqual([{ symbol: 'BTC', firstSession: '2024-03-01', lastSession: '2024-03-09', status: 'GREEN', sessions: 9, expectedBars: 9, presentBars: 9, quarantined: 0 }]);
  });

  test('4-hour candles come from days=7 for a window five days back; a vendor answering another size is refused and nothing is stored', async () => {
    const ctx = warehouse(now);
    sim.coingeckoNow = Date.parse(now);
    const j = job(ctx, 'coingecko-ohlc', 'coingecko-4h', { window: '{ from: 2024-03-05 }' });
    const ok = await runIngest(ctx, j, { ...all, symbols: ['ETH'] });
    expect(sim.requests.map((r) => r.url)).toEqual(['/api/v3/coins/ethereum/ohlc?days=7&vs_currency=usd']);
    // 42 candles, closing 2024-03-03T16:00Z .. 2024-03-10T12:00Z; the 33 starting in the window kept.
    expect(ok.counts).toMatchObject({ recordsIn: 42, out: 33, quarantined: 0 });
    const stored = await bars(ctx, 'coingecko', '4h');
    // The last candle closes at 12:00 on the 10th: it starts at 08:00.
    expect([stored[0]!.ts, stored.at(-1)!.ts]).toEqual(['2024-03-05T00:00:00Z', '2024-03-10T08:00:00Z']);

    const other = warehouse(now);
    sim.coingeckoStepMs = 3_600_000;
    try {
      const err = (await runIngest(other, job(other, 'coingecko-ohlc', 'coingecko-4h-wrong', { window: '{ from: 2024-03-05 }' }), { ...all, symbols: ['ETH'] }).catch((e: unknown) => e)) as VendorError;
      expect(err).toBeInstanceOf(VendorError);
      expect(err.message).toBe(
        'coingecko /coins/ethereum/ohlc days=7: candles 2024-03-03T13:00:00.000Z and 2024-03-03T14:00:00.000Z are 60 minutes apart, not the 240-minute candles asked for; refused rather than stored as another size (CoinGecko picks the size from days)',
      );
    } finally {
      sim.coingeckoStepMs = null;
    }
    expect(existsSync(path.join(other.paths.lake, 'ohlcv'))).toBe(false);
  });

  test('a symbol with no coin id in source.coins is a usage error naming it; an unknown coin id is CoinGecko\'s 404 with its message', async () => {
    const ctx = warehouse(now);
    const j = job(ctx, 'coingecko-ohlc', 'coingecko-unmapped', { window: '{ from: 2024-03-05 }' });
    await expect(runIngest(ctx, j, { ...all, symbols: ['DOGE'] })).rejects.toThrow(
      'coingecko-unmapped: CoinGecko names coins by id, not ticker: add DOGE to source.coins in the job (e.g. BTC: bitcoin; /coins/list lists the ids)',
    );
    expect(sim.requests).toHaveLength(0);
    const wrong = job(ctx, 'coingecko-ohlc', 'coingecko-unknown', { window: '{ from: 2024-03-05 }', symbols: '[XYZ]' });
    writeFileSync(path.join(configs, 'jobs', 'coingecko-unknown.yml'), readFileSync(path.join(configs, 'jobs', 'coingecko-unknown.yml'), 'utf8').replace('coins: { BTC: bitcoin, ETH: ethereum }', 'coins: { XYZ: not-a-coin }'));
    const err = (await runIngest(ctx, loadJob(configs, 'coingecko-unknown', ctx.env), { ...all, symbols: ['XYZ'] }).catch((e: unknown) => e)) as VendorError;
    expect(wrong.name).toBe('coingecko-unknown');
    expect([err.status, err.message]).toEqual([404, 'coingecko /api/v3/coins/not-a-coin/ohlc: HTTP 404: coin not found']);
  });
});

describe('crypto_market from the command line', () => {
  test('mdw ingest coingecko-market-chart stores hourly samples of each coin, and mdw query sql reads them from crypto_market', async () => {
    const home = path.join(root, `cli-${++n}`);
    const own = await freshCatalog();
    try {
      const env = { MDW_COINGECKO_URL: `${sim.url}/api/v3`, ...(own.url ? { MDW_DATABASE_URL: own.url } : {}) };
      expect((await runMdw(['--home', home, 'init', '--yes'], { env })).code).toBe(0);
      sim.requests.length = 0;
      const run = await runMdw(['--home', home, '--config-dir', configs, 'ingest', 'coingecko-market-chart', '--from', '2024-03-01', '--to', '2024-03-03'], { env });
      expect([run.code, run.stderr]).toEqual([
        0,
        'info: coingecko-market-chart: 144 records from 2 inputs; 144 stored, 0 already stored or repeated, 0 quarantined, 0 outside the window or symbols; 1 partitions written, 0 unchanged\n',
      ]);
      // One range a coin: 3 days, hourly.
      expect(sim.requests.map((r) => r.url)).toEqual([
        '/api/v3/coins/bitcoin/market_chart/range?from=1709251200&to=1709510400&vs_currency=usd',
        '/api/v3/coins/ethereum/market_chart/range?from=1709251200&to=1709510400&vs_currency=usd',
      ]);
      const q = await runMdw(
        ['--home', home, '--config-dir', configs, 'query', 'sql', "select symbol, count(*) as n, strftime(min(ts), '%Y-%m-%dT%H:%M:%S') as first, strftime(max(ts), '%Y-%m-%dT%H:%M:%S') as last from crypto_market group by symbol order by symbol", '--format', 'csv'],
        { env },
      );
      expect([q.code, q.stdout]).toEqual([0, 'symbol,n,first,last\nBTC,72,2024-03-01T00:02:17,2024-03-03T23:02:17\nETH,72,2024-03-01T00:02:17,2024-03-03T23:02:17\n']);
    } finally {
      await own.drop();
    }
  });
});

describe('binance-klines from the command line', () => {
  test('mdw ingest binance-klines, then mdw query ohlcv shows each day with its quote volume and trade count', async () => {
    const home = path.join(root, `cli-${++n}`);
    const own = await freshCatalog();
    try {
      const env = { MDW_BINANCE_URL: sim.url, ...(own.url ? { MDW_DATABASE_URL: own.url } : {}) };
      expect((await runMdw(['--home', home, 'init', '--yes'], { env })).code).toBe(0);
      const run = await runMdw(['--home', home, '--config-dir', configs, 'ingest', 'binance-klines', '--from', '2024-03-01', '--to', '2024-03-02', '--symbols', 'BTCUSDT'], { env });
      expect(run.code).toBe(0);
      const q = await runMdw(['--home', home, '--config-dir', configs, 'query', 'ohlcv', 'BTCUSDT', '--from', '2024-03-01', '--to', '2024-03-02', '--calendar', '24/7', '--source', 'binance', '--columns', 'ts,close,quote_volume,trades', '--format', 'csv'], { env });
      const sent = VendorSim.bars('X:BTCUSDT', 'day', 1, '2024-03-01', '2024-03-02');
      expect([q.code, q.stderr]).toEqual([0, '']);
      expect(q.stdout.trim().split('\n').slice(1).map((l) => l.split(',').map((x, i) => (i === 0 ? x.slice(0, 10) : Number(x))))).toEqual(
        sent.map((b) => [iso(b.t).slice(0, 10), Number(b.c.toFixed(8)), Number((b.v * b.vw).toFixed(8)), b.n]),
      );
    } finally {
      await own.drop();
    }
  });
});

describe('faults of both vendors in the simulator', () => {
  const vendors = [
    { vendor: 'binance', shipped: 'binance-klines', source: 'binance', granularity: '1d', symbols: ['BTCUSDT'], rows: 3, match: /klines/ },
    { vendor: 'coingecko', shipped: 'coingecko-ohlc', source: 'coingecko', granularity: '4h', symbols: ['BTC'], rows: 18, match: /ohlc/ },
  ] as const;
  const now = '2024-03-10T12:00:00Z';

  test.each(vendors.flatMap((v) => ([['429 with Retry-After', '429', 1], ['a burst of 503s', '503', 2], ['a truncated body', 'truncated', 1], ['invalid JSON', 'invalid-json', 1]] as const).map(([name, kind, times]) => ({ ...v, name, kind, times }))))(
    '$vendor: $name is asked again and the run stores what a clean run stores',
    async ({ shipped, source, granularity, symbols, rows, match, kind, times }) => {
      const ctx = warehouse(now);
      sim.coingeckoNow = Date.parse(now);
      const j = job(ctx, shipped, `${shipped}-${kind}`, { window: '{ from: 2024-03-07, to: 2024-03-09 }' });
      sim.fault(kind, times, match);
      const result = await runIngest(ctx, j, { ...all, symbols: [...symbols] });
      expect(result.counts).toMatchObject({ out: rows, quarantined: 0 });
      expect((await bars(ctx, source, granularity)).map((b) => b.ts.slice(0, 10))).toEqual(
        granularity === '1d' ? ['2024-03-07', '2024-03-08', '2024-03-09'] : [...Array(18).keys()].map((i) => `2024-03-0${7 + Math.floor(i / 6)}`),
      );
      // Each faulted answer asked again once.
      expect(sim.requests).toHaveLength(1 + times);
    },
  );

  test.each(vendors)('$vendor: a 401 fails at once with the vendor and status; nothing is stored', async ({ shipped, symbols, match, vendor }) => {
    const ctx = warehouse(now);
    sim.coingeckoNow = Date.parse(now);
    const j = job(ctx, shipped, `${shipped}-401`, { window: '{ from: 2024-03-07, to: 2024-03-09 }' });
    sim.fault('401', 1, match);
    const err = (await runIngest(ctx, j, { ...all, symbols: [...symbols] }).catch((e: unknown) => e)) as VendorError;
    expect(err).toBeInstanceOf(VendorError);
    expect([err.vendor, err.status, err.exitCode]).toEqual([vendor, 401, 1]);
    expect(err.message).toMatch(/: HTTP 401 \(check the API key in the environment variable configs\/endpoints\.yml names\): Unknown API Key$/);
    expect(sim.requests).toHaveLength(1);
    expect(existsSync(path.join(ctx.paths.lake, 'ohlcv'))).toBe(false);
  });
});
