import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runBackfill, type BackfillOptions } from '../../src/backfill/run-backfill.js';
import { acceptHole, knownHoles, listChunks } from '../../src/catalog/backfill-catalog.js';
import { loadJob } from '../../src/config/jobs.js';
import type { Context } from '../../src/context.js';
import { parseWindow } from '../../src/core/time-window.js';
import { runIngest } from '../../src/pipeline/run-ingest.js';
import { auditSeries } from '../../src/audit/run-audit.js';
import { copyConfigs, currentFiles, freshCatalog, lakeContent, removeDir, repoRoot, runMdw, tempDir, testContext } from '../support/helpers.js';
import { VendorSim } from '../support/vendor-sim.js';
import { loadRetentionConfig } from '../../src/config/retention.js';
import { runRetention } from '../../src/retention/run-retention.js';

/**
 * `mdw backfill` against the vendor simulator: holes the lake has become chunks in the queue,
 * each filled by one request of the best vendor with budget left; a second run asks nothing;
 * a vendor's "no data" becomes a known hole, asked again only after its back-off.
 */
let root: string;
let configs: string;
const drops: (() => Promise<void>)[] = [];
let sim: VendorSim;
let ctx: Context;
let n = 0;
const contexts: Context[] = [];

const keys = { POLYGON_API_KEY: 'sk-poly', ALPACA_KEY_ID: 'AKID', ALPACA_SECRET_KEY: 'sk-alp', FINNHUB_API_KEY: 'sk-finn' };
/** Friday 2024-03-01, after the close: the last ended session is 2024-02-29... and 03-01 closed at 21:00Z. */
const now = '2024-03-02T12:00:00Z';
const run: BackfillOptions = { targets: ['bf'], symbols: null, from: null, to: null, vendor: null, maxRequests: null, dryRun: false, runId: null };

beforeAll(async () => {
  root = tempDir('mdw-backfill-');
  configs = copyConfigs(root);
  sim = await new VendorSim().start();
  const endpoints = path.join(configs, 'endpoints.yml');
  // No pacing and no timeout a loaded machine could hit; the simulator answers in milliseconds.
  writeFileSync(endpoints, readFileSync(endpoints, 'utf8').replace(/(\n    rpm: )\d+/g, '$160000').replace(/(\n    daily_budget: \d+)/g, '$1\n    timeout_ms: 120000'));
  const job = (name: string, adapter: string, transform: string) =>
    writeFileSync(path.join(configs, 'jobs', `${name}.yml`), `dataset: ohlcv\ngranularity: 1d\ncalendar: XNYS\nsource: { name: ${name}, adapter: ${adapter} }\nsymbols: [AAPL, MSFT]\ntransform: ${transform}\n`);
  job('bf-poly', 'polygon', 'polygon-aggs');
  job('bf-alp', 'alpaca', 'alpaca-bars');
});

afterAll(async () => {
  for (const c of contexts) await c.close();
  await sim.stop();
  for (const d of drops) await d();
  removeDir(root);
});

/** The test's backfill.yml: one target over AAPL and MSFT from 2024-01-02, Polygon first, then Alpaca. */
function writeBackfill(budgets: { polygon: number; alpaca: number }, earliest = '2024-01-02'): void {
  writeFileSync(
    path.join(configs, 'backfill.yml'),
    `budgets: { polygon: ${budgets.polygon}, alpaca: ${budgets.alpaca} }\n` +
      'targets:\n  bf:\n    dataset: ohlcv\n    granularity: 1d\n    calendar: XNYS\n    universe: { symbols: [AAPL, MSFT] }\n' +
      `    earliest: ${earliest}\n    chunk_sessions: 252\n    priority: 1\n    vendors:\n      - { vendor: polygon, job: bf-poly }\n      - { vendor: alpaca, job: bf-alp }\n`,
  );
}

/** A fresh warehouse with its own home and catalog (on the server, a database of its own), at `at`. */
async function warehouse(at = now): Promise<Context> {
  const { url, drop } = await freshCatalog();
  drops.push(drop);
  const c = testContext({ home: path.join(root, `home-${++n}`), databaseUrl: url, configDir: configs, now: at, env: { ...keys, MDW_POLYGON_URL: sim.url, MDW_ALPACA_URL: sim.url } });
  contexts.push(c);
  await c.catalog();
  return c;
}

/** The same warehouse seen later (another day's run): the earlier context is closed, as a process would end. */
async function later(c: Context, at: string): Promise<Context> {
  await c.close();
  const next = testContext({ home: c.settings.home, databaseUrl: c.env.MDW_DATABASE_URL, configDir: configs, now: at, env: c.env });
  contexts.push(next);
  return next;
}

const sqlOf = async (c: Context) => (await c.catalog()).sql;

const aggsRequests = () => sim.requests.filter((r) => r.url.startsWith('/v2/aggs/')).length;
const alpacaRequests = () => sim.requests.filter((r) => r.url.startsWith('/v2/stocks/bars')).length;

async function forwardIngest(c: Context, source = 'bf-poly'): Promise<void> {
  await runIngest(c, loadJob(configs, source, c.env), { window: parseWindow('2024-01-02', '2024-03-01'), symbols: ['AAPL', 'MSFT'], dryRun: false, runId: null });
}

/** Session dates stored per symbol, over every source. */
async function stored(c: Context): Promise<Record<string, string[]>> {
  const duck = await c.duck();
  const rows = await duck.all<{ symbol: string; day: string }>(
    `SELECT symbol, strftime(ts, '%Y-%m-%d') AS day FROM read_parquet(${currentFiles(`${c.paths.lake}/ohlcv`)}) GROUP BY ALL ORDER BY ALL`,
  );
  const out: Record<string, string[]> = {};
  for (const r of rows) (out[r.symbol] ??= []).push(r.day);
  return out;
}

async function redSessions(c: Context, job: string): Promise<number> {
  const audit = (await auditSeries(c, loadJob(configs, job, c.env), { tolerance: 0.005 }))!;
  return audit.symbols.reduce((sum, s) => sum + s.red, 0);
}

beforeEach(() => {
  writeBackfill({ polygon: 1000, alpaca: 1000 });
  sim.omitDates.clear();
  sim.requests.length = 0;
});

describe('mdw backfill', () => {
  test('holes in the lake become one chunk per symbol, each filled by one request; a second run plans and asks nothing', async () => {
    ctx = await warehouse();
    sim.omitDates = new Set(['2024-01-10', '2024-01-11', '2024-02-14']);
    await forwardIngest(ctx);
    expect(await redSessions(ctx, 'bf-poly')).toBe(6);
    const before = await stored(ctx);
    expect(before['AAPL']).not.toContain('2024-01-10');

    sim.omitDates.clear();
    sim.requests.length = 0;
    const first = await runBackfill(ctx, run);
    // AAPL and MSFT: 2024-01-10..2024-02-14 each, 3 sessions missing (those between ride along in the one request).
    expect(first.plans[0]!.chunks).toEqual([
      { target: 'bf', symbol: 'AAPL', from: '2024-01-10', to: '2024-02-14', sessions: 3 },
      { target: 'bf', symbol: 'MSFT', from: '2024-01-10', to: '2024-02-14', sessions: 3 },
    ]);
    expect(first.outcomes.map((o) => [o.chunk.symbol, o.outcome, o.vendor])).toEqual([
      ['AAPL', 'done', 'polygon'],
      ['MSFT', 'done', 'polygon'],
    ]);
    expect(aggsRequests()).toBe(2);
    expect(first.requests).toBe(2);
    expect(first.stopped).toBe('empty');
    expect(await redSessions(ctx, 'bf-poly')).toBe(0);
    const after = await stored(ctx);
    for (const s of ['AAPL', 'MSFT']) expect(after[s]).toEqual([...new Set([...before[s]!, '2024-01-10', '2024-01-11', '2024-02-14'])].sort());

    sim.requests.length = 0;
    const second = await runBackfill(ctx, run);
    expect(second.plans[0]!.chunks).toEqual([]);
    expect(second.outcomes).toEqual([]);
    expect(sim.requests.length).toBe(0);
    const chunks = await listChunks((await ctx.catalog()).sql, { targets: ['bf'] });
    expect(chunks.map((c) => [c.symbol, c.status, c.vendor])).toEqual([
      ['AAPL', 'done', 'polygon'],
      ['MSFT', 'done', 'polygon'],
    ]);
  });

  test('sessions a retention policy retired are not holes: the backfill plans nothing for them', async () => {
    ctx = await warehouse();
    await forwardIngest(ctx);
    expect((await runBackfill(ctx, { ...run, dryRun: true })).plans[0]!.chunks).toEqual([]);
    const file = path.join(root, 'retention-bf.yml');
    writeFileSync(file, 'policies:\n  - dataset: ohlcv\n    source: bf-poly\n    keep: { sessions: 20 }\n    then: delete\n');
    const report = await runRetention(ctx, loadRetentionConfig(file, ctx.env, { required: true }), { dryRun: false, compact: false, purgeAfterMs: 7 * 86_400_000, runId: null });
    // The 20 sessions up to Friday 2024-03-01 begin on 2024-02-02: the year file is rewritten without January and 2024-02-01.
    expect(report.lines.map((l) => [l.action, l.partitions, l.rows, l.cut])).toEqual([['rewrite', 1, 2 * 22, '2024-02-02T00:00:00Z']]);
    expect((await stored(ctx))['AAPL']![0]).toBe('2024-02-02');
    sim.requests.length = 0;
    expect((await runBackfill(ctx, { ...run, dryRun: true })).plans[0]!.chunks).toEqual([]);
    expect(aggsRequests() + alpacaRequests()).toBe(0);
  });

  test('a dry run sends nothing and counts the requests the real run then sends', async () => {
    ctx = await warehouse();
    sim.omitDates = new Set(['2024-02-05', '2024-02-06']);
    await forwardIngest(ctx);
    sim.omitDates.clear();
    sim.requests.length = 0;
    const dry = await runBackfill(ctx, { ...run, dryRun: true });
    expect(sim.requests.length).toBe(0);
    expect(dry.plans[0]!.byVendor).toEqual([{ vendor: 'polygon', chunks: 2, requests: 2, budget: 1000, usedToday: expect.any(Number), cost: null }]);
    expect(await listChunks((await ctx.catalog()).sql, { targets: ['bf'] })).toEqual([]);
    const real = await runBackfill(ctx, run);
    expect(real.requests).toBe(2);
    expect(aggsRequests()).toBe(2);
  });

  test("with Polygon's budget spent the chunks go to Alpaca; with both spent the run stops (exit 3) and the next day's run finishes without asking again", async () => {
    ctx = await warehouse();
    sim.alpacaKeys = { id: keys.ALPACA_KEY_ID, secret: keys.ALPACA_SECRET_KEY };
    sim.omitDates = new Set(['2024-01-16', '2024-02-20']);
    await forwardIngest(ctx);
    sim.omitDates.clear();
    writeBackfill({ polygon: 2, alpaca: 1 });
    const day = now.slice(0, 10);
    // Forward ingest already spent 2 Polygon requests today, all backfill may.
    const used = (await (await sqlOf(ctx))<{ used: number }[]>`select used from mdw.request_budget where vendor = 'polygon' and day = ${day}`)[0]?.used ?? 0;
    expect(used).toBe(2);
    sim.requests.length = 0;
    const first = await runBackfill(ctx, run);
    // AAPL goes to Alpaca (its one request), MSFT finds both spent and waits.
    expect(first.outcomes.map((o) => [o.chunk.symbol, o.outcome, o.vendor])).toEqual([
      ['AAPL', 'done', 'alpaca'],
      ['MSFT', 'queued', null],
    ]);
    expect(first.stopped).toBe('budget');
    expect(aggsRequests()).toBe(0);
    expect(alpacaRequests()).toBe(1);
    expect((await stored(ctx))['AAPL']).toContain('2024-01-16');

    // The next day: budgets are new; only MSFT's chunk is asked for.
    sim.requests.length = 0;
    const next = await later(ctx, '2024-03-03T12:00:00Z');
    const second = await runBackfill(next, run);
    expect(second.outcomes.map((o) => [o.chunk.symbol, o.outcome, o.vendor])).toEqual([['MSFT', 'done', 'polygon']]);
    expect(aggsRequests()).toBe(1);
    expect(alpacaRequests()).toBe(0);
    const all = await stored(next);
    for (const s of ['AAPL', 'MSFT']) expect(all[s]).toEqual(expect.arrayContaining(['2024-01-16', '2024-02-20']));
  });

  test('through bin/mdw: a dry run, a run that spends both budgets (exit 3), the queue it leaves, and an accepted hole', async () => {
    const { url, drop } = await freshCatalog();
    drops.push(drop);
    const env = { ...keys, MDW_POLYGON_URL: sim.url, MDW_ALPACA_URL: sim.url, MDW_HOME: path.join(root, 'cli-home'), MDW_CONFIG_DIR: configs, ...(url ? { MDW_DATABASE_URL: url } : {}) };
    expect((await runMdw(['init', '-y'], { env })).code).toBe(0);
    sim.alpacaKeys = { id: keys.ALPACA_KEY_ID, secret: keys.ALPACA_SECRET_KEY };
    writeBackfill({ polygon: 1, alpaca: 1 });
    const args = ['backfill', 'bf', '--symbols', 'AAPL,MSFT,SPY', '--from', '2024-01-02', '--to', '2024-03-01'];
    // A vendor that bills per request: the dry run says what the backfill would cost.
    const endpoints = path.join(configs, 'endpoints.yml');
    const flat = readFileSync(endpoints, 'utf8');
    writeFileSync(endpoints, flat.replace('    auth: { kind: bearer, env: POLYGON_API_KEY }', '    auth: { kind: bearer, env: POLYGON_API_KEY }\n    cost: { per_request: 0.0125, currency: USD }'));
    const dry = await runMdw([...args, '--dry-run'], { env });
    writeFileSync(endpoints, flat);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toBe('target,symbols,vendor,chunks,requests,budget,used_today,cost\nbf,3,polygon,3,3,1,0,0.04 USD\n');
    expect(dry.stderr).toContain('backfill (dry run): 3 chunks to fill, 3 requests; nothing was fetched or queued');
    expect(sim.requests.length).toBe(0);

    const real = await runMdw(args, { env });
    expect(real.code).toBe(3);
    expect(real.stdout.trim().split('\n').map((l) => l.split(',').slice(1, 7).join(','))).toEqual([
      'symbol,from,to,sessions,outcome,vendor',
      'AAPL,2024-01-02,2024-03-01,42,done,polygon',
      'MSFT,2024-01-02,2024-03-01,42,done,alpaca',
      'SPY,2024-01-02,2024-03-01,42,queued,',
    ]);
    expect(real.stderr).toMatch(/every vendor the queued chunks allow has spent its budget for today; the next run resumes the queue/);
    expect(aggsRequests()).toBe(1);
    expect(alpacaRequests()).toBe(1);

    const status = await runMdw(['backfill', 'status'], { env });
    expect(status.code).toBe(0);
    expect(status.stdout).toBe('target,queued,leased,done,empty,failed,expired_leases,days_to_finish,oldest_failure\nbf,1,0,2,0,0,0,1,\n');

    // mdw status says what the backfill did per symbol.
    const st = await runMdw(['status', '--format', 'json'], { env });
    const bySymbol = Object.fromEntries((JSON.parse(st.stdout) as { source: string; symbol: string; backfill_outcome: string | null }[]).map((r) => [`${r.source} ${r.symbol}`, r.backfill_outcome]));
    expect(bySymbol).toEqual({ 'bf-alp MSFT': 'done', 'bf-poly AAPL': 'done' });

    const noReason = await runMdw(['backfill', 'accept', 'bf', 'SPY', '2024-01-02', '2024-03-01'], { env });
    expect(noReason.code).toBe(2);
    const accepted = await runMdw(['backfill', 'accept', 'bf', 'SPY', '2024-01-02', '2024-03-01', '--reason', 'not wanted'], { env });
    expect(accepted.code).toBe(0);
    expect(accepted.stderr).toContain('bf SPY 2024-01-02..2024-03-01 is a known hole (not wanted)');
  });

  test('killed while it waits for a vendor, twice, and run again: every request answered once, and the lake of an uninterrupted backfill', async () => {
    const args = ['backfill', 'bf', '--symbols', 'AAPL,MSFT,SPY,TSLA', '--from', '2023-01-03', '--to', '2024-03-01'];
    const home = async (name: string) => {
      const { url, drop } = await freshCatalog();
      drops.push(drop);
      const env = { ...keys, MDW_POLYGON_URL: sim.url, MDW_ALPACA_URL: sim.url, MDW_HOME: path.join(root, name), MDW_CONFIG_DIR: configs, ...(url ? { MDW_DATABASE_URL: url } : {}) };
      expect((await runMdw(['init', '-y'], { env })).code).toBe(0);
      return env;
    };
    // Uninterrupted: 4 symbols x 2 years, a chunk each.
    const clean = await home('kill-clean');
    sim.requests.length = 0;
    writeBackfill({ polygon: 1000, alpaca: 1000 }, '2023-01-03');
    expect((await runMdw(args, { env: clean })).code).toBe(0);
    // 8 chunks; a year's 250 bars come in 3 pages of the simulator's 100.
    expect(aggsRequests()).toBe(4 * (3 + 1));
    const answered = aggsRequests();
    const lake = await lakeContent(path.join(clean.MDW_HOME, 'lake', 'ohlcv'));

    const env = await home('kill-resumed');
    sim.requests.length = 0;
    let hung = 0;
    for (const at of ['/MSFT/range/1/day/2023-01-03/', '/SPY/range/1/day/2024-01-02/']) {
      // The vendor never answers that request; the run is killed while it waits.
      sim.fault('hang', 1, new RegExp(at));
      const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'mdw'), ...args], { env: { ...process.env, NODE_OPTIONS: '', ...env }, stdio: 'ignore' });
      await new Promise<void>((resolve) => {
        sim.onRequest = (k) => {
          if (sim.requests[k - 1]!.url.includes(at)) setTimeout(() => child.kill('SIGKILL'), 200);
        };
        child.on('close', () => resolve());
      });
      sim.onRequest = null;
      hung++;
    }
    const resumed = await runMdw(args, { env });
    expect(resumed.code).toBe(0);
    // Each page was answered once: the killed runs' answered chunks were not asked again.
    expect(aggsRequests() - hung).toBe(answered);
    expect(await lakeContent(path.join(env.MDW_HOME, 'lake', 'ohlcv'))).toEqual(lake);
    const status = await runMdw(['backfill', 'status'], { env });
    expect(status.stdout).toBe('target,queued,leased,done,empty,failed,expired_leases,days_to_finish,oldest_failure\nbf,0,0,8,0,0,0,0,\n');
  });

  test('two backfills at once share the queue: each page is asked for once, and every chunk is done once', async () => {
    const { url, drop } = await freshCatalog();
    drops.push(drop);
    const env = { ...keys, MDW_POLYGON_URL: sim.url, MDW_ALPACA_URL: sim.url, MDW_HOME: path.join(root, 'two'), MDW_CONFIG_DIR: configs, ...(url ? { MDW_DATABASE_URL: url } : {}) };
    expect((await runMdw(['init', '-y'], { env })).code).toBe(0);
    writeBackfill({ polygon: 1000, alpaca: 1000 }, '2023-01-03');
    sim.requests.length = 0;
    // On the embedded catalog the second waits for the first's lock; on a server they lease side by side.
    const args = ['--lock-timeout', '600', 'backfill', 'bf', '--symbols', 'AAPL,MSFT,SPY,TSLA', '--from', '2023-01-03', '--to', '2024-03-01'];
    const [a, b] = await Promise.all([runMdw(args, { env }), runMdw(args, { env })]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(aggsRequests()).toBe(4 * (3 + 1));
    const urls = sim.requests.map((r) => r.url);
    expect(new Set(urls).size).toBe(urls.length);
    const rows = (s: string) => s.trim().split('\n').slice(1).filter(Boolean);
    expect(rows(a.stdout).length + rows(b.stdout).length).toBe(8);
    const status = await runMdw(['backfill', 'status'], { env });
    expect(status.stdout).toBe('target,queued,leased,done,empty,failed,expired_leases,days_to_finish,oldest_failure\nbf,0,0,8,0,0,0,0,\n');
  });

  test('a symbol the tickers dataset knows as delisted is never planned past its delisting, nor one it knows as listed later before its listing', async () => {
    ctx = await warehouse();
    writeBackfill({ polygon: 1000, alpaca: 1000 }, '2023-01-03');
    // Polygon's listing as of 2023-06-30: BBBY's record is as of its delisting, 2023-05-03.
    await runIngest(ctx, loadJob(configs, 'polygon-tickers', ctx.env), { window: parseWindow('2023-01-01', '2023-06-30'), symbols: ['BBBY', 'AAPL'], dryRun: false, runId: null });
    // A listing with IPO dates (the shape of Alpha Vantage's LISTING_STATUS, in a file): ARM listed on 2023-09-14.
    writeFileSync(path.join(root, 'listings.json'), JSON.stringify([{ symbol: 'ARM', ipoDate: '2023-09-14', active: true, asOf: '2023-10-02' }]));
    writeFileSync(
      path.join(configs, 'transforms', 'listings-ipo.yml'),
      "dataset: tickers\nread: { format: json, records: $ }\ncolumns:\n  as_of: { from: asOf, date: '%Y-%m-%d' }\n  listed_at: { from: ipoDate, date: '%Y-%m-%d' }\n  active: { from: active }\nsymbol: { from: symbol, case: keep }\n",
    );
    writeFileSync(path.join(configs, 'jobs', 'listings-ipo.yml'), `dataset: tickers\ngranularity: 1d\nsource: { name: listings, adapter: file, files: [${path.join(root, 'listings.json')}] }\ntransform: listings-ipo\n`);
    await runIngest(ctx, loadJob(configs, 'listings-ipo', ctx.env), { window: parseWindow(undefined, undefined), symbols: null, dryRun: false, runId: null });
    const dry = await runBackfill(ctx, { ...run, symbols: ['AAPL', 'ARM', 'BBBY'], to: '2023-12-29', dryRun: true });
    expect(dry.plans[0]!.chunks.map((c) => [c.symbol, c.from, c.to, c.sessions])).toEqual([
      ['AAPL', '2023-01-03', '2023-12-29', 250],
      ['ARM', '2023-09-14', '2023-12-29', 75],
      ['BBBY', '2023-01-03', '2023-05-03', 84],
    ]);
  });

  test('minute bars: a session is held when it has every bar its hours hold; a missing and a partial session are fetched, in chunks within a month', async () => {
    ctx = await warehouse();
    writeFileSync(path.join(configs, 'jobs', 'bf-poly-1m.yml'), 'dataset: ohlcv\ngranularity: 1m\ncalendar: XNYS\nsource: { name: bf-poly-1m, adapter: polygon }\nsymbols: [AAPL]\ntransform: polygon-aggs\n');
    writeFileSync(
      path.join(configs, 'backfill.yml'),
      'budgets: { polygon: 1000 }\ntargets:\n  bf1m:\n    dataset: ohlcv\n    granularity: 1m\n    calendar: XNYS\n    universe: { symbols: [AAPL] }\n' +
        '    earliest: 2024-02-26\n    chunk_sessions: 252\n    priority: 1\n    vendors:\n      - { vendor: polygon, job: bf-poly-1m }\n',
    );
    // The lake holds Monday 26 and Wednesday 28 in full, Thursday 29 until 12:00 New York (150 of 390 bars), not Tuesday 27.
    sim.omitDates = new Set(['2024-02-27']);
    await runIngest(ctx, loadJob(configs, 'bf-poly-1m', ctx.env), { window: parseWindow('2024-02-26', '2024-02-29T16:59:59Z'), symbols: ['AAPL'], dryRun: false, runId: null });
    sim.omitDates.clear();
    const minute = { ...run, targets: ['bf1m'] };
    const dry = await runBackfill(ctx, { ...minute, dryRun: true });
    // Tuesday to Thursday in February (two sessions missing; Wednesday rides along), Friday March 1 in its own month.
    expect(dry.plans[0]!.chunks.map((c) => [c.symbol, c.from, c.to, c.sessions])).toEqual([
      ['AAPL', '2024-02-27', '2024-02-29', 2],
      ['AAPL', '2024-03-01', '2024-03-01', 1],
    ]);
    sim.requests.length = 0;
    const real = await runBackfill(ctx, minute);
    expect(real.outcomes.map((o) => [o.chunk.from, o.outcome])).toEqual([
      ['2024-02-27', 'done'],
      ['2024-03-01', 'done'],
    ]);
    // One request per chunk; the simulator pages 100 bars at a time (1,170 bars, then 390).
    expect(sim.requests.filter((r) => r.url.startsWith('/v2/aggs/') && !r.url.includes('cursor=')).length).toBe(2);
    expect(aggsRequests()).toBe(12 + 4);
    const duck = await ctx.duck();
    const perDay = await duck.all<{ day: string; bars: number }>(
      `SELECT strftime(ts, '%Y-%m-%d') AS day, count(*)::INT AS bars FROM read_parquet(${currentFiles(`${ctx.paths.lake}/ohlcv/source=bf-poly-1m`)}) GROUP BY 1 ORDER BY 1`,
    );
    expect(perDay).toEqual(['2024-02-26', '2024-02-27', '2024-02-28', '2024-02-29', '2024-03-01'].map((day) => ({ day, bars: 390 })));
    expect((await runBackfill(ctx, { ...minute, dryRun: true })).plans[0]!.chunks).toEqual([]);
  });

  test('a window no vendor has data for becomes a known hole: not asked again the next night, asked again after the back-off, and an accepted hole never', async () => {
    ctx = await warehouse();
    sim.alpacaKeys = { id: keys.ALPACA_KEY_ID, secret: keys.ALPACA_SECRET_KEY };
    sim.omitDates = new Set(['2024-02-07', '2024-02-08', '2024-02-09']);
    await forwardIngest(ctx);
    sim.requests.length = 0;
    const first = await runBackfill(ctx, { ...run, symbols: ['AAPL'], to: '2024-03-01' });
    expect(first.outcomes.map((o) => [o.chunk.symbol, o.chunk.from, o.chunk.to, o.outcome, o.vendor])).toEqual([['AAPL', '2024-02-07', '2024-02-09', 'empty', 'polygon,alpaca']]);
    expect(aggsRequests()).toBe(1);
    expect(alpacaRequests()).toBe(1);
    expect((await knownHoles(await sqlOf(ctx), ['bf'])).map((h) => [h.symbol, h.from, h.to, h.kind, h.retryAfter?.toISOString().slice(0, 10)])).toEqual([
      ['AAPL', '2024-02-07', '2024-02-09', 'vendor_empty', '2024-03-09'],
    ]);

    // The audit shows the hole as KNOWN, not RED: --fail-on red no longer fires on it.
    const ledger = (await auditSeries(ctx, loadJob(configs, 'bf-poly', ctx.env), { tolerance: 0.005 }))!;
    expect(ledger.symbols.find((s) => s.symbol === 'AAPL')).toMatchObject({ red: 0, known: 3 });
    expect(ledger.ledger.filter((r) => r.symbol === 'AAPL' && r.status !== 'GREEN').map((r) => [r.status, r.firstSession, r.lastSession])).toEqual([['KNOWN', '2024-02-07', '2024-02-09']]);
    // MSFT was not backfilled (--symbols AAPL): its holes stay RED.
    expect(ledger.symbols.find((s) => s.symbol === 'MSFT')).toMatchObject({ red: 3, known: 0 });

    // The next night: nothing is asked.
    sim.requests.length = 0;
    const night = await later(ctx, '2024-03-03T12:00:00Z');
    const nextNight = await runBackfill(night, { ...run, symbols: ['AAPL'], to: '2024-03-01' });
    expect(nextNight.outcomes).toEqual([]);
    expect(sim.requests.length).toBe(0);

    // After the back-off (7 days): asked again; still empty, the next wait is 30 days.
    const week = await later(night, '2024-03-10T12:00:00Z');
    const again = await runBackfill(week, { ...run, symbols: ['AAPL'], to: '2024-03-01' });
    expect(again.outcomes.map((o) => o.outcome)).toEqual(['empty']);
    expect(aggsRequests()).toBe(1);
    expect((await knownHoles(await sqlOf(week), ['bf']))[0]!.retryAfter!.toISOString().slice(0, 10)).toBe('2024-04-09');

    // Accepted: never asked again, whatever the date.
    await acceptHole(await sqlOf(week), { target: 'bf', symbol: 'AAPL', from: '2024-02-07', to: '2024-02-09', reason: 'a test halt', now: new Date('2024-03-10T13:00:00Z') });
    sim.requests.length = 0;
    const months = await runBackfill(await later(week, '2024-06-10T12:00:00Z'), { ...run, symbols: ['AAPL'], to: '2024-03-01' });
    expect(months.outcomes).toEqual([]);
    expect(sim.requests.length).toBe(0);
  });
});
