import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { auditSeries } from '../../src/audit/run-audit.js';
import { calendars } from '../../src/calendar/registry.js';
import { loadJob } from '../../src/config/jobs.js';
import type { Context } from '../../src/context.js';
import { expandGlob } from '../../src/core/glob.js';
import { runIngest } from '../../src/pipeline/run-ingest.js';
import { parseWindow } from '../../src/core/time-window.js';
import { jobFetcher } from '../../src/sources/index.js';
import { requestKey } from '../../src/sources/landing.js';
import { sourceReadTypes } from '../../src/transform/compile-transform.js';
import { configDir, copyConfigs, lakeHashes, removeDir, repoRoot, tempDir, testContext, currentFiles } from '../support/helpers.js';
import { VendorSim } from '../support/vendor-sim.js';

/**
 * The example jobs against the real files in ../shared/reference-data. Expected values come
 * from reading the files here, independently of the ingest code: every valid row is stored
 * once with its values, exactly the invalid rows are quarantined, a re-run changes no file.
 */
const reference = process.env.MDW_REFERENCE_DATA ?? '';

interface FileRow {
  symbol: string;
  day: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  adjClose?: number;
}

type Layout = 'kaggle' | 'yahoo' | 'stooq';

/** A plain reading of each layout: no DuckDB, no transform rules. */
function readFile(file: string, layout: Layout): FileRow[] {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/).slice(1).filter((l) => l.trim() !== '');
  const base = path.basename(file);
  return lines.map((line) => {
    const f = line.split(',');
    if (layout === 'stooq') {
      const d = f[2]!;
      return { symbol: f[0]!.replace(/\.US$/, ''), day: `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`, open: +f[4]!, high: +f[5]!, low: +f[6]!, close: +f[7]!, volume: +f[8]! };
    }
    const symbol = (/^([A-Za-z0-9]+)/.exec(base)![1] as string).toUpperCase();
    if (layout === 'yahoo') return { symbol, day: f[0]!, open: +f[1]!, high: +f[2]!, low: +f[3]!, close: +f[4]!, adjClose: +f[5]!, volume: +f[6]! };
    return { symbol, day: f[0]!, open: +f[1]!, high: +f[2]!, low: +f[3]!, close: +f[4]!, volume: +f[5]! };
  });
}

/** XNYS closures from the calendar test's independent reference (1990-2030). */
const xnysHolidays = new Set(
  (JSON.parse(readFileSync(path.join(repoRoot, 'tests/unit/fixtures/xnys-1990-2030.json'), 'utf8')) as { holidays: string[] }).holidays,
);

/** A bar of a job with the XNYS calendar must fall on a session (judged 1990-2030, where the calendar is checked). */
function onSession(day: string): boolean {
  if (day < '1990-01-01' || day > '2030-12-31') return true;
  const dow = new Date(`${day}T00:00:00Z`).getUTCDay();
  return dow !== 0 && dow !== 6 && !xnysHolidays.has(day);
}

function isValid(r: FileRow, calendar: boolean): boolean {
  return (
    (!calendar || onSession(r.day)) &&
    [r.open, r.high, r.low, r.close, r.volume].every(Number.isFinite) &&
    r.high >= Math.max(r.open, r.close) && r.low <= Math.min(r.open, r.close) && r.high >= r.low &&
    Math.min(r.open, r.high, r.low, r.close) > 0 && r.volume >= 0
  );
}

const cases: { job: string; layout: Layout; spot: [string, string][] }[] = [
  { job: 'kaggle-stocks', layout: 'kaggle', spot: [['AAPL', '2014-06-09'], ['GE', '1962-01-02'], ['TSLA', '2010-06-28'], ['SPY', '2017-11-10'], ['MSFT', '2000-01-03']] },
  { job: 'yahoo-backtrader', layout: 'yahoo', spot: [['NVDA', '1999-01-22'], ['ORCL', '2008-10-10'], ['YHOO', '2015-12-31']] },
  { job: 'stooq-daily', layout: 'stooq', spot: [['SPY', '2005-02-25'], ['HPE', '2025-01-29'], ['WIG20', '1991-04-16'], ['WIG20', '2026-08-18']] },
  { job: 'stooq-spy-2026', layout: 'stooq', spot: [['SPY', '2026-07-02'], ['SPY', '2008-10-10']] },
];

let root: string;
let ctx: Context;
beforeAll(async () => {
  expect(existsSync(reference)).toBe(true);
  root = tempDir();
  ctx = testContext({ home: path.join(root, 'home'), env: { MDW_REFERENCE_DATA: reference } });
});
afterAll(async () => {
  await ctx.close();
  removeDir(root);
});

describe.each(cases)('$job', ({ job: name, layout, spot }) => {
  test('stores every valid row once with the file values, quarantines exactly the invalid ones, and a re-run changes nothing', async () => {
    const job = loadJob(configDir, name, ctx.env);
    const files = (job.spec.source.files ?? []).flatMap((p) => expandGlob(p, job.dir));
    expect(files.length).toBeGreaterThan(0);
    const rows = files.flatMap((f) => readFile(f, layout));
    const valid = rows.filter((r) => isValid(r, job.spec.calendar === 'XNYS'));
    const keys = new Set(valid.map((r) => `${r.symbol} ${r.day}`));
    expect(keys.size).toBe(valid.length); // the reference files have no repeated dates

    const first = await runIngest(ctx, job, { window: { from: null, toExclusive: null }, symbols: null, dryRun: false, runId: null });
    expect(first.counts).toEqual({ recordsIn: rows.length, out: valid.length, deduped: 0, quarantined: rows.length - valid.length, filtered: 0 });

    const duck = await ctx.duck();
    const uris = first.writes.map((w) => path.join(ctx.paths.lake, w.uri));
    const stored = await duck.all<{ n: number }>(`SELECT count(*) AS n FROM read_parquet([${uris.map((u) => `'${u}'`).join(', ')}])`);
    expect(stored[0]!.n).toBe(valid.length);
    for (const [symbol, day] of spot) {
      const want = valid.find((r) => r.symbol === symbol && r.day === day);
      expect(want).toBeDefined();
      const got = await duck.all<Record<string, number>>(
        `SELECT open, high, low, close, volume, adj_close FROM read_parquet([${uris.map((u) => `'${u}'`).join(', ')}]) WHERE symbol = '${symbol}' AND ts = TIMESTAMP '${day} 00:00:00Z'`,
      );
      expect(got).toEqual([{ open: want!.open, high: want!.high, low: want!.low, close: want!.close, volume: want!.volume, adj_close: want!.adjClose ?? null }]);
    }

    const hashes = lakeHashes(ctx.paths.lake);
    const again = await runIngest(ctx, job, { window: { from: null, toExclusive: null }, symbols: null, dryRun: false, runId: null, full: true });
    expect(again.counts.out).toBe(0);
    expect(again.partitions.written).toBe(0);
    expect(lakeHashes(ctx.paths.lake)).toEqual(hashes);
  });
});

describe('audit of real daily series', () => {
  test("AAPL's 7:1 split of 2014-06-09 is a flagged gap in raw prices and none in adjusted ones; Kaggle's holes are RED", async () => {
    const raw = loadJob(configDir, 'zipline-aapl-raw', ctx.env);
    await runIngest(ctx, raw, { window: { from: null, toExclusive: null }, symbols: null, dryRun: false, runId: null });
    const rawAudit = (await auditSeries(ctx, raw, { tolerance: 0.005 }))!;
    expect(rawAudit.gaps).toEqual([{ symbol: 'AAPL', ts: '2014-06-09T00:00:00Z', previousClose: 645.570023, open: 92.699997, move: -0.8564 }]);
    expect(rawAudit.ledger).toEqual([{ symbol: 'AAPL', firstSession: '2014-03-03', lastSession: '2014-08-29', status: 'GREEN', sessions: 127, expectedBars: 127, presentBars: 127, quarantined: 0 }]);

    // kaggle-stocks was loaded above: its prices are adjusted, so 2014 has no gap for AAPL.
    const kaggle = loadJob(configDir, 'kaggle-stocks', ctx.env);
    const adjusted = (await auditSeries(ctx, kaggle, { tolerance: 0.005 }))!;
    expect(adjusted.gaps.filter((g) => g.symbol === 'AAPL' && g.ts.startsWith('2014'))).toEqual([]);
    // Its RED sessions are exactly the sessions its file lacks, from 1990 (where the calendar is checked) on.
    const days = new Set(readFile(path.join(reference, 'kaggle-huge-stock-market/Stocks/aapl.us.txt'), 'kaggle').map((r) => r.day));
    const sorted = [...days].sort();
    const missing: string[] = [];
    for (let t = Date.parse(`${sorted[0]! < '1990-01-01' ? '1990-01-01' : sorted[0]!}T00:00:00Z`); t <= Date.parse(`${sorted.at(-1)!}T00:00:00Z`); t += 86_400_000) {
      const day = new Date(t).toISOString().slice(0, 10);
      if (onSession(day) && !days.has(day)) missing.push(day);
    }
    const red = adjusted.ledger.filter((r) => r.symbol === 'AAPL' && r.status === 'RED').flatMap((r) => calendars.XNYS.sessions(r.firstSession, r.lastSession).map((s) => s.date));
    expect(red).toEqual(missing);
    expect(missing.length).toBeGreaterThan(0);
  });
});

describe('Polygon aggregates payloads', () => {
  test('every bar of the saved pages becomes a canonical row: session date from t (ms, New York midnight), values as sent', async () => {
    const job = loadJob(configDir, 'polygon-reference', ctx.env);
    const files = (job.spec.source.files ?? []).flatMap((p) => expandGlob(p, job.dir));
    // Read here without the transform: the session date is t's calendar date in New York.
    const nyDate = (ms: number) => new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));
    const want = files
      .flatMap((f) => {
        const page = JSON.parse(readFileSync(f, 'utf8')) as { ticker: string; results: { t: number; o: number; h: number; l: number; c: number; v: number; vw: number; n: number }[] };
        return page.results.map((r) => ({ symbol: page.ticker, day: nyDate(r.t), open: r.o, high: r.h, low: r.l, close: r.c, volume: r.v, vwap: r.vw, trades: r.n }));
      })
      .sort((a, b) => a.day.localeCompare(b.day));
    expect(want.map((w) => w.day)).toEqual(['2005-04-01', '2005-04-04', '2020-01-02', '2020-01-03', '2022-04-26']);
    const result = await runIngest(ctx, job, { window: { from: null, toExclusive: null }, symbols: null, dryRun: false, runId: null });
    expect(result.counts).toMatchObject({ recordsIn: 5, out: 5, quarantined: 0 });
    const duck = await ctx.duck();
    const got = await duck.all(
      `SELECT symbol, strftime(ts, '%Y-%m-%d') AS day, open, high, low, close, volume, vwap, trades FROM read_parquet(${currentFiles(`${ctx.paths.lake}/ohlcv/source=polygon-reference`)}) ORDER BY ts`,
    );
    expect(got).toEqual(want);
  });
});

describe('Alpaca bars payloads', () => {
  test('every bar of the saved pages (the empty one included) becomes a canonical row: session date from t (RFC 3339), values as sent', async () => {
    const job = loadJob(configDir, 'alpaca-reference', ctx.env);
    const files = (job.spec.source.files ?? []).flatMap((p) => expandGlob(p, job.dir));
    const nyDate = (iso: string) => new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(iso));
    type Bar = { t: string; o: number; h: number; l: number; c: number; v: number; vw: number; n: number };
    const want = files
      .flatMap((f) =>
        Object.entries((JSON.parse(readFileSync(f, 'utf8')) as { bars: Record<string, Bar[]> }).bars).flatMap(([symbol, bars]) =>
          bars.map((r) => ({ symbol, day: nyDate(r.t), open: r.o, high: r.h, low: r.l, close: r.c, volume: r.v, vwap: r.vw, trades: r.n })),
        ),
      )
      .sort((a, b) => a.symbol.localeCompare(b.symbol) || a.day.localeCompare(b.day));
    expect(want).toHaveLength(17);
    // The page sorted newest first is stored in time order like the others.
    expect(want.filter((w) => w.symbol === 'TSLA').map((w) => w.day)).toEqual(['2022-03-09', '2023-09-25', '2023-09-26', '2023-09-27']);
    const result = await runIngest(ctx, job, { window: { from: null, toExclusive: null }, symbols: null, dryRun: false, runId: null });
    expect(result.counts).toMatchObject({ recordsIn: 17, out: 17, quarantined: 0 });
    const duck = await ctx.duck();
    const got = await duck.all(
      `SELECT symbol, strftime(ts, '%Y-%m-%d') AS day, open, high, low, close, volume, vwap, trades FROM read_parquet(${currentFiles(`${ctx.paths.lake}/ohlcv/source=alpaca-reference`)}) ORDER BY symbol, ts`,
    );
    expect(got).toEqual(want);
  });
});

/** A saved page's records, as JSON.parse reads them. */
function pageRecords<T>(job: ReturnType<typeof loadJob>, pick: (page: Record<string, unknown>) => T[]): T[] {
  return (job.spec.source.files ?? []).flatMap((p) => expandGlob(p, job.dir)).flatMap((f) => pick(JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>));
}

const everything = { window: { from: null, toExclusive: null }, symbols: null, dryRun: false, runId: null };

describe('Polygon reference payloads', () => {
  const actions = (source: string) =>
    ctx.duck().then((duck) =>
      duck.all<Record<string, unknown>>(
        `SELECT symbol, strftime(ex_date, '%Y-%m-%d') AS ex_date, action, split_from, split_to, cash_amount, CAST(declaration_date AS VARCHAR) AS declared, ` +
          `CAST(record_date AS VARCHAR) AS record_date, CAST(pay_date AS VARCHAR) AS pay_date, frequency FROM read_parquet(${currentFiles(`${ctx.paths.lake}/corporate_actions/source=${source}`)}) ` +
          `ORDER BY symbol, ex_date, action`,
      ),
    );

  test('every split of the saved pages is a corporate action: the execution date as ex-date, split_from -> split_to as sent (reverse splits too)', async () => {
    const job = loadJob(configDir, 'polygon-reference-splits', ctx.env);
    type Split = { ticker: string; execution_date: string; split_from: number; split_to: number };
    const want = pageRecords(job, (p) => p.results as Split[])
      .map((r) => ({ symbol: r.ticker, ex_date: r.execution_date, action: 'split', split_from: r.split_from, split_to: r.split_to }))
      .sort((a, b) => a.symbol.localeCompare(b.symbol) || a.ex_date.localeCompare(b.ex_date));
    expect(want).toHaveLength(12);
    expect((await runIngest(ctx, job, everything)).counts).toMatchObject({ recordsIn: 12, out: 12, quarantined: 0 });
    const got = (await actions('polygon-reference')).filter((r) => r.action === 'split');
    expect(got.map(({ symbol, ex_date, action, split_from, split_to }) => ({ symbol, ex_date, action, split_from, split_to }))).toEqual(want);
    // Spot checks against the files: AAPL's 4-for-1 of 2020, BRW's 2-for-1 reverse split.
    expect(got.find((r) => r.symbol === 'AAPL' && r.ex_date === '2020-08-31')).toMatchObject({ split_from: 1, split_to: 4 });
    expect(got.find((r) => r.symbol === 'BRW')).toMatchObject({ ex_date: '2022-05-20', split_from: 2, split_to: 1 });
  });

  test('every dividend of the saved page is a cash dividend with its amount, dates and frequency as sent', async () => {
    const job = loadJob(configDir, 'polygon-reference-dividends', ctx.env);
    type Dividend = { ticker: string; ex_dividend_date: string; cash_amount: number; dividend_type: string; declaration_date: string; record_date: string; pay_date: string; frequency: number };
    const want = pageRecords(job, (p) => p.results as Dividend[])
      .map((r) => ({
        symbol: r.ticker,
        ex_date: r.ex_dividend_date,
        action: r.dividend_type === 'CD' ? 'cash_dividend' : r.dividend_type,
        split_from: null,
        split_to: null,
        cash_amount: r.cash_amount,
        declared: r.declaration_date,
        record_date: r.record_date,
        pay_date: r.pay_date,
        frequency: r.frequency,
      }))
      .sort((a, b) => a.symbol.localeCompare(b.symbol) || a.ex_date.localeCompare(b.ex_date));
    expect(want).toHaveLength(10);
    expect((await runIngest(ctx, job, everything)).counts).toMatchObject({ recordsIn: 10, out: 10, quarantined: 0 });
    expect((await actions('polygon-reference')).filter((r) => r.action !== 'split')).toEqual(want);
  });

  test('every ticker of the saved pages is stored as of the UTC date of last_updated_utc, with its identifiers as sent', async () => {
    const job = loadJob(configDir, 'polygon-reference-tickers', ctx.env);
    type Ticker = { ticker: string; name: string; primary_exchange: string; active: boolean; currency_name: string; cik: string; composite_figi: string; last_updated_utc: string };
    const want = pageRecords(job, (p) => p.results as Ticker[])
      .map((r) => ({
        symbol: r.ticker,
        as_of: r.last_updated_utc.slice(0, 10),
        name: r.name,
        primary_exchange: r.primary_exchange,
        active: r.active,
        currency: r.currency_name.toUpperCase(),
        cik: r.cik,
        composite_figi: r.composite_figi,
      }))
      .sort((a, b) => a.symbol.localeCompare(b.symbol) || a.as_of.localeCompare(b.as_of));
    expect(want.map((w) => `${w.symbol} ${w.as_of}`)).toEqual(['A 2021-04-25', 'A 2022-04-27', 'AA 2022-04-27']);
    expect((await runIngest(ctx, job, everything)).counts).toMatchObject({ recordsIn: 3, out: 3, quarantined: 0 });
    const duck = await ctx.duck();
    const got = await duck.all(
      `SELECT symbol, strftime(as_of, '%Y-%m-%d') AS as_of, name, primary_exchange, active, currency, cik, composite_figi ` +
        `FROM read_parquet(${currentFiles(`${ctx.paths.lake}/tickers/source=polygon-reference`)}) ORDER BY symbol, as_of`,
    );
    expect(got).toEqual(want);
  });

  test('the grouped daily page: T is the symbol and t (ms) the New York session date, though the record has both', async () => {
    const job = loadJob(configDir, 'polygon-reference-grouped', ctx.env);
    type Bar = { T: string; t: number; o: number; h: number; l: number; c: number; v: number; vw: number; n: number };
    const nyDate = (ms: number) => new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York' }).format(new Date(ms));
    const want = pageRecords(job, (p) => p.results as Bar[]).map((r) => ({ symbol: r.T, day: nyDate(r.t), open: r.o, high: r.h, low: r.l, close: r.c, volume: r.v, vwap: r.vw, trades: r.n }));
    expect(want).toEqual([{ symbol: 'GIK', day: '2020-10-14', open: 9.99, high: 10.02, low: 9.9, close: 10.02, volume: 895345, vwap: 9.9979, trades: 96 }]);
    expect((await runIngest(ctx, job, everything)).counts).toMatchObject({ recordsIn: 1, out: 1, quarantined: 0 });
    const duck = await ctx.duck();
    const got = await duck.all(
      `SELECT symbol, strftime(ts, '%Y-%m-%d') AS day, open, high, low, close, volume, vwap, trades FROM read_parquet(${currentFiles(`${ctx.paths.lake}/ohlcv/source=polygon-grouped-reference`)})`,
    );
    expect(got).toEqual(want);
  });
});

describe('Alpaca corporate actions payloads', () => {
  test('splits and cash and stock dividends of the saved pages become corporate actions with each rate in its column; other kinds are not read', async () => {
    const job = loadJob(configDir, 'alpaca-reference-corporate-actions', ctx.env);
    type Action = { symbol: string; ex_date: string; old_rate?: number; new_rate?: number; rate?: number; special?: boolean };
    const kinds: Record<string, (a: Action) => Record<string, unknown>> = {
      forward_splits: (a) => ({ action: 'split', split_from: a.old_rate, split_to: a.new_rate, cash_amount: null, stock_rate: null }),
      reverse_splits: (a) => ({ action: 'split', split_from: a.old_rate, split_to: a.new_rate, cash_amount: null, stock_rate: null }),
      cash_dividends: (a) => ({ action: a.special ? 'special_dividend' : 'cash_dividend', split_from: null, split_to: null, cash_amount: a.rate, stock_rate: null }),
      stock_dividends: (a) => ({ action: 'stock_dividend', split_from: null, split_to: null, cash_amount: null, stock_rate: a.rate }),
    };
    const want = pageRecords(job, (p) =>
      Object.entries(p.corporate_actions as Record<string, Action[]>)
        .filter(([kind]) => kind in kinds)
        .flatMap(([kind, list]) => list.map((a) => ({ symbol: a.symbol, ex_date: a.ex_date, ...kinds[kind]!(a) }))),
    ).sort((a, b) => a.symbol.localeCompare(b.symbol));
    expect(want.map((w) => w.symbol)).toEqual(['FBL', 'FCF', 'MNTS', 'MSBC', 'NVDL', 'SRE', 'ZMTBY']);
    expect((await runIngest(ctx, job, everything)).counts).toMatchObject({ recordsIn: 7, out: 7, quarantined: 0 });
    const duck = await ctx.duck();
    const got = await duck.all(
      `SELECT symbol, strftime(ex_date, '%Y-%m-%d') AS ex_date, action, split_from, split_to, cash_amount, stock_rate ` +
        `FROM read_parquet(${currentFiles(`${ctx.paths.lake}/corporate_actions/source=alpaca-reference`)}) ORDER BY symbol`,
    );
    expect(got).toEqual(want);
    // Spot checks against the files: MNTS's 1-for-50 reverse split, MSBC's 5% stock dividend.
    expect(got.find((r) => r.symbol === 'MNTS')).toMatchObject({ split_from: 50, split_to: 1 });
    expect(got.find((r) => r.symbol === 'MSBC')).toMatchObject({ action: 'stock_dividend', stock_rate: 0.05, cash_amount: null });
  });
});

describe.each([
  { job: 'alpaca-reference-adjusted', source: 'alpaca-reference-adjusted', intraday: false, rows: 2 },
  { job: 'alpaca-reference-15m', source: 'alpaca-reference-15m', intraday: true, rows: 5 },
  { job: 'alpaca-reference-crypto', source: 'alpaca-reference-crypto', intraday: false, rows: 2 },
  { job: 'alpaca-reference-crypto-1m', source: 'alpaca-reference-crypto', intraday: true, rows: 11 },
  // The latest-bar endpoint gives one bar per symbol, an object instead of a list.
  { job: 'alpaca-reference-latest', source: 'alpaca-reference-latest', intraday: true, rows: 3 },
])('Alpaca bars payloads: $job', ({ job: name, source, intraday, rows }) => {
  test('every bar becomes a canonical row: intraday bars at t (UTC), daily ones at their New York date; values as sent, fractional volume too', async () => {
    const job = loadJob(configDir, name, ctx.env);
    type Bar = { t: string; o: number; h: number; l: number; c: number; v: number; vw: number; n: number };
    const nyDate = (iso: string) => new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York' }).format(new Date(iso));
    const want = pageRecords(job, (p) =>
      Object.entries(p.bars as Record<string, Bar[] | Bar>).flatMap(([symbol, bars]) =>
        [bars].flat().map((r) => ({ symbol, ts: intraday ? r.t.replace('Z', '') : nyDate(r.t), open: r.o, high: r.h, low: r.l, close: r.c, volume: r.v, vwap: r.vw, trades: r.n })),
      ),
    ).sort((a, b) => a.symbol.localeCompare(b.symbol) || a.ts.localeCompare(b.ts));
    expect(want).toHaveLength(rows);
    expect((await runIngest(ctx, job, everything)).counts).toMatchObject({ recordsIn: rows, out: rows, quarantined: 0 });
    const duck = await ctx.duck();
    const got = await duck.all(
      `SELECT symbol, strftime(ts, ${intraday ? "'%Y-%m-%dT%H:%M:%S'" : "'%Y-%m-%d'"}) AS ts, open, high, low, close, volume, vwap, trades ` +
        `FROM read_parquet(${currentFiles(`${ctx.paths.lake}/ohlcv/source=${source}/granularity=${job.granularity.text}`)}) ORDER BY symbol, ts`,
    );
    expect(got).toEqual(want);
  });
});

describe('Polygon daily open/close payload', () => {
  test('the document is the record: from is the session date, the pre- and after-market prices are left out', async () => {
    const job = loadJob(configDir, 'polygon-reference-open-close', ctx.env);
    type OpenClose = { from: string; symbol: string; open: number; high: number; low: number; close: number; volume: number };
    const want = pageRecords(job, (p) => [p as unknown as OpenClose]).map((r) => ({ symbol: r.symbol, day: r.from, open: r.open, high: r.high, low: r.low, close: r.close, volume: r.volume }));
    expect(want).toEqual([{ symbol: 'AAPL', day: '2021-04-01', open: 123.66, high: 124.18, low: 122.49, close: 123, volume: 75089134 }]);
    expect((await runIngest(ctx, job, everything)).counts).toMatchObject({ recordsIn: 1, out: 1, quarantined: 0 });
    const duck = await ctx.duck();
    const got = await duck.all(
      `SELECT symbol, strftime(ts, '%Y-%m-%d') AS day, open, high, low, close, volume FROM read_parquet(${currentFiles(`${ctx.paths.lake}/ohlcv/source=polygon-open-close-reference`)})`,
    );
    expect(got).toEqual(want);
  });
});

/**
 * Vendor answers saved in reference-data, served by the simulator as recorded answers to the
 * requests the fetcher plans, so each goes the way a live answer goes: fetched, checked, landed,
 * read by position and transformed. Expected values are the file's, as JSON.parse reads it.
 */
describe('Binance and CoinGecko payloads through their fetchers', () => {
  let sim: VendorSim;
  const homes: Context[] = [];
  beforeAll(async () => {
    sim = await new VendorSim().start();
  });
  afterAll(async () => {
    for (const c of homes) await c.close();
    await sim.stop();
  });

  /** A warehouse at `now` with the vendors at the simulator, the job loaded from YAML, and the keys of the requests it plans. */
  function setup(now: string, jobYaml: string, from: string, to: string, symbols: string[]) {
    const home = path.join(root, `vendor-${homes.length + 1}`);
    const configs = copyConfigs(home);
    writeFileSync(path.join(configs, 'jobs', 'reference-crypto.yml'), jobYaml);
    const c = testContext({ home, configDir: configs, now, env: { MDW_BINANCE_URL: sim.url, MDW_COINGECKO_URL: `${sim.url}/api/v3` } });
    homes.push(c);
    const job = loadJob(configs, 'reference-crypto', c.env);
    const window = parseWindow(from, to);
    const request = { job, from: window.from, toExclusive: window.toExclusive, symbols, columns: sourceReadTypes(job.transform.value, job.dataset) };
    const keys = jobFetcherOf(job).plan(request, new Date(now)).map((r) => requestKey(r.path, r.query));
    return { c, job, keys, options: { window, symbols, dryRun: false, runId: null } };
  }
  function jobFetcherOf(job: ReturnType<typeof loadJob>) {
    const found = jobFetcher(job.spec.source.adapter, job.dataset.name, job.spec.source.endpoint);
    if ('error' in found) throw new Error(found.error);
    return found.fetcher;
  }
  const file = (p: string) => JSON.parse(readFileSync(path.join(reference, p), 'utf8')) as unknown;
  const iso = (ms: number) => new Date(ms).toISOString();

  test('Binance 1m klines (500 of a USDT pair): each kline at its open time, prices and volumes from their strings, quote volume and trades as sent', async () => {
    const klines = file('binance-klines/api_v3_klines_1m_USDT_pair_unknown_symbol.json') as [number, string, string, string, string, string, number, string, number, string, string, string][];
    expect(klines).toHaveLength(500);
    // The minute grid: close time is open + 59,999 ms, every kline a minute after the one before.
    expect(klines.every((k, i) => k[6] === k[0] + 59_999 && (i === 0 || k[0] - klines[i - 1]![0] === 60_000))).toBe(true);
    // The capture does not name its symbol: the request's is stored.
    const { c, job, keys, options } = setup(
      '2024-12-01T00:00:00Z',
      'dataset: ohlcv\ngranularity: 1m\ncalendar: 24/7\nsource: { name: binance-reference, adapter: binance }\nsymbols: [PAIRUSDT]\nwindow: { from: 2024-11-16, to: 2024-11-16 }\ntransform: binance-klines\n',
      '2024-11-16',
      '2024-11-16',
      ['PAIRUSDT'],
    );
    expect(keys).toEqual(['/api/v3/klines?symbol=PAIRUSDT&interval=1m&startTime=1731715200000&endTime=1731801599999&limit=1000']);
    sim.recorded = [{ request: keys[0]!, body: klines }];
    try {
      expect((await runIngest(c, job, options)).counts).toMatchObject({ recordsIn: 500, out: 500, quarantined: 0 });
    } finally {
      sim.recorded = [];
    }
    const duck = await c.duck();
    const got = await duck.all<Record<string, unknown>>(
      `SELECT symbol, epoch_ms(ts) AS ts, open, high, low, close, volume, quote_volume, trades FROM read_parquet(${currentFiles(`${c.paths.lake}/ohlcv/source=binance-reference/granularity=1m`)}) ORDER BY ts`,
    );
    const want = klines.map((k) => ({ symbol: 'PAIRUSDT', ts: k[0], open: Number(k[1]), high: Number(k[2]), low: Number(k[3]), close: Number(k[4]), volume: Number(k[5]), quote_volume: Number(k[7]), trades: k[8] }));
    expect(got.map((r) => ({ ...r, ts: Number(r['ts']), trades: Number(r['trades']) }))).toEqual(want);
    expect([iso(klines[0]![0]), iso(klines[499]![0])]).toEqual(['2024-11-16T09:07:00.000Z', '2024-11-16T17:26:00.000Z']);
  });

  test("CoinGecko's ohlc example: 30-minute candles stamped at their close, each stored at its start, prices as sent, no volume", async () => {
    const candles = file('coingecko-oas-examples/coins_id_ohlc_example.json') as [number, number, number, number, number][];
    expect(candles).toHaveLength(2);
    expect(candles[1]![0] - candles[0]![0]).toBe(1_800_000);
    const last = candles[1]![0];
    const now = iso(last + 600_000);
    const day = now.slice(0, 10);
    const { c, job, keys, options } = setup(
      now,
      `dataset: ohlcv\ngranularity: 30m\ncalendar: 24/7\nsource: { name: coingecko-reference, adapter: coingecko, coins: { BTC: bitcoin } }\nsymbols: [BTC]\nwindow: { from: ${day} }\ntransform: coingecko-ohlc\nvalidation: coingecko-ohlc\n`,
      day,
      day,
      ['BTC'],
    );
    expect(keys).toEqual(['/coins/bitcoin/ohlc?vs_currency=usd&days=1']);
    sim.recorded = [{ request: keys[0]!, body: candles }];
    try {
      expect((await runIngest(c, job, options)).counts).toMatchObject({ recordsIn: 2, out: 2, quarantined: 0 });
    } finally {
      sim.recorded = [];
    }
    const duck = await c.duck();
    const got = await duck.all<Record<string, unknown>>(
      `SELECT symbol, epoch_ms(ts) AS ts, open, high, low, close, volume FROM read_parquet(${currentFiles(`${c.paths.lake}/ohlcv/source=coingecko-reference/granularity=30m`)}) ORDER BY ts`,
    );
    expect(got.map((r) => ({ ...r, ts: Number(r['ts']) }))).toEqual(candles.map((k) => ({ symbol: 'BTC', ts: k[0] - 1_800_000, open: k[1], high: k[2], low: k[3], close: k[4], volume: null })));
  });

  test.each(['coins_id_market_chart_range_example.json', 'coins_id_market_chart_example.json'])("CoinGecko's market chart example (%s): each sample at its time to the millisecond, price, market cap and 24h volume as sent", async (name) => {
    const chart = file(`coingecko-oas-examples/${name}`) as Record<'prices' | 'market_caps' | 'total_volumes', [number, number][]>;
    const times = chart.prices.map((p) => p[0]);
    expect(chart.market_caps.map((p) => p[0])).toEqual(times);
    expect(chart.total_volumes.map((p) => p[0])).toEqual(times);
    const now = iso(times.at(-1)!);
    const day = now.slice(0, 10);
    const { c, job, keys, options } = setup(
      now,
      `dataset: crypto_market\ngranularity: 1h\nsource: { name: coingecko-chart-reference, adapter: coingecko, endpoint: market_chart, coins: { BTC: bitcoin } }\nsymbols: [BTC]\nwindow: { from: ${day} }\ntransform: coingecko-market-chart\n`,
      day,
      day,
      ['BTC'],
    );
    expect(keys).toHaveLength(1);
    sim.recorded = [{ request: keys[0]!, body: chart }];
    try {
      expect((await runIngest(c, job, options)).counts).toMatchObject({ recordsIn: times.length, out: times.length, quarantined: 0 });
    } finally {
      sim.recorded = [];
    }
    const duck = await c.duck();
    const got = await duck.all<Record<string, unknown>>(
      `SELECT symbol, epoch_ms(ts) AS ts, price, market_cap, total_volume FROM read_parquet(${currentFiles(`${c.paths.lake}/crypto_market/source=coingecko-chart-reference`)}) ORDER BY ts`,
    );
    expect(got.map((r) => ({ ...r, ts: Number(r['ts']) }))).toEqual(
      chart.prices.map((p, i) => ({ symbol: 'BTC', ts: p[0], price: p[1], market_cap: chart.market_caps[i]![1], total_volume: chart.total_volumes[i]![1] })),
    );
  });

  test("pycoingecko's partial capture (prices only) is refused as no market chart: a price is never stored without the lists it is read beside", async () => {
    const partial = file('coingecko-pycoingecko/coins_bitcoin_market_chart_usd_days1_prices_only.json') as { prices: [number, number][] };
    const last = partial.prices.at(-1)![0];
    const day = iso(last).slice(0, 10);
    const { c, job, keys, options } = setup(
      iso(last + 60_000),
      `dataset: crypto_market\ngranularity: 1h\nsource: { name: coingecko-partial, adapter: coingecko, endpoint: market_chart, coins: { BTC: bitcoin } }\nsymbols: [BTC]\nwindow: { from: ${day} }\ntransform: coingecko-market-chart\n`,
      day,
      day,
      ['BTC'],
    );
    sim.recorded = [{ request: keys[0]!, body: partial }];
    try {
      await expect(runIngest(c, job, options)).rejects.toThrow('coingecko /coins/bitcoin/market_chart/range: not a market chart ({prices, market_caps, total_volumes} of [time, value] pairs)');
    } finally {
      sim.recorded = [];
    }
    expect(existsSync(path.join(c.paths.lake, 'crypto_market'))).toBe(false);
  });
});


/**
 * Alpha Vantage's saved answers served as recorded by the local simulator to the shipped jobs
 * (the fetchers, the HTTP client, the landing and the transforms, as a user runs them), and
 * compared field by field with the files as JSON.parse reads them.
 */
describe('Alpha Vantage payloads', () => {
  const av = (dir: string, file: string) => path.join(reference, dir, file);
  type AvRecord = Record<string, string>;
  let sim: VendorSim;
  let avRoot: string;
  let avConfigs: string;
  let k = 0;
  const opened: Context[] = [];

  beforeAll(async () => {
    avRoot = tempDir();
    avConfigs = copyConfigs(avRoot);
    const endpoints = path.join(avConfigs, 'endpoints.yml');
    writeFileSync(endpoints, readFileSync(endpoints, 'utf8').replace(/(\n    rpm: )\d+/g, '$160000').replace(/(\n    daily_budget: )\d+/g, '$11000000'));
    sim = await new VendorSim().start();
  });
  afterAll(async () => {
    for (const c of opened) await c.close();
    await sim.stop();
    removeDir(avRoot);
  });

  /** A run of a job (YAML of its own) against the recorded answers, with the clock at `now`; the rows stored and the counts. */
  async function ingest(jobYaml: string, now: string, recorded: { request: string; file: string }[], window: [string, string], symbols: string[] | null) {
    writeFileSync(path.join(avConfigs, 'jobs', 'av-test.yml'), jobYaml);
    const home = path.join(avRoot, `home-${++k}`);
    const c = testContext({ home, configDir: avConfigs, now, env: { MDW_ALPHAVANTAGE_URL: sim.url, ALPHAVANTAGE_API_KEY: 'av-conformance-key' } });
    // Closed after the tests too, so that a failing one leaves no catalog open.
    opened.push(c);
    sim.recorded = recorded.map((r) => ({ request: r.request, body: r.file.endsWith('.csv') ? readFileSync(r.file, 'utf8') : JSON.parse(readFileSync(r.file, 'utf8')) }));
    sim.requests.length = 0;
    try {
      const job = loadJob(avConfigs, 'av-test', c.env);
      const result = await runIngest(c, job, { window: parseWindow(window[0], window[1]), symbols, dryRun: false, runId: null });
      // Each recorded request asked once, with the key in the query and nowhere else.
      const asked = (u: string) => {
        const q = new URL(u, 'http://sim').searchParams;
        q.delete('apikey');
        q.sort();
        return q.toString();
      };
      expect(sim.requests.map((r) => asked(r.url))).toEqual(recorded.map((r) => asked(r.request)));
      expect(sim.requests.every((r) => new URL(r.url, 'http://sim').searchParams.get('apikey') === 'av-conformance-key')).toBe(true);
      return { c, result };
    } finally {
      sim.recorded = [];
    }
  }
  const barsOf = async (c: Context, source: string) =>
    (await c.duck()).all<Record<string, unknown>>(
      `SELECT symbol, strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS ts, open, high, low, close, volume FROM read_parquet(${currentFiles(`${c.paths.lake}/ohlcv/source=${source}`)}) ORDER BY symbol, ts`,
    );
  /** A series' records as the file has them: key -> values, numbers from the strings. */
  const fileBars = (file: string, series: string, symbol: string, ts: (key: string) => string, volume = '5. volume') =>
    Object.entries((JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, AvRecord>>)[series]!).map(([key, r]) => ({
      symbol,
      ts: ts(key),
      open: Number(r['1. open']),
      high: Number(r['2. high']),
      low: Number(r['3. low']),
      close: Number(r['4. close']),
      volume: Number(r[volume]),
    }));
  const byKey = (a: { symbol: unknown; ts: unknown }, b: { symbol: unknown; ts: unknown }) => String(a.symbol).localeCompare(String(b.symbol)) || String(a.ts).localeCompare(String(b.ts));
  const day = (key: string) => `${key}T00:00:00Z`;
  /** A New York wall-clock time ("YYYY-MM-DD HH:MM:SS") as the UTC instant, read here with Intl, not with the transform's code. */
  const fromNewYork = (key: string) => {
    const guess = Date.parse(`${key.replace(' ', 'T')}Z`);
    const wall = (t: number) => {
      const p = Object.fromEntries(new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(t)).map((x) => [x.type, x.value]));
      return Date.parse(`${p['year']}-${p['month']}-${p['day']}T${p['hour']}:${p['minute']}:${p['second']}Z`);
    };
    return guess - (wall(guess) - guess);
  };
  const iso = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');
  const daily = (g: string, transform: string, endpoint = '', calendar = 'XNYS', source = 'alphavantage') =>
    `dataset: ohlcv\ngranularity: ${g}\ncalendar: ${calendar}\nsource: { name: ${source}, adapter: alphavantage${endpoint ? `, endpoint: ${endpoint}` : ''} }\ntransform: ${transform}\n`;

  test('TIME_SERIES_DAILY (MSFT 2018, IBM 2020) and WEEKLY (IBM): every record keyed by date is a bar at 00:00 UTC of that date, values from the strings', async () => {
    const msft = av('alphavantage-dotnet', 'daily-not-adjusted.json');
    const ibm = av('alphavantage-java', 'timeseries_daily.json');
    const { c, result } = await ingest(daily('1d', 'alphavantage-daily'), '2020-06-01T12:00:00Z', [
      { request: '/query?function=TIME_SERIES_DAILY&symbol=MSFT&outputsize=full', file: msft },
      { request: '/query?function=TIME_SERIES_DAILY&symbol=IBM&outputsize=full', file: ibm },
    ], ['2018-01-01', '2020-05-08'], ['MSFT', 'IBM']);
    const want = [...fileBars(msft, 'Time Series (Daily)', 'MSFT', day), ...fileBars(ibm, 'Time Series (Daily)', 'IBM', day)].sort(byKey);
    expect(want).toHaveLength(5);
    expect(result.counts).toMatchObject({ recordsIn: 5, out: 5, quarantined: 0 });
    expect(await barsOf(c, 'alphavantage')).toEqual(want);
    await c.close();

    const weekly = av('alphavantage-java', 'timeseries_weekly.json');
    const w = await ingest(daily('1w', 'alphavantage-daily', '', 'XNYS', 'alphavantage-weekly'), '2020-06-01T12:00:00Z', [{ request: '/query?function=TIME_SERIES_WEEKLY&symbol=IBM', file: weekly }], ['2020-04-01', '2020-05-08'], ['IBM']);
    const wantWeeks = fileBars(weekly, 'Weekly Time Series', 'IBM', day).sort(byKey);
    expect(wantWeeks.map((x) => x.ts)).toEqual(['2020-05-01T00:00:00Z', '2020-05-08T00:00:00Z']);
    const gotWeeks = await barsOf(w.c, 'alphavantage-weekly');
    // A week is stored by the bar-size convention of the lake; its values are the file's, week by week.
    expect(gotWeeks.map(({ ts: _ts, ...v }) => v)).toEqual(wantWeeks.map(({ ts: _ts, ...v }) => v));
    await w.c.close();
  });

  test('TIME_SERIES_DAILY_ADJUSTED (MSFT 2018, IBM with its 1.63 dividend): raw prices and volume from field 6; the damaged record ("open": "r") is quarantined, not read', async () => {
    const msft = av('alphavantage-dotnet', 'daily-adjusted.json');
    const ibm = av('alphavantage-java', 'timeseries_dailyadjusted.json');
    const { c, result } = await ingest(daily('1d', 'alphavantage-adjusted', 'daily_adjusted', 'XNYS', 'alphavantage-adjusted'), '2020-06-01T12:00:00Z', [
      { request: '/query?function=TIME_SERIES_DAILY_ADJUSTED&symbol=MSFT&outputsize=full', file: msft },
      { request: '/query?function=TIME_SERIES_DAILY_ADJUSTED&symbol=IBM&outputsize=full', file: ibm },
    ], ['2018-01-01', '2020-05-08'], ['MSFT', 'IBM']);
    const want = [...fileBars(msft, 'Time Series (Daily)', 'MSFT', day, '6. volume'), ...fileBars(ibm, 'Time Series (Daily)', 'IBM', day, '6. volume')].sort(byKey);
    expect(want).toHaveLength(5);
    expect(result.counts).toMatchObject({ out: 5, quarantined: 0 });
    expect(await barsOf(c, 'alphavantage-adjusted')).toEqual(want);
    await c.close();

    const bad = av('alphavantage-dotnet', 'bad-data.json');
    const b = await ingest(daily('1d', 'alphavantage-adjusted', 'daily_adjusted', 'XNYS', 'alphavantage-bad'), '2018-06-01T12:00:00Z', [
      { request: '/query?function=TIME_SERIES_DAILY_ADJUSTED&symbol=MSFT&outputsize=compact', file: bad },
    ], ['2018-05-01', '2018-05-10'], ['MSFT']);
    expect(b.result.counts).toMatchObject({ recordsIn: 1, out: 0, quarantined: 1 });
    await b.c.close();
  });

  test('TIME_SERIES_INTRADAY (MSFT 1min, IBM 5min): each key is the bar END in New York time, stored as the bar start in UTC', async () => {
    const cases = [
      { file: av('alphavantage-dotnet', 'intraday.json'), symbol: 'MSFT', g: '1m', minutes: 1, month: '2018-05', window: ['2018-05-04', '2018-05-04'] as [string, string], now: '2018-06-01T12:00:00Z' },
      { file: av('alphavantage-java', 'timeseries_intraday.json'), symbol: 'IBM', g: '5m', minutes: 5, month: '2020-05', window: ['2020-05-08', '2020-05-08'] as [string, string], now: '2020-06-01T12:00:00Z' },
    ];
    for (const x of cases) {
      const { c, result } = await ingest(daily(x.g, 'alphavantage-intraday', '', 'XNYS', `alphavantage-${x.g}`), x.now, [
        { request: `/query?function=TIME_SERIES_INTRADAY&symbol=${x.symbol}&interval=${x.minutes}min&month=${x.month}&outputsize=full&adjusted=false&extended_hours=true`, file: x.file },
      ], x.window, [x.symbol]);
      const want = fileBars(x.file, `Time Series (${x.minutes}min)`, x.symbol, (key) => iso(fromNewYork(key) - x.minutes * 60_000)).sort(byKey);
      expect(result.counts).toMatchObject({ out: want.length, quarantined: 0 });
      expect(await barsOf(c, `alphavantage-${x.g}`)).toEqual(want);
      await c.close();
    }
  });

  test('DIGITAL_CURRENCY_DAILY (BTC in EUR): UTC days, the pair as the symbol, volume in the coin as sent', async () => {
    const file = av('alphavantage-java', 'crypto_daily.json');
    const { c, result } = await ingest(daily('1d', 'alphavantage-crypto', 'crypto_daily', '24/7', 'alphavantage-crypto'), '2025-08-25T12:00:00Z', [
      { request: '/query?function=DIGITAL_CURRENCY_DAILY&symbol=BTC&market=EUR', file },
    ], ['2025-08-22', '2025-08-24'], ['BTC/EUR']);
    const want = fileBars(file, 'Time Series (Digital Currency Daily)', 'BTC/EUR', day).sort(byKey);
    expect(want).toHaveLength(3);
    expect(result.counts).toMatchObject({ out: 3, quarantined: 0 });
    expect(await barsOf(c, 'alphavantage-crypto')).toEqual(want);
    await c.close();
  });

  test('LISTING_STATUS (12,427 active names, 2022): every line a ticker as of the date asked, ipoDate as listed_at, "null" no delisting date, NAN a ticker', async () => {
    const file = av('alphavantage-listing-status', 'LISTING_STATUS_active_2022-03.csv');
    const header = 'symbol,name,exchange,assetType,ipoDate,delistingDate,status\r\n';
    const empty = path.join(avRoot, 'delisted-empty.csv');
    writeFileSync(empty, header);
    const { c, result } = await ingest(
      'dataset: tickers\ngranularity: 1d\nsource: { name: alphavantage, adapter: alphavantage }\ntransform: alphavantage-listing\n',
      '2022-03-10T12:00:00Z',
      [
        { request: '/query?function=LISTING_STATUS&date=2022-03-04&state=active', file },
        { request: '/query?function=LISTING_STATUS&date=2022-03-04&state=delisted', file: empty },
      ],
      ['2022-03-04', '2022-03-04'],
      null,
    );
    const want = readFileSync(file, 'utf8')
      .split(/\r?\n/)
      .slice(1)
      .filter((l) => l !== '')
      .map((l) => l.split(','))
      .map(([symbol, name, exchange, assetType, ipoDate, delistingDate, status]) => ({
        symbol: symbol!,
        as_of: '2022-03-04',
        // Names are stored as sent, trailing blanks and all? The reader trims the field, as every CSV field.
        name: name!.trim() === '' ? null : name!.trim(),
        primary_exchange: exchange,
        type: assetType,
        active: status === 'Active',
        listed_at: ipoDate === 'null' ? null : ipoDate,
        delisted_at: delistingDate === 'null' ? null : delistingDate,
      }))
      .sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
    expect(want).toHaveLength(12_427);
    // NAN is a ticker, not a missing value.
    expect(want.filter((w) => w.symbol === 'NAN')).toHaveLength(1);
    expect(result.counts).toMatchObject({ out: 12_427, quarantined: 0 });
    const got = await (await c.duck()).all<Record<string, unknown>>(
      `SELECT symbol, strftime(as_of, '%Y-%m-%d') AS as_of, name, primary_exchange, type, active, strftime(listed_at, '%Y-%m-%d') AS listed_at, strftime(delisted_at, '%Y-%m-%d') AS delisted_at ` +
        `FROM read_parquet(${currentFiles(`${c.paths.lake}/tickers/source=alphavantage`)}) ORDER BY symbol COLLATE "C"`,
    );
    expect(got).toEqual(want);
    await c.close();
  });
});
