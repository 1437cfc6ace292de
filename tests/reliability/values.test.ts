import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Catalog } from '../../src/catalog/catalog.js';
import { listQuarantine } from '../../src/catalog/quarantine-catalog.js';
import { loadJob } from '../../src/config/jobs.js';
import type { Context } from '../../src/context.js';
import { runIngest, type IngestOptions } from '../../src/pipeline/run-ingest.js';
import { copyConfigs, freshCatalog, removeDir, runMdw, tempDir, testContext, currentFiles } from '../support/helpers.js';

/**
 * Values that are not what they claim: a date far outside any calendar, numbers and dates in a
 * form the declared one only resembles, prices and volumes no market has. Each is quarantined
 * with its reason; the rows beside it load as if it were not there.
 */
const all: IngestOptions = { window: { from: null, toExclusive: null }, symbols: null, dryRun: false, runId: null };
const header = 'Date,Open,High,Low,Close,Adj Close,Volume';

let root: string;
let configs: string;
let ctx: Context;
let catalog: Catalog;
let url: string | undefined;
let drop: () => Promise<void>;

beforeAll(async () => {
  root = tempDir();
  configs = copyConfigs(root);
  ({ url, drop } = await freshCatalog());
  ctx = testContext({ home: path.join(root, 'home'), databaseUrl: url, configDir: configs });
  catalog = await ctx.catalog();
});

afterAll(async () => {
  await ctx.close();
  await drop();
  removeDir(root);
});

/** A Yahoo-layout file of these lines and a daily XNYS job over it. */
function job(name: string, lines: readonly string[]) {
  const dir = path.join(root, 'data', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'ACME.csv'), [header, ...lines].join('\n') + '\n');
  writeFileSync(
    path.join(configs, 'jobs', `${name}.yml`),
    `dataset: ohlcv\ngranularity: 1d\ncalendar: XNYS\nsource: { name: ${name}, adapter: file, files: ['${dir}/*.csv'] }\ntransform: yahoo\n`,
  );
  return loadJob(configs, name, ctx.env);
}

const good = ['2024-01-02,10,11,9,10.5,10.5,100', '2024-01-03,10,11,9,10.5,10.5,100', '2024-01-04,10,11,9,10.5,10.5,100'];

async function reasons(source: string): Promise<[number | null, string][]> {
  const { records } = await listQuarantine(catalog.sql, { source });
  return records.map((r) => [r.record_no, r.reason] as [number | null, string]).sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
}

describe('a date far outside every calendar', () => {
  test('is quarantined on its own: the other rows are judged against their sessions and stored, and queries read them', async () => {
    const result = await runIngest(ctx, job('future', [...good, '9999-12-31,10,11,9,10.5,10.5,100', '0000-01-03,10,11,9,10.5,10.5,100']), all);
    expect(result.counts).toMatchObject({ recordsIn: 5, out: 3, quarantined: 2 });
    expect(await reasons('future')).toEqual([
      [4, 'plausible: ts 9999-12-31T00:00:00Z is more than 366 days after 2026-11-22 (bounds.ahead_days)'],
      [5, 'plausible: ts 0000-01-03T00:00:00Z is before 1700-01-01 (bounds.earliest)'],
    ]);
    // The embedded catalog serves one process: this one lets go while the command line reads.
    await ctx.close();
    const q = await runMdw(['--home', ctx.settings.home, 'query', 'ohlcv', 'ACME', '--source', 'future', '--format', 'csv', '--columns', 'ts,close'], {
      env: url ? { MDW_DATABASE_URL: url } : {},
    });
    ctx = testContext({ home: path.join(root, 'home'), databaseUrl: url, configDir: configs });
    catalog = await ctx.catalog();
    expect([q.code, q.stdout]).toEqual([0, 'ts,close\n2024-01-02T00:00:00Z,10.5\n2024-01-03T00:00:00Z,10.5\n2024-01-04T00:00:00Z,10.5\n']);
  });

  test('the bound moves with the validation file, and a future ex-date inside it is kept', async () => {
    const ahead = '2027-03-01,10,11,9,10.5,10.5,100';
    const dir = path.join(root, 'data', 'ahead');
    writeFileSync(path.join(configs, 'validation', 'near.yml'), 'dataset: ohlcv\nrules:\n  - rule: required\nbounds:\n  ahead_days: 30\n');
    job('ahead', [...good, ahead]);
    writeFileSync(path.join(configs, 'jobs', 'ahead.yml'), `dataset: ohlcv\ngranularity: 1d\nvalidation: near\nsource: { name: ahead, adapter: file, files: ['${dir}/*.csv'] }\ntransform: yahoo\n`);
    const near = await runIngest(ctx, loadJob(configs, 'ahead', ctx.env), all);
    expect(near.counts).toMatchObject({ recordsIn: 4, out: 3, quarantined: 1 });
    writeFileSync(path.join(configs, 'validation', 'near.yml'), 'dataset: ohlcv\nrules:\n  - rule: required\nbounds:\n  ahead_days: 200\n');
    const far = await runIngest(ctx, loadJob(configs, 'ahead', ctx.env), all);
    expect(far.counts).toMatchObject({ recordsIn: 4, out: 1, deduped: 3, quarantined: 0 });
  });
});

describe('malformed values', () => {
  test('a number or date that only resembles the declared form is quarantined with the form in the reason', async () => {
    const lines = [
      ...good,
      '2024-01-05,10,11,9,10.5,10.5,1_000',
      '24-01-08,10,11,9,10.5,10.5,100',
      '2024-02-29x,10,11,9,10.5,10.5,100',
      '2024/01/09,10,11,9,10.5,10.5,100',
      '2024-01-10Z,10,11,9,10.5,10.5,100',
      "2024-01-11' OR '1'='1,10,11,9,10.5,10.5,100",
      '2024-01-12,10,1e308,9,10.5,10.5,100',
      '2024-01-16,10,11,9,10.5,10.5,1e23',
      '2024-01-17,10,11,9,10.5,10.5,100',
    ];
    const result = await runIngest(ctx, job('malformed', lines), all);
    expect(result.counts).toMatchObject({ recordsIn: 12, out: 4, quarantined: 8 });
    expect(await reasons('malformed')).toEqual([
      [4, 'parse: volume: cannot read "1_000" as a number'],
      [5, 'parse: ts: cannot read "24-01-08" as a date (%Y-%m-%d)'],
      [6, 'parse: ts: cannot read "2024-02-29x" as a date (%Y-%m-%d)'],
      [7, 'parse: ts: cannot read "2024/01/09" as a date (%Y-%m-%d)'],
      [8, 'parse: ts: cannot read "2024-01-10Z" as a date (%Y-%m-%d)'],
      [9, `parse: ts: cannot read "2024-01-11' OR '1'='1" as a date (%Y-%m-%d)`],
      [10, 'plausible: high 1e+308 is above 1000000000 (bounds.max_price)'],
      [11, 'plausible: volume 1e+23 is above 10000000000000000 (bounds.max_volume)'],
    ]);
    const duck = await ctx.duck();
    const stored = await duck.all<{ day: string; high: number; volume: number; quality: number }>(
      `SELECT strftime(ts, '%Y-%m-%d') AS day, high, volume, quality FROM read_parquet(${currentFiles(`${ctx.paths.lake}/ohlcv/source=malformed`)}) ORDER BY ts`,
    );
    expect(stored.map((r) => r.day)).toEqual(['2024-01-02', '2024-01-03', '2024-01-04', '2024-01-17']);
    expect(stored.every((r) => r.high === 11 && r.volume === 100)).toBe(true);
  });

  test('formats with fixed widths read exactly their width; ISO instants need a full date', async () => {
    writeFileSync(
      path.join(configs, 'transforms', 'compact.yml'),
      'dataset: ohlcv\ncolumns:\n  ts: { from: d, date: "%Y%m%d" }\n  open: { from: o }\n  high: { from: h }\n  low: { from: l }\n  close: { from: c }\n  volume: { from: v }\nsymbol: { value: CMP }\n',
    );
    const dir = path.join(root, 'data', 'compact');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'x.csv'), 'd,o,h,l,c,v\n20240102,1,2,0.5,1.5,10\n2024013,1,2,0.5,1.5,10\n240104,1,2,0.5,1.5,10\n');
    writeFileSync(path.join(configs, 'jobs', 'compact.yml'), `dataset: ohlcv\ngranularity: 1d\nsource: { name: compact, adapter: file, files: ['${dir}/*.csv'] }\ntransform: compact\n`);
    const result = await runIngest(ctx, loadJob(configs, 'compact', ctx.env), all);
    expect(result.counts).toMatchObject({ recordsIn: 3, out: 1, quarantined: 2 });
    expect((await reasons('compact')).map((r) => r[1])).toEqual([
      'parse: ts: cannot read "2024013" as a date (%Y%m%d)',
      'parse: ts: cannot read "240104" as a date (%Y%m%d)',
    ]);
  });
});
