import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Catalog } from '../../src/catalog/catalog.js';
import { loadCurateJob } from '../../src/config/curate.js';
import { loadJob } from '../../src/config/jobs.js';
import type { Context } from '../../src/context.js';
import { parseWindow } from '../../src/core/time-window.js';
import { explainAdjustment } from '../../src/curate/explain.js';
import { runCurate } from '../../src/curate/run-curate.js';
import { auditSeries } from '../../src/audit/run-audit.js';
import { adjustmentChanges, curatedPartitionInputs, recordAdjustmentChanges, settlePendingChanges } from '../../src/catalog/curate-catalog.js';
import { currentFilesUnder } from '../../src/lake/partition-files.js';
import { runIngest, type IngestOptions } from '../../src/pipeline/run-ingest.js';
import { resolveOhlcvQuery } from '../../src/query/ohlcv-query.js';
import { calendars } from '../../src/calendar/registry.js';
import { currentFiles, lakeHashes, openWarehouse, runMdw } from '../support/helpers.js';

/**
 * mdw curate's adjustment log on a small lake whose numbers are worked out by hand:
 * - TST trades at 100 until a 2-for-1 split on 2024-01-09 (50 after), with a 1.00 dividend on
 *   2024-01-05: the dividend's factor is 1 - 1/100 = 0.99, the split's 1/2.
 * - XYZ trades at 20 in June 2023, its bar of 06-14 missing: a dividend on 06-15 has no close to
 *   divide by, one of 25 on 06-22 would make prices negative, one of 0.20 on 06-27 is 0.99.
 */
let root: string;
let configs: string;
let ctx: Context;
let catalog: Catalog;
let close: () => Promise<void>;

const all: IngestOptions = { window: parseWindow(undefined, undefined), symbols: null, dryRun: false, runId: null };
const sessions = (from: string, to: string) => calendars.XNYS.sessions(from, to).map((s) => s.date);

function writeBars(): void {
  mkdirSync(path.join(root, 'bars'), { recursive: true });
  const lines = (rows: [string, number, number][]) => ['Date,Open,High,Low,Close,Volume,OpenInt', ...rows.map(([d, c, v]) => `${d},${c},${c},${c},${c},${v},0`)].join('\n') + '\n';
  writeFileSync(path.join(root, 'bars', 'tst.us.txt'), lines(sessions('2024-01-02', '2024-01-12').map((d) => [d, d < '2024-01-09' ? 100 : 50, d < '2024-01-09' ? 1000 : 2000])));
  writeFileSync(path.join(root, 'bars', 'xyz.us.txt'), lines(sessions('2023-06-01', '2023-06-30').filter((d) => d !== '2023-06-14').map((d) => [d, 20, 500])));
}

function writeActions(tstDividend: number): void {
  writeFileSync(
    path.join(root, 'actions.csv'),
    [
      'symbol,ex_date,action,split_from,split_to,cash_amount',
      'TST,2023-01-03,split,1,3,', // before TST's first bar: adjusts nothing
      `TST,2024-01-05,cash_dividend,,,${tstDividend}`,
      'TST,2024-01-09,split,1,2,',
      'TST,2025-03-03,cash_dividend,,,0.5', // declared ahead: after the last bar
      'XYZ,2023-06-15,cash_dividend,,,0.2', // the bar of 06-14 is missing
      'XYZ,2023-06-22,cash_dividend,,,25', // at or above the close
      'XYZ,2023-06-27,cash_dividend,,,0.2',
      '',
    ].join('\n'),
  );
}

beforeAll(async () => {
  ({ root, configs, ctx, catalog, close } = await openWarehouse('mdw-curate-'));
  writeBars();
  writeActions(1);
  // Bars in the Kaggle layout, but raw: the shipped kaggle transform says its prices are adjusted.
  writeFileSync(path.join(configs, 'transforms', 'raw-daily.yml'), readFileSync(path.join(configs, 'transforms', 'kaggle.yml'), 'utf8').replace(/\nadjusted_for: .*\n/, '\n'));
  const job = (name: string, text: string) => writeFileSync(path.join(configs, 'jobs', `${name}.yml`), text);
  job('test-bars', `dataset: ohlcv\ngranularity: 1d\ncalendar: XNYS\nsource: { name: test, adapter: file, files: [${path.join(root, 'bars')}/*.us.txt] }\ntransform: raw-daily\n`);
  job('test-actions', `dataset: corporate_actions\ngranularity: 1d\nsource: { name: my-actions, adapter: file, files: [${path.join(root, 'actions.csv')}] }\ntransform: actions-csv\n`);
  job('curate-test', 'kind: curate\nbars: test-bars\nactions: [test-actions]\noutputs: [adjustments]\n');
  await runIngest(ctx, loadJob(configs, 'test-bars', ctx.env), all);
  await runIngest(ctx, loadJob(configs, 'test-actions', ctx.env), all);
});

afterAll(() => close());

async function log(): Promise<Record<string, unknown>[]> {
  const duck = await ctx.duck();
  return duck.all(
    `SELECT symbol, strftime(ex_date, '%Y-%m-%d') AS ex_date, action, action_source, ratio, cash_amount, strftime(session_before, '%Y-%m-%d') AS session_before, close_before, split_factor, dividend_factor ` +
      `FROM read_parquet(${currentFiles(path.join(ctx.paths.lake, 'curated/adjustments'))}) ORDER BY symbol, ex_date`,
  );
}

async function closes(symbol: string, adjust: 'none' | 'splits' | 'all', columns = ['ts', 'close']): Promise<Record<string, unknown>[]> {
  const duck = await ctx.duck();
  const plan = await resolveOhlcvQuery(duck, ctx.paths.lake, { symbols: [symbol], window: parseWindow(undefined, undefined), granularity: '1d', columns: ['symbol', ...columns], adjust });
  return (await duck.all<Record<string, unknown>>(plan.sql)).map((r) => ({ ...r, ts: (r['ts'] as Date).toISOString().slice(0, 10) }));
}

describe('mdw curate: the adjustment log', () => {
  let first: Awaited<ReturnType<typeof runCurate>>[number];
  beforeAll(async () => {
    first = (await runCurate(ctx, loadCurateJob(configs, 'curate-test', ctx.env), { symbols: null, dryRun: false, runId: null }))[0]!;
  });

  test('a factor per action between the first bar and the last; a dividend without the close before it, or above it, is quarantined', async () => {
    expect([first.output, first.units, first.rows, first.changed]).toEqual(['adjustments', 2, 5, 2]);
    expect(first.load!.counts).toMatchObject({ recordsIn: 5, out: 3, quarantined: 2 });
    expect(await log()).toEqual([
      { symbol: 'TST', ex_date: '2024-01-05', action: 'cash_dividend', action_source: 'my-actions', ratio: null, cash_amount: 1, session_before: '2024-01-04', close_before: 100, split_factor: 1, dividend_factor: 0.99 },
      { symbol: 'TST', ex_date: '2024-01-09', action: 'split', action_source: 'my-actions', ratio: 2, cash_amount: null, session_before: null, close_before: null, split_factor: 0.5, dividend_factor: 1 },
      { symbol: 'XYZ', ex_date: '2023-06-27', action: 'cash_dividend', action_source: 'my-actions', ratio: null, cash_amount: 0.2, session_before: '2023-06-26', close_before: 20, split_factor: 1, dividend_factor: 0.99 },
    ]);
    const rejected = await catalog.sql<{ key_ts: Date; rules: string[] }[]>`select key_ts, rules from mdw.quarantine_record where job = 'curate-test' order by key_ts`;
    expect(rejected.map((r) => [r.key_ts.toISOString().slice(0, 10), r.rules])).toEqual([
      ['2023-06-15', ['required', 'required_when']],
      ['2023-06-22', ['positive']],
    ]);
  });

  test("lineage: the log's partition traces to each symbol's log, and each log to the bars' files and its actions' batch", async () => {
    const lake = ctx.paths.lake;
    // A file a year of ex-dates: XYZ's 2023 actions, TST's 2024 ones.
    const logFiles = currentFilesUnder(path.join(lake, 'curated', 'adjustments'));
    expect(logFiles.map((f) => path.basename(path.dirname(f)))).toEqual(['year=2023', 'year=2024']);
    const traced = (await Promise.all(logFiles.map((f) => curatedPartitionInputs(catalog.sql, path.relative(lake, f))))).flat();
    const bars = currentFilesUnder(path.join(lake, 'ohlcv', 'source=test')).map((f) => path.relative(lake, f));
    const [actions] = await catalog.sql<{ id: string }[]>`select id from mdw.batch where job = 'test-actions'`;
    const bySymbol = (symbol: string) => traced.filter((t) => path.basename(t.doc) === `${symbol}.json`).map((t) => [t.kind, t.input]);
    // TST's log holds actions; XYZ's only the one that passed (the others are quarantined in the load, not in the log).
    expect(bySymbol('TST')).toEqual([['action_batch', actions!.id], ...bars.map((b) => ['partition', b])]);
    expect(bySymbol('XYZ')).toEqual([['action_batch', actions!.id], ...bars.map((b) => ['partition', b])]);
  });

  test('query --adjust: prices times every later factor, volumes divided by the split factors; bars after the last ex-date as stored', async () => {
    const raw = await closes('TST', 'none', ['ts', 'close', 'volume']);
    expect(raw.map((r) => [r['ts'], r['close'], r['volume']])).toEqual(sessions('2024-01-02', '2024-01-12').map((d) => [d, d < '2024-01-09' ? 100 : 50, d < '2024-01-09' ? 1000 : 2000]));
    const splits = await closes('TST', 'splits', ['ts', 'close', 'volume']);
    expect(splits.map((r) => [r['ts'], r['close'], r['volume']])).toEqual(sessions('2024-01-02', '2024-01-12').map((d) => [d, 50, 2000]));
    const both = await closes('TST', 'all');
    expect(both.map((r) => [r['ts'], Math.round((r['close'] as number) * 1e9) / 1e9])).toEqual(
      sessions('2024-01-02', '2024-01-12').map((d) => [d, d < '2024-01-05' ? 49.5 : 50]),
    );
  });

  test('total return: the return of each bar with the dividend reinvested, and the growth of 1 from the first bar, beside prices as stored', async () => {
    const rows = await closes('TST', 'none', ['ts', 'close', 'total_return', 'tr_index']);
    const r9 = (x: unknown) => (x === null ? null : Math.round((x as number) * 1e9) / 1e9);
    // Adjusted closes 49.5 (to Jan 4), then 50: the ex-date of the 1.00 dividend returns 50 / 49.5 - 1; the split returns nothing.
    expect(rows.map((r) => [r['ts'], r['close'], r9(r['total_return']), r9(r['tr_index'])])).toEqual(
      sessions('2024-01-02', '2024-01-12').map((d, i) => [d, d < '2024-01-09' ? 100 : 50, i === 0 ? null : d === '2024-01-05' ? r9(50 / 49.5 - 1) : 0, d < '2024-01-05' ? 1 : r9(50 / 49.5)]),
    );
  });

  test('curate explain lists the chain behind a bar: each action after it, its close and the cumulative factors', async () => {
    const duck = await ctx.duck();
    const e = await explainAdjustment(duck, ctx.paths.lake, { symbol: 'TST', at: new Date('2024-01-03T00:00:00Z'), granularity: '1d' });
    expect(e.chain.map((r) => [r['ex_date'], r['action'], r['close_before'], r['split_cum'], Math.round(Number(r['all_cum']) * 1e9) / 1e9])).toEqual([
      ['2024-01-05', 'cash_dividend', 100, 0.5, 0.495],
      ['2024-01-09', 'split', null, 0.5, 0.5],
    ]);
    expect(e.summary).toBe('TST 2024-01-03 (test 1d): 2 actions after it; factor 0.5 for splits, 0.495 for splits and dividends; close 100 as stored, 50 for splits, 49.5 for splits and dividends');
  });

  test('run again with nothing new: no log changes, no input is read, no file is written', async () => {
    const before = lakeHashes(ctx.paths.lake);
    const [again] = await runCurate(ctx, loadCurateJob(configs, 'curate-test', ctx.env), { symbols: null, dryRun: false, runId: null });
    expect([again!.changed, again!.load!.skipped, again!.load!.counts.recordsIn, again!.load!.partitions.written]).toEqual([0, 2, 0, 0]);
    expect(lakeHashes(ctx.paths.lake)).toEqual(before);
  });

  test("a corrected dividend rewrites that symbol's log and nothing else; adjusted prices follow", async () => {
    const before = lakeHashes(ctx.paths.lake);
    writeActions(2);
    await runIngest(ctx, loadJob(configs, 'test-actions', ctx.env), all);
    const [dry] = await runCurate(ctx, loadCurateJob(configs, 'curate-test', ctx.env), { symbols: null, dryRun: true, runId: null });
    expect([dry!.changed, dry!.load]).toEqual([1, null]);
    const [fixed] = await runCurate(ctx, loadCurateJob(configs, 'curate-test', ctx.env), { symbols: null, dryRun: false, runId: null });
    expect([fixed!.changed, fixed!.load!.skipped, fixed!.load!.counts.out, fixed!.load!.partitions.written]).toEqual([1, 1, 1, 1]);
    const after = lakeHashes(ctx.paths.lake);
    const adj = (year: number) => `curated/adjustments/source=test/granularity=1d/year=${year}`;
    expect(after[adj(2023)]).toBe(before[adj(2023)]);
    expect(after[adj(2024)]).not.toBe(before[adj(2024)]);
    expect((await log()).find((r) => r['ex_date'] === '2024-01-05')).toMatchObject({ cash_amount: 2, dividend_factor: 0.98 });
    // The catalog keeps what changed: the old and the new factor, amount and action batch, and the curate batch.
    const changes = await adjustmentChanges(catalog.sql, { source: 'test', symbol: 'TST', granularity: '1d' });
    expect(changes.map((c) => [c.exDate, c.action, c.change, c.oldFactor, c.newFactor, c.oldCash, c.newCash])).toEqual([
      ['2024-01-05', 'cash_dividend', 'added', null, 0.99, null, 1],
      ['2024-01-09', 'split', 'added', null, 0.5, null, null],
      ['2024-01-05', 'cash_dividend', 'changed', 0.99, 0.98, 1, 2],
    ]);
    const corrected = changes[2]!;
    expect(corrected.oldActionBatch).toBe(changes[0]!.newActionBatch);
    expect(corrected.newActionBatch).not.toBe(corrected.oldActionBatch);
    expect(corrected.curateBatch).toBe(fixed!.load!.batchIds.at(-1));
    expect((await closes('TST', 'all')).map((r) => Math.round((r['close'] as number) * 1e9) / 1e9).slice(0, 3)).toEqual([49, 49, 49]);
  });

  test('a source whose prices already reflect splits (adjusted_for: [splits]) gets no split factor, and a raw dividend is carried to its basis', async () => {
    // TST as a split-adjusted vendor has it: 50 throughout, 2,000 shares a day.
    mkdirSync(path.join(root, 'bars-adj'), { recursive: true });
    writeFileSync(
      path.join(root, 'bars-adj', 'tst.us.txt'),
      ['Date,Open,High,Low,Close,Volume,OpenInt', ...sessions('2024-01-02', '2024-01-12').map((d) => `${d},50,50,50,50,2000,0`), ''].join('\n'),
    );
    writeFileSync(path.join(configs, 'transforms', 'kaggle-split-adjusted.yml'), `adjusted_for: [splits]\n${readFileSync(path.join(configs, 'transforms', 'raw-daily.yml'), 'utf8')}`);
    writeFileSync(
      path.join(configs, 'jobs', 'test-bars-adj.yml'),
      `dataset: ohlcv\ngranularity: 1d\ncalendar: XNYS\nsource: { name: test-adj, adapter: file, files: [${path.join(root, 'bars-adj')}/tst.us.txt] }\ntransform: kaggle-split-adjusted\n`,
    );
    writeFileSync(path.join(configs, 'jobs', 'curate-adj.yml'), 'kind: curate\nbars: test-bars-adj\nactions: [test-actions]\noutputs: [adjustments]\n');
    await runIngest(ctx, loadJob(configs, 'test-bars-adj', ctx.env), all);

    // As stored, the raw and the split-adjusted source disagree on every bar before the split.
    const audit = async () => (await auditSeries(ctx, loadJob(configs, 'test-bars', ctx.env), { tolerance: 0.005 }))!.disagreements.filter((d) => d.otherSource === 'test-adj');
    const audited = async () => (await auditSeries(ctx, loadJob(configs, 'test-bars', ctx.env), { tolerance: 0.005 }))!;
    expect((await audit()).map((d) => [d.ts.slice(0, 10), d.close, d.otherClose, d.basis])).toEqual(
      sessions('2024-01-02', '2024-01-08').map((d) => [d, 100, 50, 'stored']),
    );
    const comparedBefore = (await audited()).compared;

    const [r] = await runCurate(ctx, loadCurateJob(configs, 'curate-adj', ctx.env), { symbols: null, dryRun: false, runId: null });
    expect(r!.load!.counts.out).toBe(2);
    const duck = await ctx.duck();
    const rows = await duck.all<{ action: string; cash_amount: number | null; close_before: number | null; split_factor: number; dividend_factor: number }>(
      `SELECT action, cash_amount, close_before, split_factor, dividend_factor FROM read_parquet(${currentFiles(path.join(ctx.paths.lake, 'curated/adjustments/source=test-adj'))}) ORDER BY ex_date`,
    );
    // The 2.00 paid per share before the 2-for-1 split is 1.00 per split-adjusted share: 1 - 1/50, as 1 - 2/100 on raw prices.
    expect(rows).toEqual([
      { action: 'cash_dividend', cash_amount: 1, close_before: 50, split_factor: 1, dividend_factor: 0.98 },
      { action: 'split', cash_amount: null, close_before: null, split_factor: 1, dividend_factor: 1 },
    ]);
    // Both sources have a log now: compared adjusted for splits by their own, they agree, on every common bar.
    expect(await audit()).toEqual([]);
    expect((await audited()).compared).toBe(comparedBefore);
    expect(comparedBefore).toBeGreaterThanOrEqual(9);

    // The job drops the source of the dividend (a list of splits only): the dividend is withdrawn,
    // kept with factors of 1 since a load never deletes a row, and recorded as removed.
    writeFileSync(path.join(root, 'splits-only.csv'), 'symbol,ex_date,action,split_from,split_to,cash_amount\nTST,2024-01-09,split,1,2,\n');
    writeFileSync(
      path.join(configs, 'jobs', 'splits-only.yml'),
      `dataset: corporate_actions\ngranularity: 1d\nsource: { name: splits-only, adapter: file, files: [${path.join(root, 'splits-only.csv')}] }\ntransform: actions-csv\n`,
    );
    await runIngest(ctx, loadJob(configs, 'splits-only', ctx.env), all);
    writeFileSync(path.join(configs, 'jobs', 'curate-adj.yml'), 'kind: curate\nbars: test-bars-adj\nactions: [splits-only]\noutputs: [adjustments]\n');
    const [w] = await runCurate(ctx, loadCurateJob(configs, 'curate-adj', ctx.env), { symbols: null, dryRun: false, runId: null });
    expect([w!.changed, w!.load!.counts.quarantined]).toEqual([1, 0]);
    const after = await duck.all<{ action: string; action_source: string; split_factor: number; dividend_factor: number; withdrawn: boolean | null }>(
      `SELECT action, action_source, split_factor, dividend_factor, withdrawn FROM read_parquet(${currentFiles(path.join(ctx.paths.lake, 'curated/adjustments/source=test-adj'))}) ORDER BY ex_date`,
    );
    expect(after).toEqual([
      { action: 'cash_dividend', action_source: 'my-actions', split_factor: 1, dividend_factor: 1, withdrawn: true },
      { action: 'split', action_source: 'splits-only', split_factor: 1, dividend_factor: 1, withdrawn: null },
    ]);
    const plan = await resolveOhlcvQuery(duck, ctx.paths.lake, { symbols: ['TST'], source: 'test-adj', window: parseWindow(undefined, undefined), granularity: '1d', columns: ['close'], adjust: 'all' });
    expect((await duck.all<{ close: number }>(plan.sql)).map((r) => r.close)).toEqual(sessions('2024-01-02', '2024-01-12').map(() => 50));
    const removed = (await adjustmentChanges(catalog.sql, { source: 'test-adj', symbol: 'TST', granularity: '1d' })).filter((c) => c.change === 'removed');
    expect(removed.map((c) => [c.exDate, c.action, c.oldFactor, c.newFactor])).toEqual([['2024-01-05', 'cash_dividend', 0.98, null]]);
  });
});

describe('the adjustment change history', () => {
  test('a change is recorded pending before its log lands, once however often a dying run records it, as last seen, and settled by the load of its symbol', async () => {
    const change = {
      symbol: 'PND', exDate: '2024-01-05', action: 'cash_dividend', change: 'changed' as const, oldFactor: 0.99, newFactor: 0.98,
      oldCash: 1, newCash: 2, oldActionBatch: 'b1', newActionBatch: null,
    };
    const series = { job: 'j', source: 'pending-src', granularity: '1d', at: new Date('2024-02-01T00:00:00Z') };
    await recordAdjustmentChanges(catalog.sql, series, [change]);
    await recordAdjustmentChanges(catalog.sql, series, [change]);
    const filter = { source: 'pending-src', symbol: 'PND', granularity: '1d' };
    expect((await adjustmentChanges(catalog.sql, filter)).map((c) => [c.exDate, c.oldFactor, c.newFactor, c.curateBatch])).toEqual([['2024-01-05', 0.99, 0.98, null]]);
    // The vendor corrects the amount again before a run lands the log: the change as now seen replaces the pending one.
    await recordAdjustmentChanges(catalog.sql, series, [{ ...change, newFactor: 0.97, newCash: 3 }]);
    expect((await adjustmentChanges(catalog.sql, filter)).map((c) => [c.oldFactor, c.newFactor, c.newCash, c.curateBatch])).toEqual([[0.99, 0.97, 3, null]]);
    await recordAdjustmentChanges(catalog.sql, series, [change]);
    const batch = '00000000-0000-4000-8000-000000000001';
    // Settling another symbol's changes leaves PND's pending.
    await settlePendingChanges(catalog.sql, series, ['OTHER'], batch);
    expect((await adjustmentChanges(catalog.sql, filter)).map((c) => c.curateBatch)).toEqual([null]);
    await settlePendingChanges(catalog.sql, series, ['PND'], batch);
    await recordAdjustmentChanges(catalog.sql, series, [{ ...change, oldFactor: 0.98, newFactor: 0.97 }]);
    expect((await adjustmentChanges(catalog.sql, filter)).map((c) => [c.oldFactor, c.newFactor, c.curateBatch])).toEqual([
      [0.99, 0.98, batch],
      [0.98, 0.97, null],
    ]);
  });
});

describe('mdw curate: two sources that date one action differently', () => {
  test("a split one vendor dates a day early is applied once, from the source listed first; a dividend five days apart is another action", async () => {
    writeFileSync(
      path.join(root, 'early.csv'),
      'symbol,ex_date,action,split_from,split_to,cash_amount\nTST,2024-01-08,split,1,2,\nTST,2024-01-05,cash_dividend,,,1\nTST,2024-01-10,cash_dividend,,,0.25\n',
    );
    writeFileSync(path.join(configs, 'jobs', 'early-actions.yml'), `dataset: corporate_actions\ngranularity: 1d\nsource: { name: early, adapter: file, files: [${path.join(root, 'early.csv')}] }\ntransform: actions-csv\n`);
    writeFileSync(
      path.join(configs, 'jobs', 'two-bars.yml'),
      `dataset: ohlcv\ngranularity: 1d\ncalendar: XNYS\nsource: { name: two, adapter: file, files: [${path.join(root, 'bars')}/tst.us.txt] }\ntransform: raw-daily\n`,
    );
    writeFileSync(path.join(configs, 'jobs', 'curate-two.yml'), 'kind: curate\nbars: two-bars\nactions: [test-actions, early-actions]\noutputs: [adjustments]\n');
    await runIngest(ctx, loadJob(configs, 'early-actions', ctx.env), all);
    await runIngest(ctx, loadJob(configs, 'two-bars', ctx.env), all);
    await runCurate(ctx, loadCurateJob(configs, 'curate-two', ctx.env), { symbols: null, dryRun: false, runId: null });
    const duck = await ctx.duck();
    expect(
      await duck.all(
        `SELECT strftime(ex_date, '%Y-%m-%d') AS ex_date, action, action_source, split_factor, dividend_factor FROM read_parquet(${currentFiles(path.join(ctx.paths.lake, 'curated/adjustments/source=two'))}) ORDER BY ex_date`,
      ),
    ).toEqual([
      // 2.00 since the correction above.
      { ex_date: '2024-01-05', action: 'cash_dividend', action_source: 'my-actions', split_factor: 1, dividend_factor: 0.98 },
      { ex_date: '2024-01-09', action: 'split', action_source: 'my-actions', split_factor: 0.5, dividend_factor: 1 },
      { ex_date: '2024-01-10', action: 'cash_dividend', action_source: 'early', split_factor: 1, dividend_factor: 0.995 },
    ]);
    // The first bar: 100 x 0.98 x 0.5 x 0.995, not halved twice.
    const plan = await resolveOhlcvQuery(duck, ctx.paths.lake, { symbols: ['TST'], source: 'two', window: parseWindow('2024-01-02', '2024-01-02'), granularity: '1d', columns: ['close'], adjust: 'all' });
    expect((await duck.all<{ close: number }>(plan.sql)).map((r) => Math.round(r.close * 1e6) / 1e6)).toEqual([48.755]);
  });
});

describe('mdw curate: actions the bars cannot reflect yet', () => {
  test("a split after the last bar waits, and is not counted in the split-adjusted bars' basis; without a calendar too", async () => {
    // The split-adjusted TST bars again, as a source without a calendar, and a 10-for-1 split announced for February.
    writeFileSync(path.join(root, 'future.csv'), 'symbol,ex_date,action,split_from,split_to,cash_amount\nTST,2024-02-01,split,1,10,\n');
    writeFileSync(
      path.join(configs, 'jobs', 'future-actions.yml'),
      `dataset: corporate_actions\ngranularity: 1d\nsource: { name: future, adapter: file, files: [${path.join(root, 'future.csv')}] }\ntransform: actions-csv\n`,
    );
    writeFileSync(
      path.join(configs, 'jobs', 'nocal-bars.yml'),
      `dataset: ohlcv\ngranularity: 1d\nsource: { name: nocal, adapter: file, files: [${path.join(root, 'bars-adj')}/tst.us.txt] }\ntransform: kaggle-split-adjusted\n`,
    );
    writeFileSync(path.join(configs, 'jobs', 'curate-nocal.yml'), 'kind: curate\nbars: nocal-bars\nactions: [future-actions, test-actions]\noutputs: [adjustments]\n');
    await runIngest(ctx, loadJob(configs, 'future-actions', ctx.env), all);
    await runIngest(ctx, loadJob(configs, 'nocal-bars', ctx.env), all);
    const [r] = await runCurate(ctx, loadCurateJob(configs, 'curate-nocal', ctx.env), { symbols: null, dryRun: false, runId: null });
    expect(r!.load!.counts.quarantined).toBe(0);
    const duck = await ctx.duck();
    // The raw 2.00 dividend is 1.00 per share after the 2-for-1 split the bars reflect, not 0.10 after February's too.
    expect(
      await duck.all(
        `SELECT strftime(ex_date, '%Y-%m-%d') AS ex_date, action, cash_amount, close_before, split_factor, dividend_factor FROM read_parquet(${currentFiles(path.join(ctx.paths.lake, 'curated/adjustments/source=nocal'))}) ORDER BY ex_date`,
      ),
    ).toEqual([
      { ex_date: '2024-01-05', action: 'cash_dividend', cash_amount: 1, close_before: 50, split_factor: 1, dividend_factor: 0.98 },
      { ex_date: '2024-01-09', action: 'split', cash_amount: null, close_before: null, split_factor: 1, dividend_factor: 1 },
    ]);
  });
});

describe("zipline csvdir's dividend and split columns", () => {
  test('each line with a split (not 1.0) or a dividend (not 0.0) is an action; the other lines are skipped, counted as filtered', async () => {
    // The layout of zipline's csvdir bundles (a file per symbol); the numbers are made up.
    mkdirSync(path.join(root, 'zipline'), { recursive: true });
    writeFileSync(
      path.join(root, 'zipline', 'ZZZ.csv'),
      'date,open,high,low,close,volume,dividend,split\n' +
        '2014-06-05,90,91,89,90.5,1000,0.0,1.0\n2014-06-06,90,91,89,90.5,1000,0.47,1.0\n2014-06-09,91,92,90,91.5,1000,0.0,7.0\n2014-06-10,91,92,90,91.5,1000,0.0,1.0\n',
    );
    const job = (kind: string) =>
      writeFileSync(path.join(configs, 'jobs', `zz-${kind}.yml`), `dataset: corporate_actions\ngranularity: 1d\nsource: { name: zz, adapter: file, files: [${path.join(root, 'zipline')}/*.csv] }\ntransform: zipline-csvdir-${kind}\n`);
    job('splits');
    job('dividends');
    const splits = await runIngest(ctx, loadJob(configs, 'zz-splits', ctx.env), all);
    const dividends = await runIngest(ctx, loadJob(configs, 'zz-dividends', ctx.env), all);
    expect([splits.counts, dividends.counts]).toEqual([
      { recordsIn: 4, out: 1, deduped: 0, quarantined: 0, filtered: 3 },
      { recordsIn: 4, out: 1, deduped: 0, quarantined: 0, filtered: 3 },
    ]);
    const duck = await ctx.duck();
    expect(
      await duck.all(`SELECT strftime(ex_date, '%Y-%m-%d') AS ex_date, action, split_from, split_to, cash_amount FROM read_parquet(${currentFiles(path.join(ctx.paths.lake, 'corporate_actions/source=zz'))}) ORDER BY ex_date`),
    ).toEqual([
      { ex_date: '2014-06-06', action: 'cash_dividend', split_from: null, split_to: null, cash_amount: 0.47 },
      { ex_date: '2014-06-09', action: 'split', split_from: 1, split_to: 7, cash_amount: null },
    ]);
    // Curated over the same files' split-adjusted prices: the split is not applied, and the
    // split-adjusted dividend is divided by the close as it is (not carried over the split again).
    writeFileSync(path.join(configs, 'jobs', 'zz-bars.yml'), `dataset: ohlcv\ngranularity: 1d\ncalendar: XNYS\nsource: { name: zz, adapter: file, files: [${path.join(root, 'zipline')}/*.csv] }\ntransform: zipline-csvdir\n`);
    writeFileSync(path.join(configs, 'jobs', 'curate-zz.yml'), 'kind: curate\nbars: zz-bars\nactions: [zz-splits, zz-dividends]\noutputs: [adjustments]\n');
    await runIngest(ctx, loadJob(configs, 'zz-bars', ctx.env), all);
    await runCurate(ctx, loadCurateJob(configs, 'curate-zz', ctx.env), { symbols: null, dryRun: false, runId: null });
    expect(
      await duck.all(`SELECT action, cash_amount, close_before, split_factor, dividend_factor FROM read_parquet(${currentFiles(path.join(ctx.paths.lake, 'curated/adjustments/source=zz'))}) ORDER BY ex_date`),
    ).toEqual([
      { action: 'cash_dividend', cash_amount: 0.47, close_before: 90.5, split_factor: 1, dividend_factor: 1 - 0.47 / 90.5 },
      { action: 'split', cash_amount: null, close_before: null, split_factor: 1, dividend_factor: 1 },
    ]);
  });
});

describe('mdw curate: a gold series', () => {
  // Two sources of GLD's daily bars. "prime" lacks 02-06, is 2% above "second" on 02-07, and its
  // bar of 02-08 opens 30% above the close before (a gap: quality 0.5, below the 0.85 threshold).
  const days = sessions('2024-02-01', '2024-02-09');
  const closeOf = (i: number) => Math.round((10 + i * 0.1) * 100) / 100;
  function writeSource(name: string, bar: (d: string, i: number) => [number, number] | null): void {
    mkdirSync(path.join(root, name), { recursive: true });
    const rows = days.flatMap((d, i) => {
      const b = bar(d, i);
      if (!b) return [];
      const [open, close] = b;
      return [`${d},${open},${Math.max(open, close)},${Math.min(open, close)},${close},1000,0`];
    });
    writeFileSync(path.join(root, name, 'gld.us.txt'), ['Date,Open,High,Low,Close,Volume,OpenInt', ...rows, ''].join('\n'));
    writeFileSync(
      path.join(configs, 'jobs', `${name}-bars.yml`),
      `dataset: ohlcv\ngranularity: 1d\ncalendar: XNYS\nsource: { name: ${name}, adapter: file, files: [${path.join(root, name)}/*.us.txt] }\ntransform: raw-daily\n`,
    );
  }
  const gold = async () => {
    const duck = await ctx.duck();
    const plan = await resolveOhlcvQuery(duck, ctx.paths.lake, {
      symbols: ['GLD'],
      window: parseWindow(undefined, undefined),
      granularity: '1d',
      gold: true,
      columns: ['ts', 'open', 'close', 'gold_source', 'sources', 'disagree', 'spread'],
    });
    return (await duck.all<Record<string, unknown>>(plan.sql)).map((r) => [
      (r['ts'] as Date).toISOString().slice(0, 10),
      r['open'],
      r['close'],
      r['gold_source'],
      Number(r['sources']),
      r['disagree'],
      r['spread'] === null ? null : Math.round((r['spread'] as number) * 1e6) / 1e6,
    ]);
  };

  beforeAll(async () => {
    writeSource('prime', (d, i) => (d === '2024-02-06' ? null : d === '2024-02-07' ? [closeOf(i), closeOf(i) * 1.02] : d === '2024-02-08' ? [closeOf(i - 1) * 1.3, closeOf(i)] : [closeOf(i), closeOf(i)]));
    writeSource('second', (_d, i) => [closeOf(i), closeOf(i)]);
    writeFileSync(path.join(configs, 'jobs', 'curate-gold.yml'), 'kind: curate\ngold: { name: gold-test, sources: [prime-bars, second-bars], tolerance: 0.005 }\noutputs: [gold]\n');
    await runIngest(ctx, loadJob(configs, 'prime-bars', ctx.env), all);
    await runIngest(ctx, loadJob(configs, 'second-bars', ctx.env), all);
  });

  test("each bar is one source's: the first by priority whose quality passes, else the next; with how many sources had it and how far the others' closes are", async () => {
    const [r] = await runCurate(ctx, loadCurateJob(configs, 'curate-gold', ctx.env), { symbols: null, dryRun: false, runId: null });
    expect([r!.output, r!.units, r!.rows, r!.changed, r!.load!.counts.out, r!.load!.counts.quarantined]).toEqual(['gold', 1, 7, 1, 7, 0]);
    expect(await gold()).toEqual([
      ['2024-02-01', closeOf(0), closeOf(0), 'prime', 2, false, 0],
      ['2024-02-02', closeOf(1), closeOf(1), 'prime', 2, false, 0],
      ['2024-02-05', closeOf(2), closeOf(2), 'prime', 2, false, 0],
      // Only the second source has the session.
      ['2024-02-06', closeOf(3), closeOf(3), 'second', 1, false, null],
      // The primary's bar, flagged: the second source's close is 2% below it.
      ['2024-02-07', closeOf(4), closeOf(4) * 1.02, 'prime', 2, true, Math.round((1 / 1.02 - 1) * -1e6) / 1e6],
      // The primary's bar fails its quality threshold (a gap): the second source's is taken.
      ['2024-02-08', closeOf(5), closeOf(5), 'second', 2, false, 0],
      ['2024-02-09', closeOf(6), closeOf(6), 'prime', 2, false, 0],
    ]);
  });

  test('run again: no partition is chosen again and nothing is written; a changed source partition is chosen again', async () => {
    const before = lakeHashes(ctx.paths.lake);
    const [again] = await runCurate(ctx, loadCurateJob(configs, 'curate-gold', ctx.env), { symbols: null, dryRun: false, runId: null });
    expect([again!.changed, again!.load!.counts.recordsIn, again!.load!.partitions.written]).toEqual([0, 0, 0]);
    expect(lakeHashes(ctx.paths.lake)).toEqual(before);
    // The primary fills its hole on 02-06: the gold bar of that day now comes from it.
    writeSource('prime', (d, i) => (d === '2024-02-07' ? [closeOf(i), closeOf(i) * 1.02] : d === '2024-02-08' ? [closeOf(i - 1) * 1.3, closeOf(i)] : [closeOf(i), closeOf(i)]));
    await runIngest(ctx, loadJob(configs, 'prime-bars', ctx.env), all);
    const [fixed] = await runCurate(ctx, loadCurateJob(configs, 'curate-gold', ctx.env), { symbols: null, dryRun: false, runId: null });
    expect([fixed!.changed, fixed!.load!.counts.out, fixed!.load!.partitions.written]).toEqual([1, 1, 1]);
    expect((await gold())[3]).toEqual(['2024-02-06', closeOf(3), closeOf(3), 'prime', 2, false, 0]);
  });

  test('--gold refuses an adjustment, which belongs to one source', async () => {
    const duck = await ctx.duck();
    await expect(resolveOhlcvQuery(duck, ctx.paths.lake, { symbols: ['GLD'], window: parseWindow(undefined, undefined), granularity: '1d', gold: true, adjust: 'all' })).rejects.toThrow(
      /--gold with --adjust or total returns: gold bars are chosen from several sources/,
    );
  });
});

describe('through bin/mdw', () => {
  test('curate runs every curate job, query --adjust reads the log, jobs list shows curate jobs, and ingest refuses one', async () => {
    const env = { MDW_HOME: ctx.settings.home, MDW_DATABASE_URL: ctx.env.MDW_DATABASE_URL ?? '', MDW_CONFIG_DIR: configs };
    // The embedded catalog has one process at a time: this one lets go of it, as a finished run would.
    await ctx.close();
    const list = await runMdw(['jobs', 'list', '--format', 'csv'], { env });
    expect(list.stdout.split('\n').filter((l) => l.startsWith('curate-test,'))).toEqual(['curate-test,adjustments,1d,test,curate,test-bars + test-actions,ok,']);
    const ingest = await runMdw(['ingest', 'curate-test'], { env });
    expect(ingest.code).toBe(2);
    expect(ingest.stderr).toContain('curate-test is a curate job (kind: curate): run `mdw curate curate-test`');
    const curate = await runMdw(['curate', 'curate-test', '--format', 'csv'], { env });
    expect(curate.code).toBe(0);
    expect(curate.stdout).toBe('job,output,dry_run,units,rows,changed,stored,quarantined,partitions_written\ncurate-test,adjustments,false,2,5,0,0,0,0\n');
    // TST's bars are in four sources (nocal, test, test-adj, two), each with its own log: one must be named.
    const two = await runMdw(['query', 'ohlcv', 'TST', '--adjust', 'all'], { env });
    expect([two.code, two.stderr.trim()]).toEqual([2, 'mdw: --adjust reads one source\'s bars with its adjustment log: nocal, test, test-adj and two have these bars; name one with --source']);
    const q = await runMdw(['query', 'ohlcv', 'TST', '--source', 'test', '--to', '2024-01-05', '--adjust', 'all', '--columns', 'ts,close,volume', '--format', 'csv'], { env });
    expect(q.stdout).toBe('ts,close,volume\n2024-01-02T00:00:00Z,49,2000\n2024-01-03T00:00:00Z,49,2000\n2024-01-04T00:00:00Z,49,2000\n2024-01-05T00:00:00Z,50,2000\n');
    // Bars no curate job has built a log for cannot be adjusted: the error says what to run.
    writeFileSync(path.join(configs, 'jobs', 'test-bars-raw.yml'), `dataset: ohlcv\ngranularity: 1d\nsource: { name: raw-only, adapter: file, files: [${path.join(root, 'bars')}/xyz.us.txt] }\ntransform: raw-daily\n`);
    expect((await runMdw(['ingest', 'test-bars-raw'], { env })).code).toBe(0);
    const none = await runMdw(['query', 'ohlcv', 'XYZ', '--source', 'raw-only', '--adjust', 'splits'], { env });
    expect([none.code, none.stdout]).toEqual([2, '']);
    expect(none.stderr).toContain('--adjust: raw-only has no adjustment log (lake/curated/adjustments/source=raw-only): run `mdw curate`');
    const which = await runMdw(['curate', 'explain', 'TST', '2024-01-08'], { env });
    expect([which.code, which.stderr.trim()]).toEqual([2, 'mdw: TST has adjustment logs from nocal, test, test-adj and two: name one with --source']);
    const explain = await runMdw(['curate', 'explain', 'TST', '2024-01-08', '--source', 'test', '--format', 'csv'], { env });
    expect(explain.stdout.split('\n')[1]).toMatch(/^2024-01-09,split,my-actions,[0-9a-f-]{36},2,,,,0.5,1,false,0.5,0.5$/);
    const history = await runMdw(['curate', 'explain', 'TST', '2024-01-03', '--source', 'test', '--format', 'csv'], { env });
    expect(history.stderr).toMatch(/history: 2024-01-05 cash_dividend changed on \d{4}-\d\d-\d\d by curate-test \(batch [0-9a-f]{8}\): factor 0.99 -> 0.98, cash 1 -> 2, action batch [0-9a-f]{8} -> [0-9a-f]{8}/);
  });
});
