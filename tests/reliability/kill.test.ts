import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { calendars } from '../../src/calendar/registry.js';
import { currentFilesUnder } from '../../src/lake/partition-files.js';
import { cases, mdwKilledAfter, seeded } from '../support/reliability.js';
import { copyConfigs, freshCatalog, lakeContent, removeDir, runMdw, tempDir } from '../support/helpers.js';

/**
 * A chunked ingest killed (SIGKILL) at random moments and run again ends with the lake and the
 * catalog an uninterrupted run gives: the same rows, no key twice, every file the manifest
 * names and no other, each with its hash, no temporary or orphan file, the same quarantine,
 * and a further run writes nothing.
 */
const server = Boolean(process.env.MDW_TEST_DATABASE_URL);
let root: string;
let configs: string;
const drops: (() => Promise<void>)[] = [];

/** 24 symbols of daily bars over 12 years, with a few bad rows: about 3 MB, 4 chunks of 1 MB. */
function writeData(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const days = calendars.XNYS.sessions('2012-01-01', '2023-12-31').map((s) => s.date);
  for (let k = 0; k < 24; k++) {
    const sym = `S${String(k).padStart(2, '0')}`;
    const lines = days.map((d, i) => {
      const p = (20 + k + Math.sin(i / 40) * 5).toFixed(2);
      // Every 500th row has its high below its low: quarantined by ohlc_bracket.
      const high = i % 500 === 7 ? (Number(p) - 3).toFixed(2) : (Number(p) + 1).toFixed(2);
      return `${d},${p},${high},${(Number(p) - 1).toFixed(2)},${p},${p},${1000 + ((i * 7 + k) % 900)}`;
    });
    writeFileSync(path.join(dir, `${sym}.csv`), ['Date,Open,High,Low,Close,Adj Close,Volume', ...lines].join('\n') + '\n');
  }
}

beforeAll(() => {
  root = tempDir('mdw-kill-');
  configs = copyConfigs(root);
  writeData(path.join(root, 'data'));
  writeFileSync(
    path.join(configs, 'jobs', 'many.yml'),
    `dataset: ohlcv\ngranularity: 1d\ncalendar: XNYS\nsource: { name: many, adapter: file, files: ['${root}/data/*.csv'] }\ntransform: yahoo\n`,
  );
});

afterAll(async () => {
  for (const d of drops) await d();
  removeDir(root);
});

interface Home {
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
}

async function newHome(name: string): Promise<Home> {
  const { url, drop } = await freshCatalog();
  drops.push(drop);
  const home = path.join(root, name);
  // Small chunks, so a run commits several batches and a kill can fall between any two.
  const env = { MDW_CHUNK_MB: '1', ...(url ? { MDW_DATABASE_URL: url } : {}) };
  expect((await runMdw(['--home', home, 'init', '--yes'], { env })).code).toBe(0);
  return { home, env };
}

const ingest = (h: Home, ...extra: string[]) => runMdw(['--home', h.home, '--config-dir', configs, '--lock-timeout', '300', 'ingest', 'many', '--format', 'json', ...extra], { env: h.env });

/** Starts an ingest and kills it after `ms`; resolves when it is gone. */
function killedAfter(h: Home, ms: number): Promise<void> {
  return mdwKilledAfter(['--home', h.home, '--config-dir', configs, 'ingest', 'many'], h.env, ms);
}

/** What must hold of a warehouse after its runs: read through the CLI and the files. */
async function state(h: Home) {
  const sql = async (q: string) => (await runMdw(['--home', h.home, 'query', 'sql', q, '--format', 'csv'], { env: h.env })).stdout;
  const audit = await runMdw(['--home', h.home, '--config-dir', configs, 'audit', 'many', '--section', 'integrity', '--format', 'json'], { env: h.env });
  const quarantine = await runMdw(['--home', h.home, '--config-dir', configs, 'quarantine', 'list', 'many', '--format', 'csv', '--all'], { env: h.env });
  const qdir = path.join(h.home, 'quarantine', 'ohlcv', 'source=many');
  let qfiles: string[] = [];
  try {
    qfiles = readdirSync(qdir);
  } catch {
    qfiles = [];
  }
  const ndjsonLines = qfiles.filter((f) => f.endsWith('.ndjson')).reduce((n, f) => n + readFileSync(path.join(qdir, f), 'utf8').split('\n').filter(Boolean).length, 0);
  return {
    rows: await sql('select count(*) as n, count(distinct (symbol, ts)) as keys from ohlcv'),
    content: await lakeContent(path.join(h.home, 'lake', 'ohlcv')),
    integrity: JSON.parse(audit.stdout || '[]') as unknown[],
    quarantined: quarantine.stdout.split('\n').filter(Boolean).length - 1,
    quarantineFiles: { temps: qfiles.filter((f) => f.startsWith('.')).length, lines: ndjsonLines },
    currentFiles: currentFilesUnder(path.join(h.home, 'lake', 'ohlcv')).length,
  };
}

describe(`an ingest killed at random moments (${server ? 'Postgres server' : 'embedded catalog'})`, () => {
  // The uninterrupted run every killed one must end as. Each kill is a test of its own, so a
  // loaded machine that runs each CLI call several times slower never meets one test's timeout
  // with all of them.
  let expected: Awaited<ReturnType<typeof state>>;
  let duration = 0;
  const random = seeded(20261203);
  const moments = Array.from({ length: cases(3, 20) }, () => random());

  beforeAll(async () => {
    const clean = await newHome('clean');
    const started = Date.now();
    const first = await ingest(clean);
    duration = Date.now() - started;
    expect(first.code).toBe(0);
    expected = await state(clean);
  });

  test('the uninterrupted run stores its rows, quarantines the bad ones and passes integrity', () => {
    expect(expected.integrity).toEqual([]);
    expect(expected.quarantined).toBeGreaterThan(0);
    expect(expected.quarantineFiles.lines).toBe(expected.quarantined);
    expect(expected.currentFiles).toBeGreaterThan(0);
  });

  test.each(moments.map((m, i) => [i, m]))('kill %i: the rerun ends with the lake and catalog of the uninterrupted run, and a further run writes nothing', async (i, moment) => {
    const h = await newHome(`killed-${i}`);
    // Anywhere from start-up to the end of a run this long.
    const at = Math.round(moment * duration * 1.1);
    await killedAfter(h, at);
    const rerun = await ingest(h);
    expect(rerun.code).toBe(0);
    const got = await state(h);
    expect({ at, ...got }).toEqual({ at, ...expected });
    const again = await ingest(h);
    expect(JSON.parse(again.stdout)[0]).toMatchObject({ stored: 0, partitions_written: 0 });
  });
});
