import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { planAggregates } from '../../src/sources/polygon/aggs.js';
import { loadJob } from '../../src/config/jobs.js';
import type { Context } from '../../src/context.js';
import { parseGranularity } from '../../src/core/granularity.js';
import { VendorError } from '../../src/http/http-client.js';
import { runIngest, type IngestOptions } from '../../src/pipeline/run-ingest.js';
import { auditSeries } from '../../src/audit/run-audit.js';
import { calendars } from '../../src/calendar/registry.js';
import { listQuarantine } from '../../src/catalog/quarantine-catalog.js';
import { parseWindow } from '../../src/core/time-window.js';
import { copyConfigs, freshCatalog, lakeContent, removeDir, repoRoot, runMdw, tempDir, testContext, currentFiles } from '../support/helpers.js';
import { VendorSim } from '../support/vendor-sim.js';

/**
 * The vendor layer against a local Polygon: pages landed as received, canonical bars in the
 * lake, faults retried or reported, a daily budget shared by processes, and keys nowhere.
 */
const all: IngestOptions = { window: { from: null, toExclusive: null }, symbols: null, dryRun: false, runId: null };
const key = 'sk-sim-SECRET-7f3a9c';

let root: string;
let configs: string;
let url: string | undefined;
let drop: () => Promise<void>;
const drops: (() => Promise<void>)[] = [];
let sim: VendorSim;
let ctx: Context;
let home: string;
let n = 0;

/**
 * The simulator's answers take milliseconds, but a loaded machine can stall a process for
 * seconds: a client timeout the tests could hit would retry, and request counts would count the
 * machine's speed. Only the test of a slow answer sets a short one.
 */
const patientMs = 120_000;

function writeEndpoints(budget: number, timeoutMs = patientMs): void {
  writeFileSync(
    path.join(configs, 'endpoints.yml'),
    `providers:\n  polygon:\n    base_url: https://api.polygon.io\n    rpm: 60000\n    daily_budget: ${budget}\n    timeout_ms: ${timeoutMs}\n` +
      `    auth: { kind: bearer, env: POLYGON_API_KEY }\n`,
  );
}

/** Adds Alpaca to the test's endpoints.yml; the simulator wants its keys. */
function addAlpaca(): void {
  sim.alpacaKeys = { id: 'AKSIMID', secret: 'sk-alpaca-SECRET-42' };
  writeFileSync(
    path.join(configs, 'endpoints.yml'),
    readFileSync(path.join(configs, 'endpoints.yml'), 'utf8') +
      `  alpaca:\n    base_url: https://data.alpaca.markets\n    rpm: 60000\n    daily_budget: 1000\n    timeout_ms: ${patientMs}\n` +
      `    auth: { kind: headers, env: { APCA-API-KEY-ID: ALPACA_KEY_ID, APCA-API-SECRET-KEY: ALPACA_SECRET_KEY } }\n`,
  );
}

beforeAll(async () => {
  root = tempDir();
  configs = copyConfigs(root);
  ({ url, drop } = await freshCatalog());
  sim = await new VendorSim().start();
  sim.key = key;
  writeFileSync(
    path.join(configs, 'jobs', 'poly.yml'),
    'dataset: ohlcv\ngranularity: 1d\ncalendar: XNYS\nsource: { name: poly, adapter: polygon }\nsymbols: [AAPL, MSFT, SPY]\nwindow: { from: 2023-01-01, to: 2024-12-31 }\ntransform: polygon-aggs\n',
  );
});

afterAll(async () => {
  await ctx?.close();
  await sim.stop();
  await drop();
  for (const d of drops) await d();
  removeDir(root);
});

/** A fresh warehouse for each test; the catalog server (if any) is shared and told apart by source names. */
beforeEach(async () => {
  await ctx?.close();
  writeEndpoints(10_000);
  home = path.join(root, `home-${++n}`);
  ctx = testContext({ home, databaseUrl: url, configDir: configs, env: { MDW_POLYGON_URL: sim.url, POLYGON_API_KEY: key } });
  await ctx.catalog();
  sim.requests.length = 0;
});

async function stored(): Promise<{ symbol: string; day: string; close: number; volume: number; trades: number }[]> {
  const duck = await ctx.duck();
  return duck.all(
    `SELECT symbol, strftime(ts, '%Y-%m-%d') AS day, close, volume, trades FROM read_parquet(${currentFiles(`${ctx.paths.lake}/ohlcv/source=poly`)}) ORDER BY symbol, ts`,
  );
}

function rawPages(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(path.join(d, e.name)) : e.name.endsWith('.json.gz') && out.push(path.join(d, e.name));
  };
  walk(path.join(ctx.paths.lake, 'raw'));
  return out.sort();
}

describe('Polygon aggregates through the simulator', () => {
  test('requests stay under 50,000 bars (34 days of minute bars around the clock); daily windows are one request per symbol', () => {
    const minute = planAggregates(['AAPL'], '2024-01-01', '2024-03-31', parseGranularity('1m'));
    expect(minute.map((r) => [r.from, r.to])).toEqual([['2024-01-01', '2024-02-03'], ['2024-02-04', '2024-03-08'], ['2024-03-09', '2024-03-31']]);
    expect(planAggregates(['A', 'B'], '2000-01-01', '2024-12-31', parseGranularity('1d')).map((r) => [r.ticker, r.multiplier, r.timespan, r.from, r.to])).toEqual([
      ['A', 1, 'day', '2000-01-01', '2024-12-31'],
      ['B', 1, 'day', '2000-01-01', '2024-12-31'],
    ]);
  });

  test('a daily job lands every page as received and stores each session once; a second run fetches nothing and changes nothing', async () => {
    const job = loadJob(configs, 'poly', ctx.env);
    const first = await runIngest(ctx, job, all);
    const expected = ['AAPL', 'MSFT', 'SPY'].flatMap((s) => VendorSim.bars(s, 'day', 1, '2023-01-01', '2024-12-31').map((b) => ({ s, b })));
    expect(first.counts).toMatchObject({ recordsIn: expected.length, out: expected.length, quarantined: 0 });
    // 502 sessions in 2023-2024: six pages of 100 per symbol, each page landed gzipped as received.
    expect(sim.aggregateRequests).toBe(18);
    const pages = rawPages();
    expect(pages).toHaveLength(18);
    expect(pages[0]).toMatch(/\/raw\/source=poly\/dataset=ohlcv\/date=2026-11-22\/[0-9a-f]{16}-0000-[0-9a-f]{8}\.json\.gz$/);
    const landed = JSON.parse(gunzipSync(readFileSync(pages[0]!)).toString()) as { ticker: string; results: unknown[]; next_url?: string };
    expect(landed.results.length).toBeGreaterThan(0);
    // Daily bars stamped at New York midnight become their session date; values are the vendor's.
    const rows = await stored();
    expect(rows).toHaveLength(expected.length);
    const spot = expected.find((e) => e.s === 'MSFT' && new Date(e.b.t).toISOString().startsWith('2024-03-11'))!;
    expect(rows.find((r) => r.symbol === 'MSFT' && r.day === '2024-03-11')).toEqual({ symbol: 'MSFT', day: '2024-03-11', close: spot.b.c, volume: spot.b.v, trades: spot.b.n });
    // Lineage links each landed page to the partitions it fed.
    const { sql } = await ctx.catalog();
    const lineage = await sql<{ raw_uri: string; records_out: number }[]>`
      select l.raw_uri, l.records_out::int as records_out from mdw.lineage_item l join mdw.batch b on b.id = l.batch_id
      join mdw.data_source s on s.id = b.source_id where s.name = 'poly' and l.manifest_id is not null order by 1`;
    expect(new Set(lineage.map((l) => l.raw_uri))).toEqual(new Set(pages));
    expect(lineage.reduce((a, l) => a + l.records_out, 0)).toBe(expected.length);
    // And each page to the request that fetched it, with its hash as stored.
    const landedPages = await sql<{ uri: string; request: string; page_no: number; sha256: string; bytes: number }[]>`
      select uri, request, page_no, sha256, bytes::int as bytes from mdw.raw_page where uri like ${`${ctx.paths.lake}/%`} order by uri`;
    expect(landedPages.map((p) => p.uri)).toEqual(pages);
    expect(landedPages.every((p) => p.sha256 === createHash('sha256').update(readFileSync(p.uri)).digest('hex') && p.bytes === statSync(p.uri).size)).toBe(true);
    expect(landedPages.filter((p) => p.request === '/v2/aggs/ticker/AAPL/range/1/day/2023-01-01/2024-12-31?adjusted=false&sort=asc&limit=50000').map((p) => p.page_no)).toEqual([0, 1, 2, 3, 4, 5]);

    const before = await lakeContent(path.join(ctx.paths.lake, 'ohlcv'));
    sim.requests.length = 0;
    const again = await runIngest(ctx, job, all);
    expect(sim.aggregateRequests).toBe(0);
    expect(again.counts.out).toBe(0);
    expect(await lakeContent(path.join(ctx.paths.lake, 'ohlcv'))).toEqual(before);
  });

  test.each([
    ['429 with Retry-After', '429' as const, 1],
    ['a burst of 503s', '503' as const, 2],
    ['a 500', '500' as const, 1],
    ['a truncated body', 'truncated' as const, 1],
    ['invalid JSON', 'invalid-json' as const, 1],
  ])('%s is retried and the run succeeds', async (_name, kind, times) => {
    sim.fault(kind, times, /MSFT/);
    const result = await runIngest(ctx, loadJob(configs, 'poly', ctx.env), { ...all, symbols: ['MSFT'] });
    expect(result.counts.out).toBe(502); // the XNYS sessions of 2023 and 2024
    // Each faulted answer is asked again once; no answer comes near the client's timeout.
    expect(sim.aggregateRequests).toBe(6 + times);
  });

  test('a response slower than the timeout is asked again and the run succeeds', async () => {
    // The slow answer waits far longer than the client does; how many other answers a loaded
    // machine makes late is not this test's business, so it counts no requests.
    writeEndpoints(10_000, 3_000);
    sim.slowMs = 60_000;
    sim.fault('slow', 1, /MSFT/);
    try {
      const result = await runIngest(ctx, loadJob(configs, 'poly', ctx.env), { ...all, symbols: ['MSFT'] });
      expect(result.counts).toMatchObject({ recordsIn: 502, out: 502, quarantined: 0 });
      expect(new Set(sim.requests.map((r) => r.url)).size).toBe(6);
      expect(rawPages()).toHaveLength(6);
    } finally {
      sim.slowMs = 1500;
    }
  });

  test('an empty result loads nothing and fails nothing', async () => {
    sim.fault('empty', 1);
    const result = await runIngest(ctx, loadJob(configs, 'poly', ctx.env), { ...all, symbols: ['SPY'] });
    expect(result.counts).toMatchObject({ recordsIn: 0, out: 0 });
    expect(rawPages()).toHaveLength(1);
  });

  test('a 401 fails at once with the vendor, endpoint and status, keeps the pages so far, and loads nothing', async () => {
    sim.fault('401', 1, /MSFT/);
    const job = loadJob(configs, 'poly', ctx.env);
    const err = (await runIngest(ctx, job, all).catch((e: unknown) => e)) as VendorError;
    expect(err).toBeInstanceOf(VendorError);
    expect([err.status, err.vendor, err.exitCode]).toEqual([401, 'polygon', 1]);
    expect(err.message).toBe(
      'polygon /v2/aggs/ticker/MSFT/range/1/day/2023-01-01/2024-12-31: HTTP 401 (check the API key in the environment variable configs/endpoints.yml names): Unknown API Key',
    );
    expect(sim.aggregateRequests).toBe(7); // AAPL's six pages, then MSFT once: no retry
    expect(rawPages()).toHaveLength(6);
    expect(existsSync(path.join(ctx.paths.lake, 'ohlcv'))).toBe(false);
  });

  test('a page that points back at itself is a page loop, not an endless run', async () => {
    sim.fault('loop', 1, /SPY/);
    const err = (await runIngest(ctx, loadJob(configs, 'poly', ctx.env), { ...all, symbols: ['SPY'] }).catch((e: unknown) => e)) as VendorError;
    expect(err.code).toBe('vendor_page_loop');
    expect(err.message).toMatch(/^polygon \/v2\/aggs\/ticker\/SPY\/range\/1\/day\/2023-01-01\/2024-12-31: page 2 points back at a page already read/);
    expect(sim.aggregateRequests).toBe(1);
  });
});

describe('Polygon crypto, forex and hourly bars: each stamp names its own session', () => {
  async function bars(source: string, granularity = '1d'): Promise<{ symbol: string; ts: string; close: number }[]> {
    const duck = await ctx.duck();
    return duck.all(
      `SELECT symbol, strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS ts, close FROM read_parquet(${currentFiles(`${ctx.paths.lake}/ohlcv/source=${source}/granularity=${granularity}`)}) ORDER BY symbol, ts`,
    );
  }
  const window = (from: string, to: string) => parseWindow(from, to);
  /** A shipped job, with the window of the test (the audit expects sessions from a job's window). */
  function shipped(name: string, from: string, to: string): ReturnType<typeof loadJob> {
    const text = readFileSync(path.join(configs, 'jobs', `${name}.yml`), 'utf8').replace(/^window: .*$/m, `window: { from: ${from}, to: ${to} }`);
    writeFileSync(path.join(configs, 'jobs', `${name}-test.yml`), text);
    return loadJob(configs, `${name}-test`, ctx.env);
  }

  test('a crypto day stamped at 00:00 UTC is stored under that date, weekends included, and the 24/7 ledger is whole', async () => {
    const job = shipped('polygon-crypto-daily', '2024-03-01', '2024-03-10');
    const result = await runIngest(ctx, job, { ...all, symbols: ['X:BTCUSD'] });
    const sent = VendorSim.bars('X:BTCUSD', 'day', 1, '2024-03-01', '2024-03-10');
    expect(result.counts).toMatchObject({ recordsIn: 10, out: 10, filtered: 0, quarantined: 0 });
    // Each bar under the UTC date of its stamp, with the vendor's values: not the day before.
    expect(await bars('polygon-crypto')).toEqual(sent.map((b) => ({ symbol: 'X:BTCUSD', ts: new Date(b.t).toISOString().replace('.000Z', 'Z'), close: b.c })));
    expect((await bars('polygon-crypto')).map((b) => b.ts.slice(0, 10))).toEqual([...Array(10).keys()].map((i) => `2024-03-${String(i + 1).padStart(2, '0')}`));
    const audit = (await auditSeries(ctx, job, { tolerance: 0.005 }))!;
    expect(audit.ledger).toEqual([
      { symbol: 'X:BTCUSD', firstSession: '2024-03-01', lastSession: '2024-03-10', status: 'GREEN', sessions: 10, expectedBars: 10, presentBars: 10, quarantined: 0 },
    ]);
  });

  test('crypto minute bars run around the clock: 1,440 a day, GREEN across a weekend', async () => {
    const job = shipped('polygon-crypto-minute', '2024-03-09', '2024-03-10');
    const result = await runIngest(ctx, job, { ...all, symbols: ['X:ETHUSD'] });
    expect(result.counts).toMatchObject({ recordsIn: 2880, out: 2880, quarantined: 0 });
    const stored = await bars('polygon-crypto', '1m');
    expect([stored[0]!.ts, stored.at(-1)!.ts]).toEqual(['2024-03-09T00:00:00Z', '2024-03-10T23:59:00Z']);
    const audit = (await auditSeries(ctx, job, { tolerance: 0.005 }))!;
    expect(audit.ledger).toEqual([
      { symbol: 'X:ETHUSD', firstSession: '2024-03-09', lastSession: '2024-03-10', status: 'GREEN', sessions: 2, expectedBars: 2880, presentBars: 2880, quarantined: 0 },
    ]);
  });

  test('a forex day stamped at 00:00 UTC is the 24/5 session it falls in; a weekend stamp is quarantined with both dates, never moved', async () => {
    sim.fxSundays = true;
    try {
      const job = shipped('polygon-forex-daily', '2024-03-04', '2024-03-15');
      const result = await runIngest(ctx, job, { ...all, symbols: ['C:EURUSD'] });
      expect(result.counts).toMatchObject({ recordsIn: 11, out: 10, quarantined: 1 });
      expect((await bars('polygon-forex')).map((b) => b.ts.slice(0, 10))).toEqual(calendars['24/5'].sessions('2024-03-04', '2024-03-15').map((x) => x.date));
      const { records } = await listQuarantine((await ctx.catalog()).sql, { source: 'polygon-forex' });
      expect(records.map((r) => [r.rules, r.reason])).toEqual([
        [
          ['in_session'],
          'in_session: 2024-03-10 is not a 24/5 session (the bar is stamped 2024-03-10T00:00:00Z, read as the 24/5 session it falls in (days roll at 17:00 America/New_York))',
        ],
      ]);
    } finally {
      sim.fxSundays = false;
    }
  });

  test('hourly stock bars start on the hour: 7 a full day from 09:00, 4 before a 13:00 close; the pre- and post-market are left out', async () => {
    // 2024-07-01..05: two full days, the early close of 07-03, Independence Day, a full day.
    const job = shipped('polygon-hourly', '2024-07-01', '2024-07-05');
    const result = await runIngest(ctx, job, { ...all, symbols: ['AAPL'] });
    const sent = VendorSim.bars('AAPL', 'hour', 1, '2024-07-01', '2024-07-05');
    expect(sent).toHaveLength(16 + 16 + 13 + 16);
    expect(result.counts).toMatchObject({ recordsIn: sent.length, out: 7 + 7 + 4 + 7, filtered: sent.length - 25, quarantined: 0 });
    const hours = (await bars('polygon', '1h')).filter((b) => b.ts.startsWith('2024-07-03')).map((b) => b.ts.slice(11, 16));
    expect(hours).toEqual(['13:00', '14:00', '15:00', '16:00']); // 09:00 to 12:00 New York
    const audit = (await auditSeries(ctx, job, { tolerance: 0.005 }))!;
    expect(audit.ledger).toEqual([
      { symbol: 'AAPL', firstSession: '2024-07-01', lastSession: '2024-07-05', status: 'GREEN', sessions: 4, expectedBars: 25, presentBars: 25, quarantined: 0 },
    ]);
  });

  test('a response that contradicts its request is counted in the batch findings and logged with the request', async () => {
    const { sql } = await ctx.catalog();
    const findings = async (batchIds: readonly string[]) =>
      sql<{ rule: string; rows: number }[]>`
        select rule, sum(rows)::int as rows from mdw.validation_summary where batch_id = any(${batchIds as string[]}::uuid[]) and kind = 'input' and rule like 'response_%' group by rule order by rule`;
    const job = loadJob(configs, 'poly', ctx.env);
    sim.lie = { adjusted: true, ticker: 'MSFT' };
    try {
      const lied = await runIngest(ctx, job, { ...all, window: window('2024-03-04', '2024-03-08'), symbols: ['AAPL'] });
      expect(await findings(lied.batchIds)).toEqual([
        { rule: 'response_adjusted', rows: 5 },
        { rule: 'response_symbol', rows: 5 },
      ]);
      sim.lie = { shiftDays: 30 };
      const shifted = await runIngest(ctx, job, { ...all, window: window('2024-03-11', '2024-03-15'), symbols: ['SPY'] });
      expect(await findings(shifted.batchIds)).toEqual([{ rule: 'response_window', rows: 5 }]);
      // On the command line the warning names the request and what the page said. A catalog
      // belongs to one lake: on a server, this warehouse gets a database of its own.
      sim.lie = { adjusted: true };
      const own = await freshCatalog();
      drops.push(own.drop);
      const cliHome = path.join(root, `home-${++n}`);
      const env = { MDW_POLYGON_URL: sim.url, POLYGON_API_KEY: key, ...(own.url ? { MDW_DATABASE_URL: own.url } : {}) };
      expect((await runMdw(['--home', cliHome, 'init', '--yes'], { env })).code).toBe(0);
      const r = await runMdw(['--home', cliHome, '--config-dir', configs, 'ingest', 'poly', '--from', '2024-04-01', '--to', '2024-04-05', '--symbols', 'MSFT'], { env });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain('warn: polygon /v2/aggs/ticker/MSFT/range/1/day/2024-04-01/2024-04-05?adjusted=false&sort=asc&limit=50000 (page 1): the response says adjusted=true, the request asked adjusted=false');
      expect(r.stderr).not.toContain(key);
    } finally {
      sim.lie = null;
    }
  });
});

describe('Alpaca stock bars through the simulator', () => {
  test('a multi-symbol daily job follows next_page_token, sends adjustment and feed, and stores each session once', async () => {
    addAlpaca();
    writeFileSync(
      path.join(configs, 'jobs', 'alp.yml'),
      'dataset: ohlcv\ngranularity: 1d\ncalendar: XNYS\nsource: { name: alp, adapter: alpaca, adjustment: split, feed: iex }\nsymbols: [AAPL, NIO]\nwindow: { from: 2024-01-01, to: 2024-06-30 }\ntransform: alpaca-bars\n',
    );
    await ctx.close();
    ctx = testContext({ home, databaseUrl: url, configDir: configs, env: { MDW_ALPACA_URL: sim.url, ALPACA_KEY_ID: 'AKSIMID', ALPACA_SECRET_KEY: 'sk-alpaca-SECRET-42' } });
    const job = loadJob(configs, 'alp', ctx.env);
    const result = await runIngest(ctx, job, all);
    const expected = ['AAPL', 'NIO'].flatMap((s) => VendorSim.bars(s, 'day', 1, '2024-01-01', '2024-06-30').map((b) => ({ s, b })));
    expect(result.counts).toMatchObject({ recordsIn: expected.length, out: expected.length });
    const asked = sim.requests.filter((r) => r.url.startsWith('/v2/stocks/bars'));
    expect(asked).toHaveLength(Math.ceil(expected.length / sim.pageSize));
    const q = new URL(asked[0]!.url, 'http://x').searchParams;
    expect([q.get('symbols'), q.get('timeframe'), q.get('adjustment'), q.get('feed'), q.get('start'), q.get('end')]).toEqual([
      'AAPL,NIO', '1Day', 'split', 'iex', '2024-01-01T00:00:00.000Z', '2024-07-01T00:00:00.000Z',
    ]);
    expect(asked.slice(1).every((r) => new URL(r.url, 'http://x').searchParams.has('page_token'))).toBe(true);
    const duck = await ctx.duck();
    const rows = await duck.all<{ symbol: string; day: string; close: number }>(
      `SELECT symbol, strftime(ts, '%Y-%m-%d') AS day, close FROM read_parquet(${currentFiles(`${ctx.paths.lake}/ohlcv/source=alp`)}) ORDER BY symbol, ts`,
    );
    const nyDay = (ms: number) => new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York' }).format(new Date(ms));
    expect(rows).toEqual(expected.map(({ s, b }) => ({ symbol: s, day: nyDay(b.t), close: b.c })));

    sim.requests.length = 0;
    sim.fault('loop', 2, /stocks\/bars/);
    await ctx.close();
    ctx = testContext({ home: path.join(root, `home-${++n}`), databaseUrl: url, configDir: configs, env: { MDW_ALPACA_URL: sim.url, ALPACA_KEY_ID: 'AKSIMID', ALPACA_SECRET_KEY: 'sk-alpaca-SECRET-42' } });
    const err = (await runIngest(ctx, job, all).catch((e: unknown) => e)) as VendorError;
    expect(err.code).toBe('vendor_page_loop');
    expect(sim.requests).toHaveLength(2);
  });
});

describe('corporate actions, reference tickers and grouped daily through the simulator', () => {
  const alpacaKeys = { ALPACA_KEY_ID: 'AKSIMID', ALPACA_SECRET_KEY: 'sk-alpaca-SECRET-42' };
  const job = (name: string, yaml: string) => {
    writeFileSync(path.join(configs, 'jobs', `${name}.yml`), yaml);
    return loadJob(configs, name, ctx.env);
  };
  const rows = async <T>(sql: string) => (await ctx.duck()).all<T>(sql);
  const actionsOf = (source: string) =>
    rows<Record<string, unknown>>(
      `SELECT symbol, strftime(ex_date, '%Y-%m-%d') AS ex_date, action, split_from, split_to, cash_amount, stock_rate, currency, ` +
        `CAST(record_date AS VARCHAR) AS record_date, CAST(pay_date AS VARCHAR) AS pay_date, frequency, vendor_id ` +
        `FROM read_parquet(${currentFiles(`${ctx.paths.lake}/corporate_actions/source=${source}`)}) ORDER BY ex_date, symbol, action`,
    );

  test('Polygon splits and dividends follow next_url into one corporate_actions series; a bad record is quarantined by its rule; a closed window is asked again only with refetch', async () => {
    sim.pageSize = 3;
    const window = 'symbols: [AAPL, TSLA, MNTS, COST]\nwindow: { from: 2020-01-01, to: 2024-12-31 }\n';
    const splits = job('pca-splits', `dataset: corporate_actions\ngranularity: 1d\nsource: { name: pca, adapter: polygon, endpoint: splits }\n${window}transform: polygon-splits\n`);
    const dividends = job('pca-dividends', `dataset: corporate_actions\ngranularity: 1d\nsource: { name: pca, adapter: polygon, endpoint: dividends }\n${window}transform: polygon-dividends\n`);
    // Two records a vendor might send wrong: a dividend of 0, and a type nobody knows.
    sim.dividends.push(
      { ticker: 'TSLA', ex_dividend_date: '2024-01-05', cash_amount: 0, dividend_type: 'CD', id: 'D-BAD-0' },
      { ticker: 'MNTS', ex_dividend_date: '2024-01-05', cash_amount: 1, dividend_type: 'XX', id: 'D-BAD-XX' },
    );
    try {
      const s = await runIngest(ctx, splits, all);
      const d = await runIngest(ctx, dividends, all);
      expect(s.counts).toMatchObject({ recordsIn: 4, out: 4, quarantined: 0 });
      expect(d.counts).toMatchObject({ recordsIn: 11, out: 9, quarantined: 2 });
    } finally {
      sim.dividends.splice(-2);
      sim.pageSize = 100;
    }
    // One request per symbol and endpoint, and AAPL's 8 dividends over 3 pages of 3.
    const asked = sim.requests.map((r) => new URL(r.url, 'http://x'));
    expect(asked.filter((u) => u.pathname === '/v3/reference/splits')).toHaveLength(4);
    expect(asked.filter((u) => u.pathname === '/v3/reference/dividends' && u.searchParams.get('ticker') === 'AAPL')).toHaveLength(3);
    const first = asked.find((u) => u.pathname === '/v3/reference/dividends')!.searchParams;
    expect([first.get('ex_dividend_date.gte'), first.get('ex_dividend_date.lte'), first.get('limit')]).toEqual(['2020-01-01', '2024-12-31', '1000']);

    const stored = await actionsOf('pca');
    expect(stored.filter((r) => r.action === 'split')).toEqual([
      { symbol: 'AAPL', ex_date: '2020-08-31', action: 'split', split_from: 1, split_to: 4, cash_amount: null, stock_rate: null, currency: null, record_date: null, pay_date: null, frequency: null, vendor_id: 'S-AAPL-2020' },
      { symbol: 'TSLA', ex_date: '2020-08-31', action: 'split', split_from: 1, split_to: 5, cash_amount: null, stock_rate: null, currency: null, record_date: null, pay_date: null, frequency: null, vendor_id: 'S-TSLA-2020' },
      { symbol: 'TSLA', ex_date: '2022-08-25', action: 'split', split_from: 1, split_to: 3, cash_amount: null, stock_rate: null, currency: null, record_date: null, pay_date: null, frequency: null, vendor_id: 'S-TSLA-2022' },
      { symbol: 'MNTS', ex_date: '2023-08-24', action: 'split', split_from: 50, split_to: 1, cash_amount: null, stock_rate: null, currency: null, record_date: null, pay_date: null, frequency: null, vendor_id: 'S-MNTS-2023' },
    ]);
    const cash = stored.filter((r) => r.action !== 'split');
    expect(cash.map((r) => [r.symbol, r.ex_date, r.action, r.cash_amount])).toEqual([
      ...sim.dividends.filter((x) => x.ticker === 'AAPL').slice(0, 4).map((x) => ['AAPL', x.ex_dividend_date, 'cash_dividend', x.cash_amount]),
      ['COST', '2023-12-27', 'special_dividend', 15],
      ...sim.dividends.filter((x) => x.ticker === 'AAPL').slice(4).map((x) => ['AAPL', x.ex_dividend_date, 'cash_dividend', x.cash_amount]),
    ]);
    expect(cash[0]).toMatchObject({ currency: 'USD', record_date: '2023-02-14', pay_date: '2023-02-16', frequency: 4, vendor_id: 'D-AAPL-2023-02-10' });

    const { sql } = await ctx.catalog();
    const bad = await sql<{ rules: string[]; reason: string }[]>`
      select q.rules, q.reason from mdw.quarantine_record q join mdw.data_source s on s.id = q.source_id where s.name = 'pca' order by q.reason`;
    expect(bad).toEqual([
      { rules: ['one_of'], reason: 'one_of: action "XX" is not one of split, cash_dividend, special_dividend, lt_capital_gain, st_capital_gain, stock_dividend' },
      { rules: ['positive'], reason: 'positive: cash_amount 0.0 <= 0' },
    ]);

    const before = await lakeContent(path.join(ctx.paths.lake, 'corporate_actions'));
    sim.requests.length = 0;
    expect((await runIngest(ctx, splits, all)).counts.out).toBe(0);
    expect((await runIngest(ctx, dividends, all)).counts.out).toBe(0);
    expect(sim.requests).toHaveLength(0);
    expect(await lakeContent(path.join(ctx.paths.lake, 'corporate_actions'))).toEqual(before);

    // The vendor corrects an old dividend: --refetch asks the closed window again, and the
    // correction replaces the stored row (one row changed, nothing added).
    const corrected = sim.dividends.find((x) => x.id === 'D-AAPL-2023-05-12')!;
    corrected.cash_amount = 0.245;
    try {
      const again = await runIngest(ctx, dividends, { ...all, refetch: true });
      expect(sim.requests.length).toBeGreaterThan(0);
      expect(again.counts).toMatchObject({ recordsIn: 9, out: 1, quarantined: 0 });
    } finally {
      corrected.cash_amount = 0.24;
    }
    const now = await actionsOf('pca');
    expect(now).toHaveLength(stored.length);
    expect(now.find((r) => r.ex_date === '2023-05-12')).toMatchObject({ symbol: 'AAPL', action: 'cash_dividend', cash_amount: 0.245 });
  });

  test('reference tickers keep each version of a record under the date it describes, delisted names included, so a universe can be rebuilt as of any day', async () => {
    const tickers = job('ptk', 'dataset: tickers\ngranularity: 1d\nsource: { name: ptk, adapter: polygon }\ntransform: polygon-tickers\n');
    const asOf = (to: string) => ({ ...all, window: { from: null, toExclusive: new Date(Date.parse(`${to}T00:00:00Z`) + 86_400_000) } });
    await runIngest(ctx, tickers, asOf('2023-03-31'));
    await runIngest(ctx, tickers, asOf('2024-06-28'));
    const asked = sim.requests.map((r) => new URL(r.url, 'http://x').searchParams).map((q) => `${q.get('date')} active=${q.get('active')}`);
    expect(asked).toEqual(['2023-03-31 active=true', '2023-03-31 active=false', '2024-06-28 active=true', '2024-06-28 active=false']);
    const stored = await rows<{ symbol: string; as_of: string; active: boolean; delisted_at: string | null; currency: string; primary_exchange: string }>(
      `SELECT symbol, strftime(as_of, '%Y-%m-%d') AS as_of, active, strftime(delisted_at, '%Y-%m-%dT%H:%M:%SZ') AS delisted_at, currency, primary_exchange ` +
        `FROM read_parquet(${currentFiles(`${ctx.paths.lake}/tickers/source=ptk`)}) ORDER BY symbol, as_of`,
    );
    expect(stored.map((r) => `${r.symbol} ${r.as_of} ${r.active} ${r.delisted_at}`)).toEqual([
      'AAPL 2023-03-31 true null',
      'AAPL 2024-06-28 true null',
      'BBBY 2023-03-31 true null',
      'BBBY 2023-05-03 false 2023-05-03T00:00:00Z',
      'MSFT 2023-03-31 true null',
      'MSFT 2024-06-28 true null',
      'SPY 2023-03-31 true null',
      'SPY 2024-06-28 true null',
    ]);
    expect(stored[0]).toMatchObject({ currency: 'USD', primary_exchange: 'XNAS' });
    // The universe as of a day: each symbol's latest record on or before it.
    const universe = async (day: string) =>
      (
        await rows<{ symbol: string }>(
          `SELECT symbol FROM read_parquet(${currentFiles(`${ctx.paths.lake}/tickers/source=ptk`)}) WHERE as_of <= DATE '${day}' ` +
            `QUALIFY row_number() OVER (PARTITION BY symbol ORDER BY as_of DESC) = 1 AND active ORDER BY symbol`,
        )
      ).map((r) => r.symbol);
    expect(await universe('2023-04-14')).toEqual(['AAPL', 'BBBY', 'MSFT', 'SPY']);
    expect(await universe('2024-07-01')).toEqual(['AAPL', 'MSFT', 'SPY']);
  });

  test('grouped daily asks one page per XNYS session, reads T and t apart, and keeps only the symbols asked for', async () => {
    const grouped = job('pgd', 'dataset: ohlcv\ngranularity: 1d\ncalendar: XNYS\nsource: { name: pgd, adapter: polygon, endpoint: grouped }\nwindow: { from: 2024-03-01, to: 2024-03-08 }\ntransform: polygon-grouped\n');
    const result = await runIngest(ctx, grouped, { ...all, symbols: ['AAPL', 'SPY'] });
    const days = ['2024-03-01', '2024-03-04', '2024-03-05', '2024-03-06', '2024-03-07', '2024-03-08'];
    expect(sim.requests.map((r) => r.url.split('?')[0])).toEqual(days.map((d) => `/v2/aggs/grouped/locale/us/market/stocks/${d}`));
    expect(new URL(sim.requests[0]!.url, 'http://x').searchParams.get('adjusted')).toBe('false');
    expect(result.counts).toMatchObject({ recordsIn: 24, out: 12, filtered: 12, quarantined: 0 });
    const stored = await rows<{ symbol: string; day: string; close: number; volume: number }>(
      `SELECT symbol, strftime(ts, '%Y-%m-%d') AS day, close, volume FROM read_parquet(${currentFiles(`${ctx.paths.lake}/ohlcv/source=pgd`)}) ORDER BY symbol, ts`,
    );
    expect(stored).toEqual(['AAPL', 'SPY'].flatMap((sym) => VendorSim.bars(sym, 'day', 1, '2020-01-01', '2024-03-08').slice(-6).map((b, i) => ({ symbol: sym, day: days[i], close: b.c, volume: b.v }))));
  });

  test('Alpaca corporate actions: splits both ways, cash, special and stock dividends, each rate in its own column; the same events as Polygon', async () => {
    addAlpaca();
    await ctx.close();
    ctx = testContext({ home, databaseUrl: url, configDir: configs, env: { ...alpacaKeys, MDW_POLYGON_URL: sim.url, POLYGON_API_KEY: key, MDW_ALPACA_URL: sim.url } });
    sim.pageSize = 4;
    const actions = job('aca', 'dataset: corporate_actions\ngranularity: 1d\nsource: { name: aca, adapter: alpaca }\nsymbols: [AAPL, TSLA, MNTS, COST, MSBC, FB]\nwindow: { from: 2020-01-01, to: 2024-12-31 }\ntransform: alpaca-corporate-actions\n');
    try {
      expect((await runIngest(ctx, actions, all)).counts).toMatchObject({ recordsIn: 14, out: 14, quarantined: 0 });
    } finally {
      sim.pageSize = 100;
    }
    const q = new URL(sim.requests[0]!.url, 'http://x').searchParams;
    expect([q.get('types'), q.get('start'), q.get('end'), q.get('symbols')]).toEqual(['forward_split,reverse_split,cash_dividend,stock_dividend', '2020-01-01', '2024-12-31', 'AAPL,TSLA,MNTS,COST,MSBC,FB']);
    expect(sim.requests).toHaveLength(4);
    const stored = await actionsOf('aca');
    expect(stored.find((r) => r.symbol === 'MNTS')).toMatchObject({ action: 'split', split_from: 50, split_to: 1, cash_amount: null, stock_rate: null });
    expect(stored.find((r) => r.symbol === 'MSBC')).toMatchObject({ ex_date: '2023-05-19', action: 'stock_dividend', stock_rate: 0.05, cash_amount: null, pay_date: '2023-06-05' });
    expect(stored.find((r) => r.symbol === 'COST')).toMatchObject({ action: 'special_dividend', cash_amount: 15, stock_rate: null });
    expect(stored.find((r) => r.symbol === 'AAPL' && r.action === 'cash_dividend')).toMatchObject({ ex_date: '2023-02-10', cash_amount: 0.23, stock_rate: null, vendor_id: 'D-AAPL-2023-02-10' });
    // Both vendors' view of the same events, compared on the key and the numbers.
    const polygon = job('pca2', 'dataset: corporate_actions\ngranularity: 1d\nsource: { name: pca2, adapter: polygon, endpoint: splits }\nsymbols: [AAPL, TSLA, MNTS]\nwindow: { from: 2020-01-01, to: 2024-12-31 }\ntransform: polygon-splits\n');
    await runIngest(ctx, polygon, all);
    const pick = (r: Record<string, unknown>) => [r.symbol, r.ex_date, r.split_from, r.split_to];
    expect((await actionsOf('aca')).filter((r) => r.action === 'split').map(pick)).toEqual((await actionsOf('pca2')).map(pick));
  });
});

describe('budgets, interruptions and secrets, across processes', () => {
  const mdw = async (...args: string[]) => {
    await ctx.close();
    const r = await runMdw(['--home', home, '--config-dir', configs, ...args], {
      env: { MDW_POLYGON_URL: sim.url, POLYGON_API_KEY: key, ...(url ? { MDW_DATABASE_URL: url } : {}) },
    });
    ctx = testContext({ home, databaseUrl: url, configDir: configs, env: { MDW_POLYGON_URL: sim.url, POLYGON_API_KEY: key } });
    return r;
  };

  test('a budget of N requests stops at N across two processes with exit 3, and a later run resumes to the same lake', async () => {
    await ctx.close();
    // A catalog belongs to one lake: on a server, the shared one is bound to the lake an earlier
    // test ingested into through the command line, so this warehouse gets a database of its own.
    const own = await freshCatalog();
    drops.push(own.drop);
    url = own.url;
    const init = await runMdw(['--home', home, 'init', '--yes'], { env: url ? { MDW_DATABASE_URL: url } : {} });
    expect(init.code).toBe(0);
    writeEndpoints(10);
    ctx = testContext({ home, databaseUrl: url, configDir: configs });
    const one = await mdw('ingest', 'poly');
    expect(one.code).toBe(3);
    expect(one.stderr).toMatch(/mdw: polygon: the daily budget of 10 requests is spent; run again tomorrow \(or raise daily_budget in configs\/endpoints.yml\) to resume\n$/);
    const two = await mdw('ingest', 'poly');
    expect(two.code).toBe(3);
    expect(sim.aggregateRequests).toBe(10);
    // The operator raises the budget: the run resumes, reusing the complete requests already landed.
    writeEndpoints(100);
    const three = await mdw('ingest', 'poly', '--format', 'json');
    expect(three.code).toBe(0);
    expect(sim.aggregateRequests).toBe(10 + 18 - 6); // AAPL's 6 pages came whole in the first run
    const status = await mdw('query', 'sql', "select count(*) as n from ohlcv where source = 'poly'", '--format', 'csv');
    expect(status.stdout).toBe('n\n1506\n');
    // Each landed page names its request and the run that fetched it: MSFT's first four pages
    // were fetched by the run that was cut short, and fetched whole again by the third.
    const { sql } = await ctx.catalog();
    const pages = await sql<{ request: string; page_no: number; job: string; status: string }[]>`
      select p.request, p.page_no, r.job, r.status from mdw.raw_page p join mdw.ingest_run r on r.id = p.run_id
      where p.uri like ${`${home}/%`} order by p.request, p.page_no, r.status desc`;
    expect(pages).toHaveLength(22);
    expect(pages.filter((p) => p.request.startsWith('/v2/aggs/ticker/MSFT/range/1/day/2023-01-01/2024-12-31?')).map((p) => `${p.page_no} ${p.status}`)).toEqual([
      '0 partial', '0 ok', '1 partial', '1 ok', '2 partial', '2 ok', '3 partial', '3 ok', '4 ok', '5 ok',
    ]);
    expect(new Set(pages.map((p) => p.job))).toEqual(new Set(['poly']));
    expect(pages.every((p) => !p.request.includes(key))).toBe(true);
  });

  test('a dry run fetches nothing: it names the requests it would send, and reads only what earlier runs landed', async () => {
    // A catalog belongs to one lake: on a server, this warehouse gets a database of its own.
    await ctx.close();
    const own = await freshCatalog();
    drops.push(own.drop);
    url = own.url;
    expect((await runMdw(['--home', home, 'init', '--yes'], { env: url ? { MDW_DATABASE_URL: url } : {} })).code).toBe(0);
    const first = await mdw('ingest', 'poly', '--dry-run', '--format', 'json');
    expect(first.code).toBe(0);
    expect(sim.requests).toHaveLength(0);
    expect(first.stderr).toContain('poly (dry run): 3 requests to polygon would be sent, each one of its daily budget; nothing was fetched');
    expect(first.stderr).toContain('would ask polygon /v2/aggs/ticker/MSFT/range/1/day/2023-01-01/2024-12-31?adjusted=false&sort=asc&limit=50000');
    expect(JSON.parse(first.stdout)).toMatchObject([{ dry_run: true, records_in: 0, stored: 0 }]);
    expect(existsSync(path.join(home, 'lake', 'raw'))).toBe(false);

    expect((await mdw('ingest', 'poly')).code).toBe(0);
    sim.requests.length = 0;
    const again = await mdw('ingest', 'poly', '--dry-run', '--format', 'json');
    expect(sim.requests).toHaveLength(0);
    expect(again.stderr).not.toContain('would be sent');
    expect(JSON.parse(again.stdout)).toMatchObject([{ dry_run: true, records_in: 1506, stored: 0, deduped: 1506 }]);
  });

  test('two cron runs of one job at once fetch every page once: the second waits for the first and finds its windows landed', async () => {
    await ctx.close();
    const own = await freshCatalog();
    drops.push(own.drop);
    const env = { MDW_POLYGON_URL: sim.url, POLYGON_API_KEY: key, MDW_DATABASE_URL: own.url ?? '' };
    expect((await runMdw(['--home', home, 'init', '--yes'], { env })).code).toBe(0);
    // 18 pages at 300 ms each: the first run is still fetching when the second starts.
    sim.delayMs = 300;
    let launched = 0;
    try {
      const run = () => runMdw(['--home', home, '--config-dir', configs, '--lock-timeout', '120', 'ingest', 'poly', '--format', 'json'], { env });
      launched = Date.now();
      const [a, b] = await Promise.all([run(), run()]);
      expect([a.code, b.code]).toEqual([0, 0]);
      expect(sim.aggregateRequests).toBe(18);
      const stored = [a, b].map((r) => (JSON.parse(r.stdout) as { stored: number }[])[0]!.stored).sort((x, y) => x - y);
      expect(stored).toEqual([0, 1506]);
    } finally {
      sim.delayMs = 0;
    }
    ctx = testContext({ home, databaseUrl: own.url, configDir: configs });
    const { sql } = await ctx.catalog();
    // By finish: a run records its start before it asks for the lock, so the one that started
    // first need not be the one that got the lock first.
    const runs = await sql<{ finished_at: Date }[]>`select finished_at from mdw.ingest_run where job = 'poly' order by finished_at`;
    expect(runs).toHaveLength(2);
    // Both were launched before the first finished: the lock (the series lock on a server, the
    // embedded catalog's own lock otherwise), not luck, kept the second from fetching.
    expect(launched).toBeLessThan(runs[0]!.finished_at.getTime());
  });

  test('killed halfway and run again, it ends with the lake of an uninterrupted run; no key is written anywhere', async () => {
    await ctx.close();
    // A catalog belongs to one lake: on a server, this warehouse gets a database of its own.
    await ctx.close();
    const own = await freshCatalog();
    drops.push(own.drop);
    url = own.url;
    expect((await runMdw(['--home', home, 'init', '--yes'], { env: url ? { MDW_DATABASE_URL: url } : {} })).code).toBe(0);
    // The 9th request hangs; the process is killed while waiting for it.
    sim.fault('hang', 1, /SPY/);
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'mdw'), '--home', home, '--config-dir', configs, 'ingest', 'poly'], {
      env: { ...process.env, NODE_OPTIONS: '', MDW_POLYGON_URL: sim.url, POLYGON_API_KEY: key, ...(url ? { MDW_DATABASE_URL: url } : { MDW_DATABASE_URL: '' }) },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve) => {
      sim.onRequest = (k) => {
        if (sim.requests[k - 1]!.url.includes('/SPY/')) setTimeout(() => child.kill('SIGKILL'), 200);
      };
      child.on('close', () => resolve());
    });
    sim.onRequest = null;
    const resumed = await mdw('ingest', 'poly');
    expect(resumed.code).toBe(0);
    const lake = await lakeContent(path.join(home, 'lake', 'ohlcv'));

    // An uninterrupted run in another warehouse (its own catalog) gives the same partitions.
    const other = path.join(root, `home-${++n}`);
    const second = await freshCatalog();
    try {
      const env = { MDW_POLYGON_URL: sim.url, POLYGON_API_KEY: key, ...(second.url ? { MDW_DATABASE_URL: second.url } : {}) };
      expect((await runMdw(['--home', other, 'init', '--yes'], { env })).code).toBe(0);
      expect((await runMdw(['--home', other, '--config-dir', configs, 'ingest', 'poly'], { env })).code).toBe(0);
      expect(await lakeContent(path.join(other, 'lake', 'ohlcv'))).toEqual(lake);
    } finally {
      await second.drop();
    }

    // Every key was sent in a header, and appears in no file the runs wrote and in no output.
    expect(sim.requests.every((r) => r.headers.authorization === `Bearer ${key}` && !r.url.includes(key))).toBe(true);
    const leaks: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (statSync(p).size < 64 * 2 ** 20) {
          const bytes = readFileSync(p);
          const text = p.endsWith('.gz') ? gunzipSync(bytes).toString() : bytes.toString('latin1');
          if (text.includes(key)) leaks.push(p);
        }
      }
    };
    walk(home);
    expect(leaks).toEqual([]);
    // The catalog too (on a server it lives outside MDW_HOME): runs, their events, quarantine.
    ctx = testContext({ home, databaseUrl: url, configDir: configs });
    const { sql } = await ctx.catalog();
    const like = `%${key}%`;
    const [found] = await sql<{ n: number }[]>`
      select (select count(*) from mdw.ingest_run where args::text like ${like} or coalesce(error, '') like ${like})
           + (select count(*) from mdw.ingest_log where message like ${like} or coalesce(data::text, '') like ${like})
           + (select count(*) from mdw.lineage_item where raw_uri like ${like}) as n`;
    expect(Number(found!.n)).toBe(0);
    expect(Number((await sql<{ n: number }[]>`select count(*) as n from mdw.ingest_run`)[0]!.n)).toBeGreaterThan(0);
    expect(stderr + resumed.stdout + resumed.stderr).not.toContain(key);
  });
});

describe('Alpha Vantage through the simulator', () => {
  const avKey = 'av-sim-SECRET-91c2e';
  const avEnv = () => ({ MDW_POLYGON_URL: sim.url, POLYGON_API_KEY: key, MDW_ALPHAVANTAGE_URL: sim.url, ALPHAVANTAGE_API_KEY: avKey });

  beforeEach(async () => {
    sim.vendorKeys['alphavantage'] = avKey;
    sim.alphavantageLimit = null;
    writeFileSync(
      path.join(configs, 'endpoints.yml'),
      readFileSync(path.join(configs, 'endpoints.yml'), 'utf8') +
        `  alphavantage:\n    base_url: https://www.alphavantage.co\n    rpm: 60000\n    daily_budget: 1000\n    timeout_ms: ${patientMs}\n` +
        `    auth: { kind: query, param: apikey, env: ALPHAVANTAGE_API_KEY }\n`,
    );
    await ctx.close();
    ctx = testContext({ home, databaseUrl: url, configDir: configs, env: avEnv() });
  });

  afterAll(() => {
    sim.alphavantageLimit = null;
    delete sim.vendorKeys['alphavantage'];
  });

  function shipped(name: string, from: string, to: string): ReturnType<typeof loadJob> {
    const text = readFileSync(path.join(configs, 'jobs', `${name}.yml`), 'utf8').replace(/^window: .*$/m, `window: { from: ${from}, to: ${to} }`);
    writeFileSync(path.join(configs, 'jobs', `${name}-test.yml`), text);
    return loadJob(configs, `${name}-test`, ctx.env);
  }
  async function bars(granularity: string): Promise<{ symbol: string; ts: string; close: number; volume: number }[]> {
    const duck = await ctx.duck();
    return duck.all(
      `SELECT symbol, strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS ts, close, volume FROM read_parquet(${currentFiles(`${ctx.paths.lake}/ohlcv/source=alphavantage/granularity=${granularity}`)}) ORDER BY symbol, ts`,
    );
  }
  /** The simulator's days as Alpha Vantage answers them (its whole history), those of a window. */
  const avDays = (symbol: string, from: string, to: string) => {
    const days = calendars.XNYS.sessions(sim.alphavantageDays.from, sim.alphavantageDays.to).map((s) => s.date);
    return VendorSim.bars(symbol, 'day', 1, sim.alphavantageDays.from, sim.alphavantageDays.to)
      .map((b, i) => ({ ...b, day: days[i]! }))
      .filter((b) => b.day >= from && b.day <= to);
  };
  const avRequests = () => sim.requests.filter((r) => r.url.startsWith('/query')).map((r) => new URL(r.url, 'http://sim').searchParams);

  test('daily bars: the key goes only in the query, each session is stored once at its date, the ledger is GREEN, and a re-run asks nothing', async () => {
    const job = shipped('alphavantage-daily', '2024-03-01', '2024-03-28');
    const result = await runIngest(ctx, job, { ...all, symbols: ['IBM'] });
    const sent = avDays('IBM', '2024-03-01', '2024-03-28');
    expect(sent).toHaveLength(20);
    // The whole history came (outputsize=full: the window is older than 100 sessions); the days outside it are filtered.
    expect(result.counts).toMatchObject({ out: 20, quarantined: 0 });
    expect(avRequests().map((q) => [q.get('function'), q.get('symbol'), q.get('outputsize'), q.get('apikey')])).toEqual([['TIME_SERIES_DAILY', 'IBM', 'full', avKey]]);
    expect(await bars('1d')).toEqual(sent.map((b) => ({ symbol: 'IBM', ts: `${b.day}T00:00:00Z`, close: b.c, volume: b.v })));
    const audit = (await auditSeries(ctx, job, { tolerance: 0.005 }))!;
    expect(audit.ledger).toEqual([{ symbol: 'IBM', firstSession: '2024-03-01', lastSession: '2024-03-28', status: 'GREEN', sessions: 20, expectedBars: 20, presentBars: 20, quarantined: 0 }]);
    // The landing names the request without the key, and no landed byte holds it.
    for (const f of rawPages()) expect(gunzipSync(readFileSync(f)).toString('utf8')).not.toContain(avKey);
    expect(readdirSync(path.join(ctx.paths.lake, 'raw', 'source=alphavantage', 'dataset=ohlcv', 'requests')).join(' ')).not.toContain(avKey);
    sim.requests.length = 0;
    const before = await bars('1d');
    await runIngest(ctx, job, { ...all, symbols: ['IBM'] });
    expect(avRequests()).toHaveLength(0);
    expect(await bars('1d')).toEqual(before);
  });

  test('intraday bars are keyed by their end in New York time: stored by their start in UTC across the DST change, GREEN', async () => {
    // 2024-03-08 is EST (09:30 = 14:30Z), 2024-03-11 EDT (09:30 = 13:30Z).
    const job = shipped('alphavantage-intraday', '2024-03-08', '2024-03-11');
    const result = await runIngest(ctx, job, { ...all, symbols: ['IBM'] });
    expect(avRequests().map((q) => [q.get('function'), q.get('interval'), q.get('month'), q.get('adjusted')])).toEqual([['TIME_SERIES_INTRADAY', '5min', '2024-03', 'false']]);
    // The month asked for, as the simulator answers it, within the window.
    const sent = VendorSim.bars('IBM', 'minute', 5, '2024-03-01', '2024-03-31').filter((b) => b.t >= Date.parse('2024-03-08T00:00:00Z') && b.t < Date.parse('2024-03-12T00:00:00Z'));
    expect(sent).toHaveLength(2 * 78);
    expect(result.counts).toMatchObject({ out: 156, quarantined: 0 });
    const stored = await bars('5m');
    expect(stored).toEqual(sent.map((b) => ({ symbol: 'IBM', ts: new Date(b.t).toISOString().replace('.000Z', 'Z'), close: b.c, volume: b.v })));
    const firstOfDay = stored.filter((b, i) => i === 0 || stored[i - 1]!.ts.slice(0, 10) !== b.ts.slice(0, 10)).map((b) => b.ts);
    expect(firstOfDay).toEqual(['2024-03-08T14:30:00Z', '2024-03-11T13:30:00Z']);
    const audit = (await auditSeries(ctx, job, { tolerance: 0.005 }))!;
    expect(audit.ledger).toEqual([{ symbol: 'IBM', firstSession: '2024-03-08', lastSession: '2024-03-11', status: 'GREEN', sessions: 2, expectedBars: 156, presentBars: 156, quarantined: 0 }]);
  });

  test('an "Error Message" answer is terminal: the run fails at once with Alpha Vantage\'s words, and nothing is asked again', async () => {
    const job = shipped('alphavantage-daily', '2024-03-01', '2024-03-28');
    await expect(runIngest(ctx, job, { ...all, symbols: ['NOSUCH'] })).rejects.toThrow(/alphavantage TIME_SERIES_DAILY NOSUCH: Invalid API call/);
    expect(avRequests()).toHaveLength(1);
  });

  test('the limit answer (HTTP 200, "Information", no data) on the fifth request stops the run with exit 3; the next run asks only for the rest', async () => {
    await ctx.close();
    const own = await freshCatalog();
    drops.push(own.drop);
    const env = { ...avEnv(), ...(own.url ? { MDW_DATABASE_URL: own.url } : {}) };
    expect((await runMdw(['--home', home, 'init', '--yes'], { env })).code).toBe(0);
    const symbols = 'AAPL,MSFT,IBM,SPY,TSLA,NVDA';
    const run = () => runMdw(['--home', home, '--config-dir', configs, 'ingest', 'alphavantage-daily', '--from', '2024-03-01', '--to', '2024-03-28', '--symbols', symbols], { env });
    sim.alphavantageLimit = 4;
    const one = await run();
    expect(one.code).toBe(3);
    expect(one.stderr).toMatch(/alphavantage: the plan's request limit is reached \("Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day/);
    expect(one.stderr).not.toContain(avKey);
    expect(avRequests().map((q) => q.get('symbol'))).toEqual(['AAPL', 'MSFT', 'IBM', 'SPY', 'TSLA']);
    // The next day: the limit is reset, and only the two symbols not landed are asked for.
    sim.alphavantageLimit = null;
    sim.requests.length = 0;
    const two = await run();
    expect(two.code).toBe(0);
    expect(avRequests().map((q) => q.get('symbol'))).toEqual(['TSLA', 'NVDA']);
    ctx = testContext({ home, databaseUrl: own.url, configDir: configs, env: avEnv() });
    const stored = await bars('1d');
    expect(stored).toHaveLength(6 * 20);
    expect([...new Set(stored.map((b) => b.symbol))]).toEqual(['AAPL', 'IBM', 'MSFT', 'NVDA', 'SPY', 'TSLA']);
    expect(stored.find((b) => b.symbol === 'NVDA' && b.ts === '2024-03-28T00:00:00Z')?.close).toBe(avDays('NVDA', '2024-03-28', '2024-03-28')[0]!.c);
  });
});
