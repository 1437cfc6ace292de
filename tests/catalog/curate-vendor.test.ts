import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadCurateJob } from '../../src/config/curate.js';
import { loadJob } from '../../src/config/jobs.js';
import type { Context } from '../../src/context.js';
import { parseWindow } from '../../src/core/time-window.js';
import { explainAdjustment } from '../../src/curate/explain.js';
import { runCurate } from '../../src/curate/run-curate.js';
import { runIngest } from '../../src/pipeline/run-ingest.js';
import { copyConfigs, currentFiles, freshCatalog, removeDir, tempDir, testContext } from '../support/helpers.js';
import { VendorSim } from '../support/vendor-sim.js';

/**
 * The adjustment log from a vendor's own actions, through the simulator: Polygon's AAPL 4-for-1
 * split of 2020-08-31 (as its API documents it) and its quarterly cash dividends, applied to
 * its raw daily bars.
 */
let root: string;
let ctx: Context;
let sim: VendorSim;
let drop: () => Promise<void>;
const key = 'sk-poly-curate';

beforeAll(async () => {
  root = tempDir('mdw-curate-vendor-');
  const configs = copyConfigs(root);
  const endpoints = path.join(configs, 'endpoints.yml');
  // No pacing and no timeout a loaded machine could hit; the simulator answers in milliseconds.
  writeFileSync(endpoints, readFileSync(endpoints, 'utf8').replace(/(\n    rpm: )\d+/g, '$160000').replace(/(\n    daily_budget: \d+)/g, '$1\n    timeout_ms: 120000'));
  writeFileSync(path.join(configs, 'jobs', 'curate-polygon.yml'), 'kind: curate\nbars: polygon-daily\nactions: [polygon-splits, polygon-dividends]\nsymbols: [AAPL]\noutputs: [adjustments]\n');
  sim = await new VendorSim().start();
  sim.key = key;
  const catalog = await freshCatalog();
  drop = catalog.drop;
  ctx = testContext({ home: path.join(root, 'home'), databaseUrl: catalog.url, configDir: configs, env: { MDW_POLYGON_URL: sim.url, POLYGON_API_KEY: key } });
  await ctx.catalog();
  const ingest = (job: string, from: string, to: string) =>
    runIngest(ctx, loadJob(configs, job, ctx.env), { window: parseWindow(from, to), symbols: ['AAPL'], dryRun: false, runId: null });
  await ingest('polygon-daily', '2020-08-24', '2020-09-04');
  await ingest('polygon-daily', '2023-02-01', '2023-02-28');
  await ingest('polygon-splits', '2020-01-01', '2024-12-31');
  await ingest('polygon-dividends', '2020-01-01', '2024-12-31');
  const [r] = await runCurate(ctx, loadCurateJob(configs, 'curate-polygon', ctx.env), { symbols: null, dryRun: false, runId: null });
  expect(r!.load!.counts.quarantined).toBe(0);
});

afterAll(async () => {
  await ctx.close();
  await sim.stop();
  await drop();
  removeDir(root);
});

async function storedClose(day: string): Promise<number> {
  const duck = await ctx.duck();
  const [row] = await duck.all<{ close: number }>(
    `SELECT close FROM read_parquet(${currentFiles(path.join(ctx.paths.lake, 'ohlcv/source=polygon'))}) WHERE symbol = 'AAPL' AND ts = TIMESTAMP '${day} 00:00:00'`,
  );
  return row!.close;
}

describe("Polygon's AAPL actions on its raw bars", () => {
  test('the 4-for-1 split divides earlier prices by 4; the first dividend after the last bar waits; explain lists the chain', async () => {
    const duck = await ctx.duck();
    const e = await explainAdjustment(duck, ctx.paths.lake, { symbol: 'AAPL', at: new Date('2020-08-28T00:00:00Z'), granularity: '1d' });
    const dividendFactor = 1 - 0.23 / (await storedClose('2023-02-09'));
    // The dividends of May 2023 on lie after the last bar stored (2023-02-28): not yet logged.
    expect(e.chain.map((r) => [r['ex_date'], r['action'], r['action_source'], r['ratio'], r['cash_amount'], r['session_before'], r['split_factor'], r['dividend_factor']])).toEqual([
      ['2020-08-31', 'split', 'polygon', 4, null, null, 0.25, 1],
      ['2023-02-10', 'cash_dividend', 'polygon', null, 0.23, '2023-02-09', 1, dividendFactor],
    ]);
    expect(Number(e.chain[0]!['all_cum'])).toBeCloseTo(0.25 * dividendFactor, 12);
    const close = await storedClose('2020-08-28');
    expect(e.summary).toContain(`close ${Number(close.toPrecision(8))} as stored, ${Number((close * 0.25).toPrecision(8))} for splits`);
  });
});
