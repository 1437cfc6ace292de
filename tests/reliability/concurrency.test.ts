import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { calendars } from '../../src/calendar/registry.js';
import { Warehouse } from '../../src/index.js';
import { cases } from '../support/reliability.js';
import { copyConfigs, freshCatalog, lakeContent, removeDir, runMdw, tempDir } from '../support/helpers.js';

/**
 * Runs of one job at once share its work, runs of two jobs each do theirs, and a reader never
 * fails while a writer replaces the partitions it reads: each write is a new version of a
 * partition file beside the one readers may have open.
 */
const server = Boolean(process.env.MDW_TEST_DATABASE_URL);
let root: string;
let configs: string;
const drops: (() => Promise<void>)[] = [];
const days = calendars.XNYS.sessions('2016-01-01', '2023-12-31').map((s) => s.date);
const symbols = 12;

/** 12 symbols of daily bars over 8 years; the variant changes every volume (a correction of every row). */
function writeData(dir: string, variant: number): void {
  mkdirSync(dir, { recursive: true });
  for (let k = 0; k < symbols; k++) {
    const lines = days.map((d, i) => {
      const p = (30 + k + Math.cos(i / 30) * 4).toFixed(2);
      return `${d},${p},${(Number(p) + 1).toFixed(2)},${(Number(p) - 1).toFixed(2)},${p},${p},${1000 * variant + ((i + k) % 700)}`;
    });
    writeFileSync(path.join(dir, `C${k}.csv`), ['Date,Open,High,Low,Close,Adj Close,Volume', ...lines].join('\n') + '\n');
  }
}

const job = (name: string, dir: string) =>
  writeFileSync(path.join(configs, 'jobs', `${name}.yml`), `dataset: ohlcv\ngranularity: 1d\ncalendar: XNYS\nsource: { name: ${name}, adapter: file, files: ['${dir}/*.csv'] }\ntransform: yahoo\n`);

beforeAll(() => {
  root = tempDir('mdw-conc-');
  configs = copyConfigs(root);
  writeData(path.join(root, 'same'), 1);
  job('same', path.join(root, 'same'));
  job('moving', path.join(root, 'moving'));
});

afterAll(async () => {
  for (const d of drops) await d();
  removeDir(root);
});

async function newHome(name: string): Promise<{ home: string; env: NodeJS.ProcessEnv }> {
  const { url, drop } = await freshCatalog();
  drops.push(drop);
  const home = path.join(root, name);
  const env = { MDW_CHUNK_MB: '1', ...(url ? { MDW_DATABASE_URL: url } : {}) };
  expect((await runMdw(['--home', home, 'init', '--yes'], { env })).code).toBe(0);
  return { home, env };
}

const ingest = (h: { home: string; env: NodeJS.ProcessEnv }, name: string) =>
  runMdw(['--home', h.home, '--config-dir', configs, '--lock-timeout', '600', 'ingest', name, '--format', 'json'], { env: h.env });

describe(`concurrent runs (${server ? 'Postgres server' : 'embedded catalog'})`, () => {
  test('four runs of one job at once store every row once; two jobs at once each store theirs', async () => {
    const clean = await newHome('clean');
    expect((await ingest(clean, 'same')).code).toBe(0);
    expect((await ingest(clean, 'demo')).code).toBe(0);
    const expected = await lakeContent(path.join(clean.home, 'lake'));

    const four = await newHome('four');
    const runs = await Promise.all([0, 1, 2, 3].map(() => ingest(four, 'same')));
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    const stored = runs.map((r) => (JSON.parse(r.stdout) as { stored: number }[])[0]!.stored);
    expect(stored.reduce((a, b) => a + b, 0)).toBe(symbols * days.length);
    const two = await Promise.all([ingest(four, 'demo'), ingest(four, 'same')]);
    expect(two.map((r) => r.code)).toEqual([0, 0]);
    expect(JSON.parse(two[0]!.stdout)[0]).toMatchObject({ stored: 746, quarantined: 5 });
    expect(JSON.parse(two[1]!.stdout)[0]).toMatchObject({ stored: 0 });
    expect(await lakeContent(path.join(four.home, 'lake'))).toEqual(expected);
    const keys = await runMdw(['--home', four.home, 'query', 'sql', 'select count(*) = count(distinct (source, symbol, ts)) as unique_keys, count(*) as n from ohlcv', '--format', 'csv'], { env: four.env });
    expect(keys.stdout).toBe(`unique_keys,n\ntrue,${symbols * days.length + 746}\n`);
  });

  test('readers never fail while every partition is rewritten again and again', async () => {
    const h = await newHome('readers');
    const dir = path.join(root, 'moving');
    writeData(dir, 1);
    expect((await ingest(h, 'moving')).code).toBe(0);
    const rows = symbols * days.length;
    let writing = true;
    const writes = cases(3, 12);
    const writer = (async () => {
      try {
        for (let i = 0; i < writes; i++) {
          // Every row's volume changes: each year's file gets a new version.
          writeData(dir, 2 + (i % 2));
          const r = await ingest(h, 'moving');
          expect(r.code).toBe(0);
          expect(JSON.parse(r.stdout)[0]).toMatchObject({ stored: rows });
        }
      } finally {
        writing = false;
      }
    })();
    const failures: string[] = [];
    let reads = 0;
    // In-process reads through the library, as a notebook makes them ...
    const library = (async () => {
      const wh = await Warehouse.open({ home: h.home, threads: 1 });
      try {
        while (writing) {
          try {
            const r = await wh.sql(`select count(*) as n from ohlcv where source = 'moving'`);
            const n = Number((r.columns[0] as BigInt64Array)[0]);
            if (n !== rows) failures.push(`library: ${n} rows`);
          } catch (err) {
            failures.push(`library: ${(err as Error).message.split('\n')[0]}`);
          }
          reads++;
        }
      } finally {
        wh.close();
      }
    })();
    // ... and through the command line, as a cron script or a pipe makes them.
    const cli = (async () => {
      while (writing) {
        const r = await runMdw(['--home', h.home, 'query', 'ohlcv', 'C3', '--source', 'moving', '--format', 'csv', '--columns', 'ts,volume'], { env: h.env });
        if (r.code !== 0) failures.push(`cli: exit ${r.code}: ${r.stderr.split('\n')[0]}`);
        else if (r.stdout.split('\n').filter(Boolean).length !== days.length + 1) failures.push(`cli: ${r.stdout.split('\n').length} lines`);
        reads++;
      }
    })();
    await Promise.all([writer, library, cli]);
    console.info(`reads during writes: ${reads} reads (library and command line) during ${writes} rewrites of every partition, ${failures.length} failed`);
    expect({ reads: reads > writes, failures }).toEqual({ reads: true, failures: [] });
  });
});
