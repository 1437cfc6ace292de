import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { calendars } from '../../src/calendar/registry.js';
import { DuckSession } from '../../src/lake/duckdb.js';
import { currentFilesUnder } from '../../src/lake/partition-files.js';
import { cases, mdwKilledAfter, seeded } from '../support/reliability.js';
import { copyConfigs, freshCatalog, lakeContent, removeDir, runMdw, tempDir } from '../support/helpers.js';

/**
 * `mdw retention --compact` killed (SIGKILL) at random moments while it merges day partitions
 * into months: right after the kill, before anything runs again, the files readers open hold
 * every bar exactly once; a rerun ends as an uninterrupted run (the same partitions with the
 * same rows, a clean integrity audit), and a further run changes nothing. The data are minute
 * bars of four symbols over February and March 2024, stored by day (this test's datasets.yml).
 */
const server = Boolean(process.env.MDW_TEST_DATABASE_URL);
let root: string;
let configs: string;
let duck: DuckSession;
const drops: (() => Promise<void>)[] = [];
const symbols = ['AAA', 'BBB', 'CCC', 'DDD'];

function writeData(): void {
  const sessions = calendars.XNYS.sessions('2024-02-01', '2024-03-28');
  const lines = ['ticker;day;time;o;h;l;c;qty'];
  for (const sym of symbols) {
    sessions.forEach((s, d) => {
      for (let i = 0; i < 390; i++) {
        const m = 9 * 60 + 30 + i;
        const o = 5000 + d * 3 + (i % 11);
        lines.push(`${sym};${s.date.replaceAll('-', '/')};${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')};${o};${o + 3};${o - 3};${o + 1};${100 + (i % 40)}`);
      }
    });
  }
  mkdirSync(path.join(root, 'data'), { recursive: true });
  writeFileSync(path.join(root, 'data', 'minutes.csv'), lines.join('\n') + '\n');
  writeFileSync(
    path.join(configs, 'jobs', 'packed.yml'),
    `dataset: ohlcv\ngranularity: 1m\ncalendar: XNYS\nsource: { name: packed, adapter: file, files: ['${root}/data/minutes.csv'] }\ntransform: custom-minute\n`,
  );
  // Minute bars by symbol and day, as second bars are by default.
  const grain = path.join(configs, 'datasets.yml');
  const text = readFileSync(grain, 'utf8');
  expect(text).toContain('      - granularities: [1s, 5s, 10s, 15s, 30s]\n');
  writeFileSync(grain, text.replace('      - granularities: [1s, 5s, 10s, 15s, 30s]\n', '      - granularities: [1s, 5s, 10s, 15s, 30s, 1m]\n'));
  writeFileSync(path.join(root, 'retention.yml'), 'policies: []\n');
}

beforeAll(async () => {
  root = tempDir('mdw-compact-kill-');
  configs = copyConfigs(root);
  writeData();
  duck = await DuckSession.open({ threads: 1 });
});

afterAll(async () => {
  duck.close();
  for (const d of drops) await d();
  removeDir(root);
});

interface Home {
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
}

async function loadedHome(name: string): Promise<Home> {
  const { url, drop } = await freshCatalog();
  drops.push(drop);
  const home = path.join(root, name);
  const env = url ? { MDW_DATABASE_URL: url } : {};
  expect((await runMdw(['--home', home, 'init', '--yes'], { env })).code).toBe(0);
  expect((await runMdw(['--home', home, '--config-dir', configs, 'ingest', 'packed'], { env })).code).toBe(0);
  return { home, env };
}

const args = (h: Home) => ['--home', h.home, '--config-dir', configs, '--lock-timeout', '300', 'retention', '--compact', '--config', path.join(root, 'retention.yml')];
const compact = (h: Home) => runMdw([...args(h), '--format', 'csv'], { env: h.env });

function killedAfter(h: Home, ms: number): Promise<void> {
  return mdwKilledAfter(args(h), h.env, ms);
}

/** What readers see: bars per symbol and date of the files they open, and how many distinct keys. */
async function readerView(h: Home): Promise<{ byDate: Record<string, number>; rows: number; keys: number }> {
  const files = currentFilesUnder(path.join(h.home, 'lake', 'ohlcv'));
  const list = `[${files.map((f) => `'${f}'`).join(', ')}]`;
  const rows = await duck.all<{ k: string; n: number }>(
    `SELECT symbol || ' ' || strftime(ts, '%Y-%m-%d') AS k, count(*) AS n FROM read_parquet(${list}, hive_partitioning = false) GROUP BY ALL ORDER BY ALL`,
  );
  const [t] = await duck.all<{ n: number; k: number }>(`SELECT count(*) AS n, count(DISTINCT (symbol, ts)) AS k FROM read_parquet(${list}, hive_partitioning = false)`);
  return { byDate: Object.fromEntries(rows.map((r) => [r.k, Number(r.n)])), rows: Number(t!.n), keys: Number(t!.k) };
}

async function state(h: Home) {
  const audit = await runMdw(['--home', h.home, '--config-dir', configs, 'audit', 'packed', '--section', 'integrity', '--format', 'json'], { env: h.env });
  return {
    lake: await lakeContent(path.join(h.home, 'lake', 'ohlcv')),
    integrity: JSON.parse(audit.stdout || '[]') as unknown[],
  };
}

describe(`mdw retention --compact killed at random moments (${server ? 'Postgres server' : 'embedded catalog'})`, () => {
  // The uninterrupted run every killed one must end as. Each kill is a test of its own, so a
  // loaded machine that runs each CLI call several times slower never meets one test's timeout
  // with all of them.
  let original: Awaited<ReturnType<typeof readerView>>;
  let expected: Awaited<ReturnType<typeof state>>;
  let firstPlan: string[] = [];
  let afterMerge: Awaited<ReturnType<typeof readerView>>;
  let duration = 0;
  const random = seeded(20261204);
  const moments = Array.from({ length: cases(3, 12) }, () => random());

  beforeAll(async () => {
    const clean = await loadedHome('clean');
    original = await readerView(clean);
    const started = Date.now();
    const first = await compact(clean);
    duration = Date.now() - started;
    expect(first.code).toBe(0);
    firstPlan = first.stdout.trim().split('\n').slice(1).map((l) => l.split(',').slice(4, 8).join(','));
    expected = await state(clean);
    afterMerge = await readerView(clean);
  });

  test('the uninterrupted run merges the days into months, readers see the same bars, the audit is clean', () => {
    expect(original.rows).toBe(symbols.length * 40 * 390);
    expect(original.keys).toBe(original.rows);
    expect(firstPlan).toEqual([`merge,,${symbols.length * 40},${original.rows}`]);
    expect(expected.integrity).toEqual([]);
    expect(Object.keys(expected.lake).sort()).toEqual(
      symbols.flatMap((s) => [`source=packed/granularity=1m/symbol=${s}/month=2024-02`, `source=packed/granularity=1m/symbol=${s}/month=2024-03`]),
    );
    expect(afterMerge).toEqual(original);
  });

  test.each(moments.map((m, i) => [i, m]))('kill %i: readers see every bar once right after it; the rerun ends as the uninterrupted run with a clean audit; a further run does nothing', async (i, moment) => {
    const h = await loadedHome(`killed-${i}`);
    const at = Math.round(moment * duration * 1.1);
    await killedAfter(h, at);
    // Whatever the moment, the lake as readers resolve it holds each bar once.
    expect({ at, view: await readerView(h) }).toEqual({ at, view: original });
    const rerun = await compact(h);
    expect({ at, code: rerun.code, stderr: rerun.code === 0 ? '' : rerun.stderr }).toEqual({ at, code: 0, stderr: '' });
    expect({ at, ...(await state(h)) }).toEqual({ at, ...expected });
    expect(await readerView(h)).toEqual(original);
    const again = await compact(h);
    expect(again.stdout.trim().split('\n')).toHaveLength(1);
  });
});
