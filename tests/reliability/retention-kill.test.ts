import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { addDays } from '../../src/calendar/calendar.js';
import { calendars } from '../../src/calendar/registry.js';
import { DuckSession } from '../../src/lake/duckdb.js';
import { currentFilesUnder } from '../../src/lake/partition-files.js';
import { cases, mdwKilledAfter, seeded } from '../support/reliability.js';
import { copyConfigs, freshCatalog, lakeContent, removeDir, runMdw, tempDir } from '../support/helpers.js';

/**
 * `mdw retention` killed (SIGKILL) at random moments and run again ends as an uninterrupted run
 * does: the same rows in the lake, exactly the rows that left it in the trash, the same
 * tombstones, no file the manifest names missing, no orphan or leftover; and a further run
 * changes nothing. The data are minute bars of the sessions of the last 45 days, and the policy
 * keeps 20 days, so a month retires whole and one straddles the cut whatever today is.
 */
const server = Boolean(process.env.MDW_TEST_DATABASE_URL);
let root: string;
let configs: string;
let duck: DuckSession;
const drops: (() => Promise<void>)[] = [];
const symbols = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF'];

function writeData(): void {
  const today = new Date().toISOString().slice(0, 10);
  const sessions = calendars.XNYS.sessions(addDays(today, -45), addDays(today, -1));
  const lines = ['ticker;day;time;o;h;l;c;qty'];
  for (const sym of symbols) {
    sessions.forEach((s, d) => {
      // Whole regular sessions (an early close has fewer minutes).
      const minutes = Math.round((s.close.getTime() - s.open.getTime()) / 60000);
      for (let i = 0; i < minutes; i++) {
        const m = 9 * 60 + 30 + i;
        const o = 5000 + d * 3 + (i % 11);
        lines.push(`${sym};${s.date.replaceAll('-', '/')};${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')};${o};${o + 3};${o - 3};${o + 1};${100 + (i % 40)}`);
      }
    });
  }
  mkdirSync(path.join(root, 'data'), { recursive: true });
  writeFileSync(path.join(root, 'data', 'minutes.csv'), lines.join('\n') + '\n');
  writeFileSync(
    path.join(configs, 'jobs', 'kept.yml'),
    `dataset: ohlcv\ngranularity: 1m\ncalendar: XNYS\nsource: { name: kept, adapter: file, files: ['${root}/data/minutes.csv'] }\ntransform: custom-minute\n`,
  );
  writeFileSync(path.join(root, 'retention.yml'), 'policies:\n  - name: twenty-days\n    dataset: ohlcv\n    source: kept\n    keep: { days: 20 }\n    then: delete\n');
}

beforeAll(async () => {
  root = tempDir('mdw-retention-kill-');
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
  expect((await runMdw(['--home', home, '--config-dir', configs, 'ingest', 'kept'], { env })).code).toBe(0);
  return { home, env };
}

const retention = (h: Home) =>
  runMdw(['--home', h.home, '--config-dir', configs, '--lock-timeout', '300', 'retention', '--config', path.join(root, 'retention.yml'), '--format', 'csv'], { env: h.env });

function killedAfter(h: Home, ms: number): Promise<void> {
  return mdwKilledAfter(['--home', h.home, '--config-dir', configs, 'retention', '--config', path.join(root, 'retention.yml')], h.env, ms);
}

/** Rows per symbol and date: of each partition's current file in a lake, or of every Parquet file under the trash. */
async function rowsUnder(dir: string): Promise<Record<string, number>> {
  const files: string[] = [];
  if (dir.endsWith('lake')) files.push(...currentFilesUnder(path.join(dir, 'ohlcv')));
  else walk(dir);
  function walk(d: string): void {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith('.parquet')) files.push(path.join(d, e.name));
    }
  }
  if (files.length === 0) return {};
  const rows = await duck.all<{ k: string; n: number }>(
    `SELECT symbol || ' ' || strftime(ts, '%Y-%m-%d') AS k, count(*) AS n FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}], hive_partitioning = false) GROUP BY ALL ORDER BY ALL`,
  );
  return Object.fromEntries(rows.map((r) => [r.k, Number(r.n)]));
}

async function state(h: Home) {
  const audit = await runMdw(['--home', h.home, '--config-dir', configs, 'audit', 'kept', '--section', 'integrity', '--format', 'json'], { env: h.env });
  const list = await runMdw(['--home', h.home, 'retention', 'list', '--format', 'csv'], { env: h.env });
  return {
    lake: await lakeContent(path.join(h.home, 'lake', 'ohlcv')),
    trash: await rowsUnder(path.join(h.home, 'trash')),
    tombstones: list.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',').slice(0, 8).join(','))
      .sort(),
    integrity: JSON.parse(audit.stdout || '[]') as unknown[],
  };
}

describe(`mdw retention killed at random moments (${server ? 'Postgres server' : 'embedded catalog'})`, () => {
  // The uninterrupted run every killed one must end as. Each kill is a test of its own, so a
  // loaded machine that runs each CLI call several times slower never meets one test's timeout
  // with all of them.
  let expected: Awaited<ReturnType<typeof state>>;
  let original: Awaited<ReturnType<typeof rowsUnder>>;
  let kept: Awaited<ReturnType<typeof rowsUnder>>;
  let duration = 0;
  const random = seeded(20261215);
  const moments = Array.from({ length: cases(3, 12) }, () => random());

  beforeAll(async () => {
    const clean = await loadedHome('clean');
    original = await rowsUnder(path.join(clean.home, 'lake'));
    const started = Date.now();
    const first = await retention(clean);
    duration = Date.now() - started;
    expect(first.code).toBe(0);
    expected = await state(clean);
    kept = await rowsUnder(path.join(clean.home, 'lake'));
  });

  test('the uninterrupted run retires partitions into the trash, row for row, with a clean audit', () => {
    expect(expected.integrity).toEqual([]);
    // Nothing lost: what left the lake is in the trash, row for row.
    const merged: Record<string, number> = { ...kept };
    for (const [k, n] of Object.entries(expected.trash)) merged[k] = (merged[k] ?? 0) + n;
    expect(merged).toEqual(original);
    expect(Object.keys(expected.trash).length).toBeGreaterThan(0);
    expect(expected.tombstones.length).toBeGreaterThan(symbols.length);
  });

  test.each(moments.map((m, i) => [i, m]))('kill %i: the rerun ends as the uninterrupted run (same lake, trash, tombstones, a clean audit) and a further run plans nothing', async (i, moment) => {
    const h = await loadedHome(`killed-${i}`);
    const at = Math.round(moment * duration * 1.1);
    await killedAfter(h, at);
    const rerun = await retention(h);
    expect({ at, code: rerun.code, stderr: rerun.code === 0 ? '' : rerun.stderr }).toEqual({ at, code: 0, stderr: '' });
    const got = await state(h);
    expect({ at, ...got }).toEqual({ at, ...expected });
    const again = await retention(h);
    expect(again.stdout.trim().split('\n')).toHaveLength(1);
  });
});
