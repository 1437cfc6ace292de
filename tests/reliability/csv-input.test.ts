import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileAdapter } from '../../src/sources/file/file-adapter.js';
import type { Adapter } from '../../src/sources/source.js';
import type { Catalog } from '../../src/catalog/catalog.js';
import { ensureSeries } from '../../src/catalog/lake-catalog.js';
import { loadJob } from '../../src/config/jobs.js';
import type { Context } from '../../src/context.js';
import { InputError, InvariantError } from '../../src/core/errors.js';
import { extractFrom } from '../../src/pipeline/adapter-context.js';
import { readChecked } from '../../src/pipeline/read-chunk.js';
import { runIngest, type IngestOptions } from '../../src/pipeline/run-ingest.js';
import { seriesOf } from '../../src/pipeline/series.js';
import { stopwatch } from '../../src/pipeline/stopwatch.js';
import { writeChunk } from '../../src/pipeline/write-chunk.js';
import { copyConfigs, freshCatalog, lakeHashes, removeDir, runMdw, tempDir, testContext, openWarehouse } from '../support/helpers.js';

/**
 * What bad input files did to the ingest (issue 11, items 1, 4, 10 and 11): every line of a
 * file ends stored, quarantined with a reason, or the file is refused with exit 2.
 */

const all: IngestOptions = { window: { from: null, toExclusive: null }, symbols: null, dryRun: false, runId: null };
const header = 'Date,Open,High,Low,Close,Adj Close,Volume';
const row = (day: string) => `${day},10,11,9,10.5,10.4,100`;

let root: string;
let configs: string;
let ctx: Context;
let catalog: Catalog;
let close: () => Promise<void>;
let jobs = 0;

beforeAll(async () => {
  ({ root, configs, ctx, catalog, close } = await openWarehouse('mdw-csv-input-'));
});

afterAll(() => close());

/** A job over the given files (name -> bytes), in its own folder and source; returns its name. */
function jobOver(files: Record<string, string | Buffer>, options: { transform?: string; granularity?: string } = {}): string {
  const name = `input-${jobs++}`;
  const dir = path.join(root, 'data', name);
  mkdirSync(dir, { recursive: true });
  for (const [file, bytes] of Object.entries(files)) writeFileSync(path.join(dir, file), typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  writeFileSync(
    path.join(configs, 'jobs', `${name}.yml`),
    `dataset: ohlcv\ngranularity: ${options.granularity ?? '1d'}\ncalendar: XNYS\n` +
      `source: { name: ${name}, adapter: file, files: ['../../data/${name}/*'] }\ntransform: ${options.transform ?? 'yahoo'}\n`,
  );
  return name;
}

async function quarantined(batchIds: readonly string[]) {
  return catalog.sql<{ file: string; line: number | null; record: number | null; rules: string[]; reason: string; symbol: string | null }[]>`
    select input_uri as file, line_no::int as line, record_no::int as record, rules, reason, symbol
    from mdw.quarantine_record where batch_id = any(${batchIds as string[]}::uuid[]) order by input_uri, coalesce(record_no, line_no)`;
}

async function stored(job: string): Promise<string[]> {
  const duck = await ctx.duck();
  const files = Object.keys(lakeHashes(ctx.paths.lake)).filter((f) => f.includes(`source=${job}/`));
  if (files.length === 0) return [];
  const rows = await duck.all<{ r: string }>(
    `SELECT symbol || ' ' || strftime(ts, '%Y-%m-%dT%H:%M') AS r FROM read_parquet([${files.map((f) => `'${path.join(ctx.paths.lake, f)}'`).join(', ')}]) ORDER BY 1`,
  );
  return rows.map((x) => x.r);
}

describe('item 1: an unterminated quote loses no line, whatever the number of files', () => {
  test('five files of three rows, the second starting with a stray quote: 10 stored, 5 quarantined', async () => {
    const files = Object.fromEntries(['A', 'B', 'C', 'D', 'E'].map((s) => [`${s}.csv`, `${header}\n${row('2023-01-03')}\n"${row('2023-01-04')}\n${row('2023-01-05')}\n`]));
    const name = jobOver(files);
    const r = await runIngest(ctx, loadJob(configs, name, ctx.env), all);
    expect(r.counts).toEqual({ recordsIn: 15, out: 10, deduped: 0, quarantined: 5, filtered: 0 });
    expect(await stored(name)).toEqual(['A', 'B', 'C', 'D', 'E'].flatMap((s) => [`${s} 2023-01-03T00:00`, `${s} 2023-01-05T00:00`]));
    const q = await quarantined(r.batchIds);
    // Read without quoting, the stray quote is part of the date.
    expect(q.map((x) => [path.basename(x.file), x.record, x.rules, x.reason])).toEqual(
      ['A', 'B', 'C', 'D', 'E'].map((s) => [`${s}.csv`, 2, ['parse'], 'parse: ts: cannot read ""2023-01-04" as a date (%Y-%m-%d)']),
    );
  });

  test('seven files, two of them with a stray quote in the middle and a quoted field later: each line is accounted for', async () => {
    const clean = `${header}\n${row('2023-01-03')}\n${row('2023-01-04')}\n`;
    const stray = `${header}\n${row('2023-01-03')}\n2023-01-04,"10,11,9,10.5,10.4,100\n${row('2023-01-05')}\n2023-01-06,"10",11,9,10.5,10.4,100\n`;
    const name = jobOver({ 'A.csv': stray, 'B.csv': clean, 'C.csv': clean, 'D.csv': stray, 'E.csv': clean, 'F.csv': clean, 'G.csv': clean });
    const r = await runIngest(ctx, loadJob(configs, name, ctx.env), all);
    // Read line by line, the stray quote's line and the quoted one are rejected; nothing is swallowed.
    expect(r.counts).toEqual({ recordsIn: 18, out: 14, deduped: 0, quarantined: 4, filtered: 0 });
    expect((await quarantined(r.batchIds)).map((x) => [path.basename(x.file), x.line, x.record, x.reason])).toEqual([
      ['A.csv', null, 2, 'parse: open: cannot read ""10" as a number'],
      ['A.csv', null, 4, 'parse: open: cannot read ""10"" as a number'],
      ['D.csv', null, 2, 'parse: open: cannot read ""10" as a number'],
      ['D.csv', null, 4, 'parse: open: cannot read ""10"" as a number'],
    ]);
  });

  test('a reader that loses a record fails the batch before anything is written, naming the input and both counts', async () => {
    const name = jobOver({ 'LOSS.csv': `${header}\n${row('2023-01-03')}\n${row('2023-01-04')}\n${row('2023-01-05')}\n` });
    const job = loadJob(configs, name, ctx.env);
    // The file adapter with one record dropped from what it hands over, as a reader bug would.
    const lossy: Adapter = {
      ...fileAdapter,
      extract: async (c, request, inputs) => {
        const raw = await fileAdapter.extract(c, request, inputs);
        return { ...raw, relation: `(SELECT * FROM ${raw.relation} WHERE "Date" <> '2023-01-04')` };
      },
    };
    const { ref, base } = seriesOf(ctx, job);
    const ids = await ensureSeries(catalog.sql, ref);
    const inputs = await fileAdapter.list({} as never, { job, from: null, toExclusive: null, symbols: null, columns: {} });
    const duck = await ctx.duck();
    const request = { job, from: null, toExclusive: null, symbols: null, columns: { Date: 'VARCHAR' as const } };
    const chunk = await readChecked(ctx, duck, request, inputs, base.grain, extractFrom(ctx, lossy, request));
    const commit = { catalog, ids, ref, batchId: '00000000-0000-4000-8000-000000000001', runId: null, configKey: 'k' };
    const err = await writeChunk(ctx, duck, chunk, { ...base, runBatchIds: [] }, commit, stopwatch()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvariantError);
    expect((err as InvariantError).exitCode).toBe(1);
    expect((err as Error).message).toBe(
      `records went missing between reading and loading, so nothing of this batch is written: ${inputs[0]!.uri}: 3 records read, 2 accounted for (2 stored, 0 repeats, 0 quarantined, 0 filtered)`,
    );
    expect(Object.keys(lakeHashes(ctx.paths.lake)).filter((f) => f.includes(`source=${name}/`))).toEqual([]);
    expect(await catalog.sql`select id from mdw.batch where job = ${name}`).toEqual([]);
  });
});

describe('item 4: one bad line is quarantined with a reason, the rest of its file loads', () => {
  const days = ['2023-01-03', '2023-01-04', '2023-01-05'];
  const variants: { name: string; bad: string; reason: string; rules?: string[] }[] = [
    { name: 'a NUL byte in a value', bad: '2023-01-04,10,11\x00,9,10.5,10.4,100', reason: 'parse: high: cannot read "11␀" as a number', rules: ['parse'] },
    { name: 'a line of NUL bytes', bad: '\x00\x00\x00\x00', reason: 'MISSING COLUMNS' },
    { name: 'a CR inside a line', bad: '2023-01-04,10,11,9\r,10.5,10.4,100', reason: 'CARRIAGE RETURN: a CR inside the line (a line ends in LF or CRLF)' },
    { name: 'junk bytes with a CR among them', bad: '2023-01-04,10,\xff\x01\r\x1b,9,10.5,10.4,100', reason: 'CARRIAGE RETURN: a CR inside the line (a line ends in LF or CRLF)' },
    { name: 'junk bytes that are not UTF-8', bad: '2023-01-04,10,\xff\xfe\x80junk\x01,9,10.5,10.4,100', reason: 'INVALID ENCODING' },
    { name: 'year 0000', bad: '0000-01-04,10,11,9,10.5,10.4,100', reason: 'plausible: ts 0000-01-04T00:00:00Z is before 1700-01-01 (bounds.earliest)', rules: ['plausible'] },
    { name: 'a negative year', bad: '-2023-01-04,10,11,9,10.5,10.4,100', reason: 'parse: ts: cannot read "-2023-01-04" as a date (%Y-%m-%d)' },
  ];
  for (const v of variants) {
    test(v.name, async () => {
      const name = jobOver({ 'AAPL.csv': `${header}\n${row(days[0]!)}\n${v.bad}\n${row(days[2]!)}\n` });
      const r = await runIngest(ctx, loadJob(configs, name, ctx.env), all);
      expect(r.counts).toEqual({ recordsIn: 3, out: 2, deduped: 0, quarantined: 1, filtered: 0 });
      expect(await stored(name)).toEqual(['AAPL 2023-01-03T00:00', 'AAPL 2023-01-05T00:00']);
      const [q] = await quarantined(r.batchIds);
      expect(q!.rules).toEqual(v.rules ?? ['parse']);
      expect(q!.reason.startsWith(v.reason)).toBe(true);
      // The quarantine file says the same, as JSON a catalog or a jsonb column takes.
      const ndjson = readFileSync(r.quarantine!.files[0]!, 'utf8').trim().split('\n');
      expect(ndjson.map((l) => (JSON.parse(l) as { reason: string }).reason)).toEqual([q!.reason]);
      expect(ndjson.join('\n')).not.toContain('\u0000');
    });
  }

  test('a folder named like a partition key (date=2023-01-05) is no column of the files under it', async () => {
    const name = jobOver({});
    const folder = path.join(root, 'data', name, 'date=2023-01-05');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'AAPL.csv'), `${header}\n${row(days[0]!)}\n${row(days[1]!)}\n`);
    const file = path.join(configs, 'jobs', `${name}.yml`);
    writeFileSync(file, readFileSync(file, 'utf8').replace(`'../../data/${name}/*'`, `'../../data/${name}/*/*.csv'`));
    const r = await runIngest(ctx, loadJob(configs, name, ctx.env), all);
    expect(r.counts).toEqual({ recordsIn: 2, out: 2, deduped: 0, quarantined: 0, filtered: 0 });
    expect(await stored(name)).toEqual(['AAPL 2023-01-03T00:00', 'AAPL 2023-01-04T00:00']);
  });

  test('mixed CRLF and LF line ends: every line loads', async () => {
    const name = jobOver({ 'A.csv': `${header}\n${row(days[0]!)}\r\n${row(days[1]!)}\n${row(days[2]!)}\r\n`, 'B.csv': `${header}\r\n${row(days[0]!)}\n${row(days[1]!)}\r\n` });
    const r = await runIngest(ctx, loadJob(configs, name, ctx.env), all);
    expect(r.counts).toEqual({ recordsIn: 5, out: 5, deduped: 0, quarantined: 0, filtered: 0 });
    expect(readdirSync(ctx.paths.tmp).filter((f) => f.startsWith('csv-'))).toEqual([]);
  });

  test('symbols that cannot name a partition: 300 characters, a NUL, a backslash (minute bars, a folder per symbol); a slash can', async () => {
    const bars = ['ticker;day;time;o;h;l;c;qty', 'aapl;2024/03/08;09:30;17000;17100;16900;17050;100'];
    const name = jobOver(
      {
        'bars.csv': [
          ...bars,
          `${'A'.repeat(300)};2024/03/08;09:31;17000;17100;16900;17050;100`,
          'J\x00J;2024/03/08;09:32;17000;17100;16900;17050;100',
          'a\\b;2024/03/08;09:33;17000;17100;16900;17050;100',
          '../x;2024/03/08;09:37;17000;17100;16900;17050;100',
          `${'B'.repeat(33)};2024/03/08;09:34;17000;17100;16900;17050;100`,
          'AAPL  240119C00190000;2024/03/08;09:35;17000;17100;16900;17050;100',
          'aapl;2024/03/08;09:36;17000;17100;16900;17050;100',
        ].join('\n'),
      },
      { transform: 'custom-minute', granularity: '1m' },
    );
    const r = await runIngest(ctx, loadJob(configs, name, ctx.env), all);
    expect(r.counts).toEqual({ recordsIn: 8, out: 4, deduped: 0, quarantined: 4, filtered: 0 });
    expect(await stored(name)).toEqual(['../X 2024-03-08T14:37', 'AAPL  240119C00190000 2024-03-08T14:35', 'AAPL 2024-03-08T14:30', 'AAPL 2024-03-08T14:36']);
    // A slash in a symbol (crypto pairs: BTC/USD) is encoded in its folder's name.
    expect(Object.keys(lakeHashes(ctx.paths.lake)).filter((f) => f.includes(`source=${name}/`) && f.includes('symbol=..'))).toEqual([
      `ohlcv/source=${name}/granularity=1m/symbol=..%2FX/month=2024-03`,
    ]);
    expect((await quarantined(r.batchIds)).map((q) => [q.record, q.rules, q.reason, q.symbol])).toEqual([
      [2, ['symbol_format'], `symbol_format: "${'A'.repeat(40)}…" is 300 characters long, over 32`, 'A'.repeat(300)],
      [3, ['symbol_format'], 'symbol_format: "J␀J" holds a control character', 'J␀J'],
      [4, ['symbol_format'], 'symbol_format: "A\\B" holds a backslash', 'A\\B'],
      [6, ['symbol_format'], `symbol_format: "${'B'.repeat(33)}" is 33 characters long, over 32`, 'B'.repeat(33)],
    ]);
  });
});

describe('item 10: a line too long or too wide is quarantined at once', () => {
  test('a 200 KB line of 100,000 fields, a 60 KB line of 30,000 fields and a 100 KB value', async () => {
    const fields = (n: number) => Array.from({ length: n }, () => '1').join(',');
    const long = `2023-01-05,10,11,9,10.5,10.4,${'9'.repeat(100_000)}`;
    const name = jobOver({ 'AAPL.csv': `${header}\n${row('2023-01-03')}\n${fields(100_000)}\n${fields(30_000)}\n${long}\n${row('2023-01-06')}\n` });
    const r = await runIngest(ctx, loadJob(configs, name, ctx.env), all);
    expect(r.counts).toEqual({ recordsIn: 5, out: 2, deduped: 0, quarantined: 3, filtered: 0 });
    expect((await quarantined(r.batchIds)).map((q) => [q.line, q.rules, q.reason])).toEqual([
      [3, ['parse'], 'LINE SIZE OVER MAXIMUM: 199999 bytes, over the limit of 65536'],
      [4, ['parse'], 'TOO MANY COLUMNS: 30000 fields where the header has 7'],
      [5, ['parse'], 'LINE SIZE OVER MAXIMUM: 100029 bytes, over the limit of 65536'],
    ]);
  });
});

describe('item 11: a file that is not CSV text is refused with exit 2, naming it', () => {
  const text = `${header}\n${row('2023-01-03')}\n`;
  const kinds: { name: string; file: string; bytes: Buffer; says: string }[] = [
    { name: 'binary', file: 'AAPL.csv', bytes: Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7919) % 251)), says: 'is not CSV text: binary data (' },
    { name: 'gzip not named .gz', file: 'AAPL.csv', bytes: gzipSync(text), says: 'is not CSV text: gzip-compressed data (a name ending in .gz has it read as such)' },
    { name: 'UTF-16', file: 'AAPL.csv', bytes: Buffer.from(`\uFEFF${text}`, 'utf16le'), says: 'is not CSV text: UTF-16 text (save it as UTF-8)' },
    { name: 'NUL-filled', file: 'AAPL.csv', bytes: Buffer.alloc(5000), says: 'is not CSV text: binary data (5000 control bytes, NUL among them, in its first line)' },
    { name: 'gzip cut short', file: 'AAPL.csv.gz', bytes: gzipSync(Buffer.from([header, ...Array.from({ length: 20_000 }, (_, i) => `2023-01-03,${i},${i},${i},${i},${i},${i}`)].join('\n'))).subarray(0, 2000), says: 'is cut short: its gzip data end before the stream does' },
  ];
  for (const k of kinds) {
    test(`${k.name}: in process`, async () => {
      const name = jobOver({ [k.file]: k.bytes, 'MSFT.csv': text });
      const err = await runIngest(ctx, loadJob(configs, name, ctx.env), all).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      const file = path.join(root, 'data', name, k.file);
      expect((err as InputError).message).toContain(`${file}: ${k.file} ${k.says}`);
      expect((err as InputError).exitCode).toBe(2);
      expect(await catalog.sql`select id from mdw.batch where job = ${name}`).toEqual([]);
    });
  }

  test('a header that names a column twice', async () => {
    const name = jobOver({ 'AAPL.csv': `Date,Open,High,Low,Close,Adj Close,Volume,close\n${row('2023-01-03')},1\n` });
    const err = await runIngest(ctx, loadJob(configs, name, ctx.env), all).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe(`${path.join(root, 'data', name, 'AAPL.csv')}: AAPL.csv names the column "close" twice in its header (columns 5 and 8): rename one`);
  });

  test('through bin/mdw: exit 2, one line naming the file, and the run ends failed with that exit code', async () => {
    const home = path.join(root, 'cli-home');
    const server = await freshCatalog();
    try {
      const env = { MDW_HOME: home, MDW_CONFIG_DIR: configs, MDW_DATABASE_URL: server.url };
      expect((await runMdw(['init', '--yes'], { env })).code).toBe(0);
      const results: [string, number, string[]][] = [];
      for (const k of kinds.slice(0, 4)) {
        const name = jobOver({ [k.file]: k.bytes });
        const r = await runMdw(['ingest', name], { env });
        results.push([k.name, r.code, r.stderr.split('\n').filter((l) => l.startsWith('mdw: ')).map((l) => l.replace(/ \(.*$/, ''))]);
        expect(r.stderr).not.toMatch(/^\s+at /m);
      }
      const file = (i: number) => path.join(root, 'data', `input-${jobs - 4 + i}`, 'AAPL.csv');
      expect(results).toEqual([
        ['binary', 2, [`mdw: ${file(0)}: AAPL.csv is not CSV text: binary data`]],
        ['gzip not named .gz', 2, [`mdw: ${file(1)}: AAPL.csv is not CSV text: gzip-compressed data`]],
        ['UTF-16', 2, [`mdw: ${file(2)}: AAPL.csv is not CSV text: UTF-16 text`]],
        ['NUL-filled', 2, [`mdw: ${file(3)}: AAPL.csv is not CSV text: binary data`]],
      ]);
      const cli = testContext({ home, databaseUrl: server.url, configDir: configs });
      try {
        const runs = await (await cli.catalog()).sql<{ status: string; exit_code: number }[]>`select status, exit_code from mdw.ingest_run order by started_at`;
        expect(runs.map((x) => [x.status, x.exit_code])).toEqual(kinds.slice(0, 4).map(() => ['failed', 2]));
      } finally {
        await cli.close();
      }
    } finally {
      await server.drop();
    }
  });
});
