import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Catalog } from '../../src/catalog/catalog.js';
import { loadJob } from '../../src/config/jobs.js';
import type { Context } from '../../src/context.js';
import { plantedPerFile } from '../../src/fixtures/generate-fixtures.js';
import { runIngest, type IngestOptions } from '../../src/pipeline/run-ingest.js';
import { replayQuarantine } from '../../src/pipeline/replay.js';
import { failOrphanedRuns } from '../../src/catalog/runs.js';
import { datasets } from '../../src/core/datasets.js';
import { calendars } from '../../src/calendar/registry.js';
import { symbolStatus } from '../../src/catalog/symbol-status.js';
import os from 'node:os';
import { recoverPendingWrites } from '../../src/pipeline/recover.js';
import { Warehouse } from '../../src/index.js';
import { copyConfigs, freshCatalog, lakeHashes, removeDir, tempDir, testContext, currentFiles, openWarehouse } from '../support/helpers.js';
import { currentFilesUnder } from '../../src/lake/partition-files.js';

const all: IngestOptions = { window: { from: null, toExclusive: null }, symbols: null, dryRun: false, runId: null };
const yearFile = 'ohlcv/source=demo/granularity=1d/year=2023/data-000001.parquet';

let root: string;
let configs: string;
let ctx: Context;
let catalog: Catalog;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ root, configs, ctx, catalog, close } = await openWarehouse());
});

afterAll(() => close());

const job = (name: string) => loadJob(configs, name, ctx.env);
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The rows of the partition a uri names, as readers see it now (its current version). */
async function parquetRows(uri: string, where = 'true') {
  const duck = await ctx.duck();
  return duck.all<Record<string, unknown>>(
    `SELECT symbol, strftime(ts, '%Y-%m-%d') AS day, open, high, low, close, adj_close, volume, batch_id FROM read_parquet(${currentFiles(path.dirname(path.join(ctx.paths.lake, uri)))}) WHERE ${where} ORDER BY symbol, ts`,
  );
}

describe('ingest of the demo job (Yahoo layout, planted bad rows)', () => {
  let first: Awaited<ReturnType<typeof runIngest>>;

  beforeAll(async () => {
    first = await runIngest(ctx, job('demo'), all);
  });

  test('stores every clean row once, quarantines exactly the planted bad ones', () => {
    expect(first.counts).toEqual({ recordsIn: 752, out: 746, deduped: 1, quarantined: 5, filtered: 0 });
    expect(first.counts.out).toBe(plantedPerFile.cleanRows + 2 * 250);
    expect(first.partitions).toEqual({ touched: 1, written: 1, unchanged: 0 });
    expect(first.writes.map((w) => [w.uri, w.rows])).toEqual([[yearFile, 746]]);
  });

  test("mdw.symbol_status holds each symbol's latest bar, its validation score and the sessions it trails at the run's clock", async () => {
    const rows = await symbolStatus(catalog.sql, { dataset: 'ohlcv', source: 'demo' });
    // The clock is Sunday 2026-11-22: every XNYS session from 2024-01-02 to Friday 2026-11-20 has ended.
    const behind = calendars.XNYS.sessions('2024-01-01', '2026-11-21').length;
    expect(behind).toBeGreaterThan(720);
    expect(rows.map((r) => [r.symbol, r.latestTs?.toISOString(), r.freshnessSessions, r.lastBackfillOutcome])).toEqual([
      ['AAPL', '2023-12-29T00:00:00.000Z', behind, null],
      ['MSFT', '2023-12-29T00:00:00.000Z', behind, null],
      ['SPY', '2023-12-29T00:00:00.000Z', behind, null],
    ]);
    // AAPL's file holds the planted bad rows: 4 of its 251 records are quarantined (the repeat passes).
    expect(rows.map((r) => r.lastScore)).toEqual([247 / 251, 1, 1]);
  });

  test('the partition file is sorted, deduplicated and matches the manifest', async () => {
    const file = path.join(ctx.paths.lake, yearFile);
    const [m] = await catalog.sql<{ rows: number; bytes: number; sha256: string; first_ts: Date; last_ts: Date; symbol: string | null; period: string }[]>`
      select rows, bytes, sha256, first_ts, last_ts, symbol, period from mdw.partition_manifest where uri = ${yearFile}`;
    expect(m).toMatchObject({ rows: 746, sha256: sha(file), bytes: readFileSync(file).length, symbol: null, period: '2023' });
    expect(m!.first_ts.toISOString()).toBe('2023-01-03T00:00:00.000Z');
    expect(m!.last_ts.toISOString()).toBe('2023-12-29T00:00:00.000Z');
    const rows = await parquetRows(yearFile);
    expect(rows.length).toBe(746);
    const keys = rows.map((r) => `${String(r.symbol)} ${String(r.day)}`);
    expect(new Set(keys).size).toBe(746);
    expect([...keys].sort()).toEqual(keys);
    const series = await catalog.sql<{ symbol: string; rows: number }[]>`
      select ps.symbol, ps.rows from mdw.partition_series ps join mdw.partition_manifest m on m.id = ps.manifest_id
      where m.uri = ${yearFile} order by ps.symbol`;
    expect(series.map((s) => [s.symbol, s.rows])).toEqual([['AAPL', 246], ['MSFT', 250], ['SPY', 250]]);
  });

  test('stored values are the file values', async () => {
    const line = readFileSync(path.join(root, 'fixtures/csv/yahoo/MSFT.csv'), 'utf8').split('\n').find((l) => l.startsWith('2023-06-01,'))!;
    const [, o, h, l, c, adj, v] = line.split(',').map(Number);
    const [row] = await parquetRows(yearFile, `symbol = 'MSFT' AND ts = '2023-06-01'::TIMESTAMP`);
    expect(row).toMatchObject({ symbol: 'MSFT', day: '2023-06-01', open: o, high: h, low: l, close: c, adj_close: adj, volume: v, batch_id: first.batchIds[0]! });
  });

  test('the quarantine file holds each rejected record with its rule, reason and raw form', () => {
    const lines = readFileSync(first.quarantine!.files[0]!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first.quarantine!.rows).toBe(5);
    const csv = readFileSync(path.join(root, 'fixtures/csv/yahoo/AAPL.csv'), 'utf8').split('\n');
    const truncatedLine = csv.findIndex((l) => l.split(',').length === 3) + 1;
    expect(lines.map((q) => [q.rules, q.record ?? null, q.line ?? null])).toEqual([
      [['ohlc_bracket'], 11, null],
      [['ohlc_bracket', 'positive_prices'], 21, null],
      [['duplicate_key'], 31, null],
      [['duplicate_key'], 32, null],
      [['parse'], null, truncatedLine],
    ]);
    expect(lines[0]).toMatchObject({ job: 'demo', dataset: 'ohlcv', source: 'demo', batch_id: first.batchIds[0], file: path.join(root, 'fixtures/csv/yahoo/AAPL.csv') });
    expect(lines[0]!.reason).toMatch(/^ohlc_bracket: open 48\.41 high 46\.06 low 46\.53 close 47\.31: high < low/);
    expect(lines[0]!.raw).toEqual({ Date: '2023-01-18', Open: '48.41', High: '46.06', Low: '46.53', Close: '47.31', 'Adj Close': '46.36', Volume: '2175325' });
    expect(lines[2]!.reason).toBe('duplicate_key: 2 rows with different values share symbol AAPL ts 2023-02-15T00:00:00Z');
    // Both conflicting rows keep the form the file gave them.
    expect([lines[2]!.raw, lines[3]!.raw]).toEqual(
      csv.filter((l) => l.startsWith('2023-02-15,')).map((l) => Object.fromEntries(['Date', 'Open', 'High', 'Low', 'Close', 'Adj Close', 'Volume'].map((k, i) => [k, l.split(',')[i]]))),
    );
    expect(lines[4]!.raw).toBe(csv[truncatedLine - 1]);
    expect(String(lines[4]!.reason)).toMatch(/MISSING COLUMNS/);
  });

  test('lineage accounts for every record, per input file and partition', async () => {
    const rows = await catalog.sql<{ raw_uri: string; uri: string | null; records_in: number; records_out: number; deduped: number; quarantined: number; filtered: number }[]>`
      select l.raw_uri, m.uri, l.records_in, l.records_out, l.deduped, l.quarantined, l.filtered
      from mdw.lineage_item l left join mdw.partition_manifest m on m.id = l.manifest_id
      where l.batch_id = ${first.batchIds[0]!} order by l.raw_uri, m.uri nulls first`;
    const aapl = rows.filter((r) => r.raw_uri.endsWith('AAPL.csv'));
    expect(aapl).toEqual([
      { raw_uri: expect.stringMatching(/AAPL\.csv$/), uri: null, records_in: 5, records_out: 0, deduped: 0, quarantined: 5, filtered: 0 },
      { raw_uri: expect.stringMatching(/AAPL\.csv$/), uri: yearFile, records_in: 247, records_out: 246, deduped: 1, quarantined: 0, filtered: 0 },
    ]);
    expect(rows.reduce((n, r) => n + r.records_in, 0)).toBe(752);
    const [batch] = await catalog.sql<{ status: string; records_in: number; records_out: number; quarantined: number; quarantine_uri: string }[]>`
      select status, records_in, records_out, quarantined, quarantine_uri from mdw.batch where id = ${first.batchIds[0]!}`;
    expect(batch).toMatchObject({ status: 'committed', records_in: 752, records_out: 746, quarantined: 5 });
    expect(path.join(ctx.settings.home, batch!.quarantine_uri)).toBe(first.quarantine!.files[0]!);
    const instruments = await catalog.sql<{ symbol: string }[]>`select symbol from mdw.instrument order by symbol`;
    expect(instruments.map((i) => i.symbol)).toEqual(expect.arrayContaining(['AAPL', 'MSFT', 'SPY']));
  });

  test('the library reads it back as typed arrays', async () => {
    const wh = await Warehouse.open({ home: ctx.settings.home, threads: 1 });
    try {
      const bars = await wh.ohlcv({ symbols: ['msft'], from: '2023-06-01', to: '2023-06-02', columns: ['ts', 'close', 'vwap'] });
      expect(bars.names).toEqual(['ts', 'close', 'vwap']);
      expect(bars.rowCount).toBe(2);
      const line = readFileSync(path.join(root, 'fixtures/csv/yahoo/MSFT.csv'), 'utf8').split('\n').find((l) => l.startsWith('2023-06-01,'))!;
      expect(bars.columns[0]).toEqual(new BigInt64Array([BigInt(Date.parse('2023-06-01T00:00:00Z')) * 1000n, BigInt(Date.parse('2023-06-02T00:00:00Z')) * 1000n]));
      expect((bars.columns[1] as Float64Array)[0]).toBe(Number(line.split(',')[4]));
      expect(Number.isNaN((bars.columns[2] as Float64Array)[0])).toBe(true); // Yahoo has no VWAP: NULL
      expect(bars.nulls[2]).toEqual(new Uint8Array([1, 1]));
      const counts = await wh.sql('select symbol, count(*) as n from ohlcv group by 1 order by 1');
      expect([...(counts.columns[0] as string[])]).toEqual(['AAPL', 'MSFT', 'SPY']);
      expect(counts.columns[1]).toEqual(new BigInt64Array([246n, 250n, 250n]));
    } finally {
      wh.close();
    }
  });

  test('running it again skips the unchanged inputs; with --full it reads them and changes no file', async () => {
    const before = lakeHashes(ctx.paths.lake);
    const [m0] = await catalog.sql<{ updated_at: Date }[]>`select updated_at from mdw.partition_manifest where uri = ${yearFile}`;
    const again = await runIngest(ctx, job('demo'), all);
    expect([again.skipped, again.batchIds.length, again.counts.recordsIn]).toEqual([3, 0, 0]);
    const full = await runIngest(ctx, job('demo'), { ...all, full: true });
    expect(full.counts).toEqual({ recordsIn: 752, out: 0, deduped: 747, quarantined: 5, filtered: 0 });
    expect(full.partitions).toEqual({ touched: 1, written: 0, unchanged: 1 });
    expect(lakeHashes(ctx.paths.lake)).toEqual(before);
    const [m1] = await catalog.sql<{ updated_at: Date; rows: number }[]>`select updated_at, rows from mdw.partition_manifest where uri = ${yearFile}`;
    expect(m1!.updated_at).toEqual(m0!.updated_at);
    expect(m1!.rows).toBe(746);
  });

  test('a dry run reports the same plan and writes nothing', async () => {
    const before = lakeHashes(ctx.paths.lake);
    const batches = (await catalog.sql<{ n: number }[]>`select count(*)::int as n from mdw.batch`)[0]!.n;
    const dry = await runIngest(ctx, job('demo'), { ...all, dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(dry.counts).toEqual({ recordsIn: 752, out: 0, deduped: 747, quarantined: 5, filtered: 0 });
    expect(dry.quarantine).toBeNull();
    expect(lakeHashes(ctx.paths.lake)).toEqual(before);
    const n = (await catalog.sql<{ n: number }[]>`select count(*)::int as n from mdw.batch`)[0]!.n;
    expect(n).toBe(batches);
  });
});

describe('changes in the source', () => {
  test('a partition written before a column joined its dataset loads again: the stored rows read the column as NULL', async () => {
    const dir = path.join(root, 'evolve');
    mkdirSync(dir, { recursive: true });
    const write = (cash: number) =>
      writeFileSync(path.join(dir, 'divs.json'), JSON.stringify({ results: [{ cash_amount: cash, currency: 'USD', dividend_type: 'CD', ex_dividend_date: '2023-11-10', ticker: 'EVO' }], status: 'OK' }));
    write(0.24);
    writeFileSync(
      path.join(configs, 'jobs', 'evolve.yml'),
      `dataset: corporate_actions\ngranularity: 1d\nsource: { name: evolve, adapter: file, files: [${path.join(dir, 'divs.json')}] }\ntransform: polygon-dividends\n`,
    );
    await runIngest(ctx, job('evolve'), all);
    // The partition as an older mdw wrote it: without the currency column.
    const [file] = currentFilesUnder(path.join(ctx.paths.lake, 'corporate_actions/source=evolve'));
    const duck = await ctx.duck();
    await duck.run(`COPY (SELECT * EXCLUDE (currency) FROM read_parquet('${file}')) TO '${file}.old' (FORMAT PARQUET)`);
    renameSync(`${file}.old`, file!);
    write(0.25);
    const again = await runIngest(ctx, job('evolve'), all);
    expect(again.counts).toMatchObject({ recordsIn: 1, out: 1, quarantined: 0 });
    const rows = await duck.all(`SELECT symbol, cash_amount, currency FROM read_parquet(${currentFiles(path.join(ctx.paths.lake, 'corporate_actions/source=evolve'))})`);
    expect(rows).toEqual([{ symbol: 'EVO', cash_amount: 0.25, currency: 'USD' }]);
  });

  test('a corrected value rewrites its partition; a new year adds a partition and leaves the old one alone', async () => {
    const csvPath = path.join(root, 'fixtures/csv/kaggle/ko.us.txt');
    const original = readFileSync(csvPath, 'utf8');
    await runIngest(ctx, job('demo-kaggle'), all);
    const uri2023 = 'ohlcv/source=demo-kaggle/granularity=1d/year=2023/data-000001.parquet';
    const hash2023 = sha(path.join(ctx.paths.lake, uri2023));

    const lines = original.split('\r\n');
    const target = lines.findIndex((l) => l.startsWith('2023-07-03,'));
    const fields = lines[target]!.split(',');
    fields[4] = (Number(fields[4]) + 0.5).toFixed(2); // close
    fields[2] = String(Math.max(Number(fields[2]), Number(fields[4]))); // keep high >= close
    lines[target] = fields.join(',');
    lines.push('2024-01-02,60.00,61.00,59.50,60.50,1000000,0');
    writeFileSync(csvPath, lines.join('\r\n'));
    try {
      const r = await runIngest(ctx, job('demo-kaggle'), all);
      expect(r.counts.out).toBe(2);
      expect(r.writes.map((w) => [w.uri, w.changes]).sort()).toEqual([
        ['ohlcv/source=demo-kaggle/granularity=1d/year=2023/data-000002.parquet', 1],
        ['ohlcv/source=demo-kaggle/granularity=1d/year=2024/data-000001.parquet', 1],
      ]);
      // A new version beside the old one, which readers no longer open; the old file is untouched.
      expect(sha(path.join(ctx.paths.lake, uri2023))).toBe(hash2023);
      expect(sha(path.join(ctx.paths.lake, uri2023.replace('data-000001', 'data-000002')))).not.toBe(hash2023);
      const [row] = await parquetRows(uri2023, `symbol = 'KO' AND ts = '2023-07-03'::TIMESTAMP`);
      expect(row!.close).toBe(Number(fields[4]));
      expect(row!.batch_id).toBe(r.batchIds[0]!);
      const [other] = await parquetRows(uri2023, `symbol = 'KO' AND ts = '2023-07-05'::TIMESTAMP`);
      expect(other!.batch_id).not.toBe(r.batchIds[0]!);
      expect((await parquetRows(uri2023)).length).toBe(496);
    } finally {
      writeFileSync(csvPath, original);
    }
  });

  test('--from/--to and --symbols limit what is stored and count the rest as filtered', async () => {
    const r = await runIngest(ctx, job('demo-stooq'), {
      ...all,
      window: { from: new Date('2023-03-01T00:00:00Z'), toExclusive: new Date('2023-04-01T00:00:00Z') },
      symbols: ['JNJ'],
    });
    expect(r.counts.out).toBe(23);
    // The truncated XOM line cannot be read, so nothing says it is out of scope: it is quarantined.
    expect(r.counts.quarantined).toBe(1);
    expect(r.counts.filtered).toBe(502 - 23 - 1);
    const rows = await parquetRows('ohlcv/source=demo-stooq/granularity=1d/year=2023/data.parquet');
    expect(new Set(rows.map((x) => x.symbol))).toEqual(new Set(['JNJ']));
    expect(rows[0]!.day).toBe('2023-03-01');
    expect(rows[rows.length - 1]!.day).toBe('2023-03-31');
  });

  test('minute bars in a declared layout land in one file per symbol and month, in UTC', async () => {
    const r = await runIngest(ctx, job('demo-minute'), all);
    expect(r.counts).toEqual({ recordsIn: 1560, out: 1560, deduped: 0, quarantined: 0, filtered: 0 });
    expect(r.writes.map((w) => w.uri).sort()).toEqual([
      'ohlcv/source=demo-minute/granularity=1m/symbol=ACME/month=2024-03/data-000001.parquet',
      'ohlcv/source=demo-minute/granularity=1m/symbol=GLOBEX/month=2024-03/data-000001.parquet',
    ]);
    const duck = await ctx.duck();
    const rows = await duck.all<{ ts: string; open: number }>(
      `SELECT strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS ts, open FROM read_parquet('${path.join(ctx.paths.lake, r.writes[0]!.uri)}') ORDER BY ts LIMIT 1`,
    );
    expect(rows).toEqual([{ ts: '2024-03-08T14:30:00Z', open: 100 }]);
  });
});

describe('awkward files', () => {
  test('a BOM, CRLF, a stray quote, an empty file, a header-only file and glob characters in a path', async () => {
    const dir = path.join(root, 'odd');
    mkdirSync(path.join(dir, 'dir[1]'), { recursive: true });
    mkdirSync(path.join(dir, 'dir1'), { recursive: true });
    const header = 'Date,Open,High,Low,Close,Adj Close,Volume';
    writeFileSync(
      path.join(dir, 'BRK-B.csv'),
      `\uFEFF${header}\r\n2023-01-03,10,11,9,10.5,10.4,100\r\n2023-01-04,"10.0,11,9,10.5,10.4,100\r\n2023-01-05,10,11,9,10.5,10.4,100\r\n2023-01-06,10,11,9,10.5,10.4,100\r\n`,
    );
    writeFileSync(path.join(dir, 'EMPTY.csv'), '');
    writeFileSync(path.join(dir, 'HDR.csv'), `${header}\n`);
    writeFileSync(path.join(dir, 'dir[1]', 'SPY.csv'), `${header}\n2023-01-03,380,385,379,384,380,1000\n2023-01-04,384,386,380,383,379,900\n`);
    writeFileSync(path.join(dir, 'dir1', 'SPY.csv'), `${header}\n2023-01-03,1,1,1,1,1,1\n`);
    writeFileSync(
      path.join(configs, 'jobs', 'odd.yml'),
      `dataset: ohlcv\ngranularity: 1d\nsource: { name: odd, adapter: file, files: ['../../odd/*.csv', '../../odd/dir[[]1]/SPY.csv'] }\ntransform: yahoo\n`,
    );
    const r = await runIngest(ctx, job('odd'), all);
    expect(r.inputs).toBe(4);
    expect(r.counts).toEqual({ recordsIn: 6, out: 5, deduped: 0, quarantined: 1, filtered: 0 });
    const q = readFileSync(r.quarantine!.files[0]!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(q).toHaveLength(1);
    expect(q[0]).toMatchObject({ rules: ['parse'], reason: 'parse: open: cannot read ""10.0" as a number' });
    const rows = await parquetRows('ohlcv/source=odd/granularity=1d/year=2023/data.parquet');
    expect(rows.map((x) => [x.symbol, x.day, x.close])).toEqual([
      ['BRK-B', '2023-01-03', 10.5],
      ['BRK-B', '2023-01-05', 10.5],
      ['BRK-B', '2023-01-06', 10.5],
      ['SPY', '2023-01-03', 384],
      ['SPY', '2023-01-04', 383],
    ]);
    const lineage = await catalog.sql<{ raw_uri: string; records_in: number }[]>`
      select raw_uri, sum(records_in)::int as records_in from mdw.lineage_item where batch_id = ${r.batchIds[0]!} group by 1 order by 1`;
    expect(lineage.map((l) => [path.relative(dir, l.raw_uri), l.records_in])).toEqual([
      ['BRK-B.csv', 4],
      ['EMPTY.csv', 0],
      ['HDR.csv', 0],
      ['dir[1]/SPY.csv', 2],
    ]);
  });
});

describe('JSON pages', () => {
  test('Polygon-shaped pages: record path, document fields beside each record, integers and decimals alike, an empty page', async () => {
    const dir = path.join(root, 'pages');
    mkdirSync(dir, { recursive: true });
    const page = (ticker: string, results: object[] | undefined) =>
      JSON.stringify({ ticker, queryCount: results?.length ?? 0, resultsCount: results?.length ?? 0, adjusted: false, ...(results ? { results } : {}), status: 'OK', request_id: 'r', count: results?.length ?? 0 });
    // 09:30 and 09:31 New York on 2024-03-08 (EST) are 14:30Z and 14:31Z.
    writeFileSync(path.join(dir, 'AAPL-1.json'), page('AAPL', [{ v: 100, vw: 170.5, o: 170, c: 171, h: 172, l: 169, t: 1709908200000, n: 12 }]));
    writeFileSync(path.join(dir, 'AAPL-2.json'), page('AAPL', [{ v: 1.12117471e8, vw: 170.75, o: 171.25, c: 170.5, h: 171.5, l: 170.25, t: 1709908260000, n: 7 }]));
    writeFileSync(path.join(dir, 'MSFT-1.json'), page('MSFT', undefined));
    writeFileSync(path.join(configs, 'transforms', 'pages.yml'), readFileSync(path.join(configs, 'transforms', 'polygon-aggs.yml'), 'utf8'));
    writeFileSync(path.join(configs, 'jobs', 'pages.yml'), `dataset: ohlcv\ngranularity: 1m\nsource: { name: pages, adapter: file, files: ['../../pages/*.json'] }\ntransform: pages\n`);
    const r = await runIngest(ctx, job('pages'), all);
    expect(r.counts).toEqual({ recordsIn: 2, out: 2, deduped: 0, quarantined: 0, filtered: 0 });
    const duck = await ctx.duck();
    const rows = await duck.all(
      `SELECT symbol, strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS ts, open, high, low, close, volume, vwap, trades FROM read_parquet('${path.join(ctx.paths.lake, r.writes[0]!.uri)}') ORDER BY ts`,
    );
    expect(rows).toEqual([
      { symbol: 'AAPL', ts: '2024-03-08T14:30:00Z', open: 170, high: 172, low: 169, close: 171, volume: 100, vwap: 170.5, trades: 12 },
      { symbol: 'AAPL', ts: '2024-03-08T14:31:00Z', open: 171.25, high: 171.5, low: 170.25, close: 170.5, volume: 112117471, vwap: 170.75, trades: 7 },
    ]);
    const lineage = await catalog.sql<{ raw_uri: string; records_in: number }[]>`
      select raw_uri, sum(records_in)::int as records_in from mdw.lineage_item where batch_id = ${r.batchIds[0]!} group by 1 order by 1`;
    expect(lineage.map((l) => [path.basename(l.raw_uri), l.records_in])).toEqual([['AAPL-1.json', 1], ['AAPL-2.json', 1], ['MSFT-1.json', 0]]);
  });
});

describe('a JSON document that is a list of records', () => {
  test("records: $ reads a top-level list (FMP's price history shape); a document that is not a list is named", async () => {
    const dir = path.join(root, 'root-list');
    mkdirSync(dir, { recursive: true });
    // FMP /stable/historical-price-eod/full: newest first, one object per day.
    writeFileSync(
      path.join(dir, 'AAPL.json'),
      JSON.stringify([
        { symbol: 'AAPL', date: '2024-01-03', open: 184.22, high: 185.88, low: 183.43, close: 184.25, volume: 58414460, change: 0.03, changePercent: 0.01629, vwap: 184.4 },
        { symbol: 'AAPL', date: '2024-01-02', open: 187.15, high: 188.44, low: 183.89, close: 185.64, volume: 82488700, change: -1.51, changePercent: -0.80684, vwap: 186.28 },
      ]),
    );
    writeFileSync(
      path.join(configs, 'transforms', 'root-list.yml'),
      'dataset: ohlcv\nread: { format: json, records: $ }\ncolumns:\n  ts: { from: date, date: "%Y-%m-%d" }\n  open: { from: open }\n  high: { from: high }\n  low: { from: low }\n  close: { from: close }\n  volume: { from: volume }\n  vwap: { from: vwap }\nsymbol: { from: symbol }\n',
    );
    writeFileSync(path.join(configs, 'jobs', 'root-list.yml'), `dataset: ohlcv\ngranularity: 1d\ncalendar: XNYS\nsource: { name: root-list, adapter: file, files: ['../../root-list/*.json'] }\ntransform: root-list\n`);
    const r = await runIngest(ctx, job('root-list'), all);
    expect(r.counts).toEqual({ recordsIn: 2, out: 2, deduped: 0, quarantined: 0, filtered: 0 });
    const rows = await parquetRows(r.writes[0]!.uri);
    expect(rows.map(({ batch_id: _b, adj_close: _a, ...rest }) => rest)).toEqual([
      { symbol: 'AAPL', day: '2024-01-02', open: 187.15, high: 188.44, low: 183.89, close: 185.64, volume: 82488700 },
      { symbol: 'AAPL', day: '2024-01-03', open: 184.22, high: 185.88, low: 183.43, close: 184.25, volume: 58414460 },
    ]);
    writeFileSync(path.join(dir, 'AAPL.json'), JSON.stringify({ symbol: 'AAPL', historical: [] }));
    await expect(runIngest(ctx, job('root-list'), all)).rejects.toThrow('AAPL.json is not a list of records (records: $ reads a document whose top level is a list)');
  });
});

describe('fields a vendor leaves out', () => {
  test('an optional field missing from every record is NULL; a missing field the symbol comes from is a config error naming it', async () => {
    const dir = path.join(root, 'sparse');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'splits.json'), JSON.stringify({ results: [{ execution_date: '2020-08-31', split_from: 1, split_to: 4, ticker: 'AAPL' }], status: 'OK' }));
    const jobYaml = (transform: string) => `dataset: corporate_actions\ngranularity: 1d\nsource: { name: sparse, adapter: file, files: ['../../sparse/*.json'] }\ntransform: ${transform}\n`;
    // polygon-splits reads the optional id, which this page lacks.
    writeFileSync(path.join(configs, 'jobs', 'sparse.yml'), jobYaml('polygon-splits'));
    expect((await runIngest(ctx, job('sparse'), all)).counts).toMatchObject({ recordsIn: 1, out: 1, quarantined: 0 });
    const duck = await ctx.duck();
    expect(await duck.all(`SELECT symbol, split_to, vendor_id FROM read_parquet(${currentFiles(`${ctx.paths.lake}/corporate_actions/source=sparse`)})`)).toEqual([
      { symbol: 'AAPL', split_to: 4, vendor_id: null },
    ]);
    writeFileSync(
      path.join(configs, 'transforms', 'sparse-symbol.yml'),
      readFileSync(path.join(configs, 'transforms', 'polygon-splits.yml'), 'utf8').replace('from: ticker', 'from: symbol'),
    );
    writeFileSync(path.join(configs, 'jobs', 'sparse.yml'), jobYaml('sparse-symbol'));
    await expect(runIngest(ctx, job('sparse'), { ...all, full: true })).rejects.toThrow(/sparse\/splits\.json: no field "symbol" \(read by transform "sparse-symbol"\)/);
  });
});

describe('fields that differ only in case', () => {
  test("Polygon's grouped daily has T (ticker) and t (time): both are read, a bad bar is quarantined under their own names and replays after a fix", async () => {
    const dir = path.join(root, 'grouped');
    mkdirSync(dir, { recursive: true });
    // 2024-03-08 16:00 New York (EST) is 21:00Z: the session's close, as the live API stamps it.
    const bar = (T: string, h: number) => ({ T, v: 100, vw: 10, o: 10, c: 10.5, h, l: 9.5, t: 1709931600000, n: 5 });
    writeFileSync(path.join(dir, '2024-03-08.json'), JSON.stringify({ adjusted: false, results: [bar('AAA', 11), bar('BBB', 9)], status: 'OK' }));
    const jobYaml = (validation: string) =>
      `dataset: ohlcv\ngranularity: 1d\nsource: { name: grouped, adapter: file, files: ['../../grouped/*.json'] }\ntransform: polygon-grouped\n${validation}`;
    writeFileSync(path.join(configs, 'jobs', 'grouped.yml'), jobYaml(''));
    const r = await runIngest(ctx, job('grouped'), all);
    expect(r.counts).toEqual({ recordsIn: 2, out: 1, deduped: 0, quarantined: 1, filtered: 0 });
    const [q] = await catalog.sql<{ rules: string[]; raw: string }[]>`select rules, raw from mdw.quarantine_record where job = 'grouped'`;
    expect(q!.rules).toEqual(['ohlc_bracket']);
    expect(JSON.parse(q!.raw)).toEqual({ T: 'BBB', t: 1709931600000, o: 10, h: 9, l: 9.5, c: 10.5, v: 100, vw: 10, n: 5 });

    writeFileSync(path.join(configs, 'validation', 'grouped-loose.yml'), 'dataset: ohlcv\nrules:\n  - rule: required\n');
    writeFileSync(path.join(configs, 'jobs', 'grouped.yml'), jobYaml('validation: grouped-loose\n'));
    const replay = await replayQuarantine(ctx, job('grouped'), {}, { dryRun: false, runId: null });
    expect(replay.outcomes.map((o) => o.outcome)).toEqual(['loaded']);
    const duck = await ctx.duck();
    const rows = await duck.all(`SELECT symbol, strftime(ts, '%Y-%m-%d') AS day, high, low FROM read_parquet(${currentFiles(`${ctx.paths.lake}/ohlcv/source=grouped`)}) ORDER BY symbol`);
    expect(rows).toEqual([
      { symbol: 'AAA', day: '2024-03-08', high: 11, low: 9.5 },
      { symbol: 'BBB', day: '2024-03-08', high: 9, low: 9.5 },
    ]);
  });
});

describe('NDJSON around the clock', () => {
  test('one record a line, no record path; a 24/7 calendar judges every bar and keeps the weekend ones', async () => {
    const dir = path.join(root, 'ndjson');
    mkdirSync(dir, { recursive: true });
    // Saturday 2024-03-09 and Sunday 2024-03-10 are sessions of a market that never closes.
    const bars = [
      { S: 'BTC/USD', t: '2024-03-09T23:59:00Z', o: 68000.5, h: 68010, l: 67990, c: 68005.25, v: 0.125 },
      { S: 'BTC/USD', t: '2024-03-10T00:00:00Z', o: 68005.25, h: 68020, l: 68000, c: 68015, v: 1.5 },
      { S: 'ETH/USD', t: '2024-03-10T12:00:00Z', o: 3900, h: 3901, l: 3899, c: 3900.5, v: 12.75 },
    ];
    writeFileSync(path.join(dir, 'crypto.ndjson'), `${bars.map((b) => JSON.stringify(b)).join('\n')}\n`);
    writeFileSync(
      path.join(configs, 'transforms', 'crypto-ndjson.yml'),
      'dataset: ohlcv\nread: { format: ndjson }\ncolumns:\n  ts: { from: t, datetime: iso }\n  open: { from: o }\n  high: { from: h }\n  low: { from: l }\n  close: { from: c }\n  volume: { from: v }\nsymbol: { from: S, case: keep }\n',
    );
    writeFileSync(
      path.join(configs, 'jobs', 'crypto-ndjson.yml'),
      `dataset: ohlcv\ngranularity: 1m\ncalendar: 24/7\nsource: { name: crypto-ndjson, adapter: file, files: ['../../ndjson/*.ndjson'] }\ntransform: crypto-ndjson\n`,
    );
    const r = await runIngest(ctx, job('crypto-ndjson'), all);
    expect(r.counts).toEqual({ recordsIn: 3, out: 3, deduped: 0, quarantined: 0, filtered: 0 });
    const duck = await ctx.duck();
    const rows = await duck.all(
      `SELECT symbol, strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS ts, open, close, volume FROM read_parquet(${currentFiles(`${ctx.paths.lake}/ohlcv/source=crypto-ndjson`)}) ORDER BY symbol, ts`,
    );
    expect(rows).toEqual(bars.map((b) => ({ symbol: b.S, ts: b.t, open: b.o, close: b.c, volume: b.v })));
  });
});

describe('recovery', () => {
  test('a batch that crashed between its catalog commit and its renames is rolled forward; the version it replaced goes after the grace period', async () => {
    const file = path.join(ctx.paths.lake, yearFile);
    const next = `${path.dirname(yearFile)}/data-000002.parquet`;
    const tmpUri = `${path.dirname(yearFile)}/.data-000002.parquet.deadbeef.tmp`;
    const tmp = path.join(ctx.paths.lake, tmpUri);
    const duck = await ctx.duck();
    await duck.run(`COPY (SELECT * REPLACE (CASE WHEN symbol = 'SPY' THEN close + 1 ELSE close END AS close) FROM read_parquet('${file}')) TO '${tmp}' (FORMAT PARQUET)`);
    const newSha = sha(tmp);
    const batchId = '00000000-0000-4000-8000-00000000dead';
    const [ids] = await catalog.sql<{ dataset_id: string; source_id: string }[]>`select dataset_id, source_id from mdw.partition_manifest where uri = ${yearFile}`;
    // What the batch's commit recorded: the batch, its rename, the manifest naming the new version, the old one superseded.
    await catalog.sql`insert into mdw.batch (id, dataset_id, source_id, granularity, status, created_at) values (${batchId}, ${ids!.dataset_id}, ${ids!.source_id}, '1d', 'writing', now())`;
    await catalog.sql`insert into mdw.pending_write (batch_id, uri, tmp_uri, period, rows, bytes, sha256, series) values (${batchId}, ${next}, ${tmpUri}, '2023', 746, 1, ${newSha}, '[]')`;
    await catalog.sql`update mdw.partition_manifest set uri = ${next}, sha256 = ${newSha} where uri = ${yearFile}`;
    await catalog.sql`insert into mdw.superseded_file (uri, dataset_id, source_id, granularity, batch_id, superseded_at) values (${yearFile}, ${ids!.dataset_id}, ${ids!.source_id}, '1d', ${batchId}, ${ctx.clock.now()})`;

    const series = { datasetId: ids!.dataset_id, sourceId: ids!.source_id };
    expect(await recoverPendingWrites(ctx, catalog, datasets.ohlcv, series, '1d', 'demo')).toBe(1);
    expect(sha(path.join(ctx.paths.lake, next))).toBe(newSha);
    const [b] = await catalog.sql<{ status: string }[]>`select status from mdw.batch where id = ${batchId}`;
    expect(b!.status).toBe('committed');
    expect(await catalog.sql`select 1 from mdw.pending_write`).toHaveLength(0);
    // Readers open the new version; the old one stays for queries that opened it ...
    expect(readdirSync(path.dirname(file)).sort()).toEqual(['data-000001.parquet', 'data-000002.parquet']);
    expect(await recoverPendingWrites(ctx, catalog, datasets.ohlcv, series, '1d', 'demo')).toBe(0);
    expect(existsSync(file)).toBe(true);
    // ... until the grace period is over.
    expect(await recoverPendingWrites({ ...ctx, settings: { ...ctx.settings, versionGraceMs: 0 } }, catalog, datasets.ohlcv, series, '1d', 'demo')).toBe(0);
    expect(readdirSync(path.dirname(file))).toEqual(['data-000002.parquet']);
    expect(await catalog.sql`select 1 from mdw.superseded_file where uri = ${yearFile}`).toHaveLength(0);
  });

  test('a write whose temp file vanished: the batch fails and the manifest describes the file readers open', async () => {
    const current = `${path.dirname(yearFile)}/data-000002.parquet`;
    const onDisk = sha(path.join(ctx.paths.lake, current));
    const lost = `${path.dirname(yearFile)}/data-000003.parquet`;
    const batchId = '00000000-0000-4000-8000-000000001057';
    const [ids] = await catalog.sql<{ dataset_id: string; source_id: string }[]>`select dataset_id, source_id from mdw.partition_manifest where uri = ${current}`;
    await catalog.sql`insert into mdw.batch (id, dataset_id, source_id, granularity, status, created_at) values (${batchId}, ${ids!.dataset_id}, ${ids!.source_id}, '1d', 'writing', now())`;
    await catalog.sql`insert into mdw.pending_write (batch_id, uri, tmp_uri, period, rows, bytes, sha256, series) values (${batchId}, ${lost}, ${`${path.dirname(yearFile)}/.data-000003.parquet.gone.tmp`}, '2023', 999, 1, ${'b'.repeat(64)}, '[]')`;
    // The intent claimed a new version; the catalog said so, and that the current one was superseded.
    await catalog.sql`update mdw.partition_manifest set uri = ${lost}, sha256 = ${'b'.repeat(64)}, rows = 999 where uri = ${current}`;
    await catalog.sql`delete from mdw.partition_series where manifest_id = (select id from mdw.partition_manifest where uri = ${lost})`;
    await catalog.sql`insert into mdw.superseded_file (uri, dataset_id, source_id, granularity, batch_id, superseded_at) values (${current}, ${ids!.dataset_id}, ${ids!.source_id}, '1d', ${batchId}, now() - interval '1 day')`;

    expect(await recoverPendingWrites({ ...ctx, settings: { ...ctx.settings, versionGraceMs: 0 } }, catalog, datasets.ohlcv, { datasetId: ids!.dataset_id, sourceId: ids!.source_id }, '1d', 'demo')).toBe(1);
    const [m] = await catalog.sql<{ uri: string; sha256: string; rows: number }[]>`select uri, sha256, rows from mdw.partition_manifest where dataset_id = ${ids!.dataset_id} and source_id = ${ids!.source_id} and period = '2023'`;
    expect(m).toEqual({ uri: current, sha256: onDisk, rows: 746 });
    const series = await catalog.sql<{ symbol: string; rows: number }[]>`
      select ps.symbol, ps.rows from mdw.partition_series ps join mdw.partition_manifest m on m.id = ps.manifest_id where m.uri = ${current} order by 1`;
    expect(series.map((x) => [x.symbol, x.rows])).toEqual([['AAPL', 246], ['MSFT', 250], ['SPY', 250]]);
    const [b] = await catalog.sql<{ status: string }[]>`select status from mdw.batch where id = ${batchId}`;
    expect(b!.status).toBe('failed');
    // The version the lost write meant to replace is current again: it is not removed.
    expect(existsSync(path.join(ctx.paths.lake, current))).toBe(true);
  });

  test('runs left "running" by a process that died are marked failed', async () => {
    const [run] = await catalog.sql<{ id: string }[]>`
      insert into mdw.ingest_run (command, job, status, host, pid, started_at) values ('ingest', 'demo', 'running', ${os.hostname()}, ${2 ** 22 + 7}, now()) returning id`;
    expect(await failOrphanedRuns(catalog.sql, (pid) => pid !== 2 ** 22 + 7, new Date())).toBe(1);
    const [r] = await catalog.sql<{ status: string; error: string }[]>`select status, error from mdw.ingest_run where id = ${run!.id}`;
    expect(r).toEqual({ status: 'failed', error: 'the process ended without recording its end (killed or crashed)' });
  });
});
