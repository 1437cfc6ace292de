import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Catalog } from '../../src/catalog/catalog.js';
import { calendars } from '../../src/calendar/registry.js';
import { auditSeries } from '../../src/audit/run-audit.js';
import { loadJob } from '../../src/config/jobs.js';
import type { Context } from '../../src/context.js';
import { runIngest, type IngestOptions } from '../../src/pipeline/run-ingest.js';
import { spawnSync } from 'node:child_process';
import { copyConfigs, freshCatalog, removeDir, repoRoot, runMdw, tempDir, testContext } from '../support/helpers.js';
import { screen } from '../support/terminal.js';

/**
 * `mdw audit` on series whose holes, splits, damage and disagreements are planted, so every
 * finding is known in advance: RED where sessions were deleted by hand, AMBER where minutes are
 * missing, integrity problems for a changed, a deleted and an unknown file, a flagged gap at a
 * split, and a close that differs between two sources.
 */
const all: IngestOptions = { window: { from: null, toExclusive: null }, symbols: null, dryRun: false, runId: null };

let root: string;
let configs: string;
let ctx: Context;
let catalog: Catalog;
let url: string | undefined;
let drop: () => Promise<void>;

beforeAll(async () => {
  root = tempDir();
  configs = copyConfigs(root);
  const target = await freshCatalog();
  ({ url, drop } = target);
  ctx = testContext({ home: path.join(root, 'home'), databaseUrl: url, configDir: configs });
  catalog = await ctx.catalog();
  mkdirSync(path.join(ctx.settings.home, 'lake'), { recursive: true });
});

afterAll(async () => {
  await ctx.close();
  await drop();
  removeDir(root);
});

const mdw = async (...args: string[]) => {
  // The CLI opens the catalog itself: this process lets go of the embedded one, and opens it again after.
  await ctx.close();
  const r = await runMdw(['--home', ctx.settings.home, '--config-dir', configs, ...args], { env: url ? { MDW_DATABASE_URL: url } : {} });
  ctx = testContext({ home: ctx.settings.home, databaseUrl: url, configDir: configs });
  catalog = await ctx.catalog();
  return r;
};

/** One bar per XNYS session of [from, to] in Yahoo layout; a 4:1 split on `split` when given. */
function writeDaily(name: string, symbol: string, from: string, to: string, options: { split?: string; close?: (day: string) => number } = {}): string {
  const dir = path.join(root, 'data', name);
  mkdirSync(dir, { recursive: true });
  const lines = calendars.XNYS.sessions(from, to).map((s, i) => {
    const base = options.close?.(s.date) ?? (options.split && s.date >= options.split ? 25 : 100) + (i % 5) * 0.1;
    return `${s.date},${base},${base + 1},${base - 1},${base},${base},${1000 + (i % 7)}`;
  });
  writeFileSync(path.join(dir, `${symbol}.csv`), ['Date,Open,High,Low,Close,Adj Close,Volume', ...lines].join('\n') + '\n');
  writeFileSync(
    path.join(configs, 'jobs', `${name}.yml`),
    `dataset: ohlcv\ngranularity: 1d\ncalendar: XNYS\nsource: { name: ${name}, adapter: file, files: ['${dir}/*.csv'] }\ntransform: yahoo\n`,
  );
  return name;
}

describe('completeness, gaps and staleness', () => {
  test('a complete series is GREEN with its split flagged; sessions deleted by hand turn RED in the ledger', async () => {
    const job = loadJob(configs, writeDaily('split', 'SPLT', '2024-01-02', '2024-12-31', { split: '2024-06-10' }), ctx.env);
    await runIngest(ctx, job, all);
    const clean = (await auditSeries(ctx, job, { tolerance: 0.005 }))!;
    expect(clean.ledger).toEqual([{ symbol: 'SPLT', firstSession: '2024-01-02', lastSession: '2024-12-31', status: 'GREEN', sessions: 252, expectedBars: 252, presentBars: 252, quarantined: 0 }]);
    expect(clean.integrity).toEqual([]);
    expect(clean.gaps).toEqual([{ symbol: 'SPLT', ts: '2024-06-10T00:00:00Z', previousClose: 100.4, open: 25, move: -0.751 }]);
    expect(clean.quality).toMatchObject({ rows: 252, scored: 252, validated: 251, flags: { gap: 1 } });
    // The fixed clock is 2026-11-22 12:00Z: the last ended session is Friday 2026-11-20.
    expect(clean.staleness).toEqual([{ symbol: 'SPLT', lastTs: '2024-12-31T00:00:00Z', expectedSession: '2026-11-20', lagSessions: 474, lagHours: 16596 }]);
    expect(clean.heatmap!.cells[0]!.map((c) => c!.status[0]).join('')).toBe('GGGGGGGGGGGG');

    // Delete three sessions from the partition file by hand, as an operator with DuckDB would.
    const file = path.join(ctx.paths.lake, 'ohlcv/source=split/granularity=1d/year=2024/data-000001.parquet');
    const duck = await ctx.duck();
    await duck.run(
      `COPY (SELECT * FROM read_parquet('${file}') WHERE ts NOT IN ('2024-03-05', '2024-03-06', '2024-08-01') ORDER BY symbol, ts) TO '${file}.new' (FORMAT PARQUET)`,
    );
    writeFileSync(file, readFileSync(`${file}.new`));
    rmSync(`${file}.new`);
    const holed = (await auditSeries(ctx, job, { tolerance: 0.005 }))!;
    expect(holed.ledger.map((r) => [r.status, r.firstSession, r.lastSession, r.sessions])).toEqual([
      ['GREEN', '2024-01-02', '2024-03-04', 43],
      ['RED', '2024-03-05', '2024-03-06', 2],
      ['GREEN', '2024-03-07', '2024-07-31', 101],
      ['RED', '2024-08-01', '2024-08-01', 1],
      ['GREEN', '2024-08-02', '2024-12-31', 105],
    ]);
    expect(holed.integrity.map((p) => [p.uri, p.problem])).toEqual([['ohlcv/source=split/granularity=1d/year=2024/data-000001.parquet', 'hash_mismatch']]);
    expect(holed.integrity[0]!.detail).toMatch(/ \(\d+ bytes, 249 rows\), the manifest has [0-9a-f]{12}\.\.\. \(\d+ bytes, 252 rows\)$/);
    expect(holed.heatmap!.cells[0]!.map((c) => c!.status[0]).join('')).toBe('GGAGGGGAGGGG');
    // The ledger is kept in the catalog.
    const ledger = await catalog.sql<{ status: string; first: string; sessions: number }[]>`
      select status, to_char(first_session, 'YYYY-MM-DD') as first, sessions from mdw.completeness c
      join mdw.data_source s on s.id = c.source_id where s.name = 'split' and status <> 'GREEN' order by first_session`;
    expect(ledger).toEqual([
      { status: 'RED', first: '2024-03-05', sessions: 2 },
      { status: 'RED', first: '2024-08-01', sessions: 1 },
    ]);

    const cron = await mdw('audit', 'split', '--fail-on', 'red', '--format', 'csv', '--section', 'ledger');
    expect(cron.code).toBe(1);
    expect(cron.stdout.split('\n').filter((l) => l.includes(',RED,'))).toEqual(['split,split,SPLT,RED,2024-03-05,2024-03-06,2,2,0,0', 'split,split,SPLT,RED,2024-08-01,2024-08-01,1,1,0,0']);
    expect(cron.stderr).toBe('mdw: audit: split: 3 RED sessions (missing), first SPLT 2024-03-05\n');
    const lenient = await mdw('audit', 'split', '--fail-on', 'disagreement', '--format', 'csv');
    expect(lenient.code).toBe(0);
  });

  test('minute bars: a session missing minutes is AMBER, early closes expect fewer bars', async () => {
    const dir = path.join(root, 'data', 'minutes');
    mkdirSync(dir, { recursive: true });
    const lines: string[] = [];
    // 2024-07-03 closes at 13:00 New York (210 bars), 2024-07-05 is a full day (390), one minute missing.
    for (const [day, minutes] of [['2024/07/03', 210], ['2024/07/05', 390]] as const) {
      for (let m = 0; m < minutes; m++) {
        if (day === '2024/07/05' && m === 100) continue;
        const t = 9 * 60 + 30 + m;
        lines.push(`acme;${day};${String(Math.floor(t / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')};1000;1001;999;1000;10`);
      }
    }
    writeFileSync(path.join(dir, 'bars.csv'), ['ticker;day;time;o;h;l;c;qty', ...lines].join('\n') + '\n');
    writeFileSync(
      path.join(configs, 'jobs', 'minutes.yml'),
      `dataset: ohlcv\ngranularity: 1m\ncalendar: XNYS\nsource: { name: minutes, adapter: file, files: ['${dir}/bars.csv'] }\ntransform: custom-minute\n`,
    );
    const job = loadJob(configs, 'minutes', ctx.env);
    await runIngest(ctx, job, all);
    const a = (await auditSeries(ctx, job, { tolerance: 0.005 }))!;
    expect(a.ledger).toEqual([
      { symbol: 'ACME', firstSession: '2024-07-03', lastSession: '2024-07-03', status: 'GREEN', sessions: 1, expectedBars: 210, presentBars: 210, quarantined: 0 },
      { symbol: 'ACME', firstSession: '2024-07-05', lastSession: '2024-07-05', status: 'AMBER', sessions: 1, expectedBars: 390, presentBars: 389, quarantined: 0 },
    ]);
    expect(a.heatmap).toMatchObject({ rows: ['ACME'], columns: ['2024-07'], unit: 'bars' });
    expect(a.heatmap!.cells[0]![0]).toEqual({ status: 'AMBER', ratio: 599 / 600, expected: 600, present: 599 });
  });
});

describe('integrity and agreement', () => {
  test('a corrupted, a deleted and an unknown file are reported, and --fail-on integrity exits 1', async () => {
    const job = loadJob(configs, writeDaily('damage', 'DMG', '2021-01-04', '2023-12-29'), ctx.env);
    await runIngest(ctx, job, all);
    const base = path.join(ctx.paths.lake, 'ohlcv/source=damage/granularity=1d');
    appendFileSync(path.join(base, 'year=2021/data-000001.parquet'), 'garbage');
    rmSync(path.join(base, 'year=2022/data-000001.parquet'));
    mkdirSync(path.join(base, 'year=2030'), { recursive: true });
    writeFileSync(path.join(base, 'year=2030/data.parquet'), 'not a parquet file');
    const a = (await auditSeries(ctx, job, { tolerance: 0.005 }))!;
    expect(a.integrity.map((p) => [p.uri.replace('ohlcv/source=damage/granularity=1d/', ''), p.problem])).toEqual([
      ['year=2022/data-000001.parquet', 'missing'],
      ['year=2021/data-000001.parquet', 'unreadable'],
      ['year=2030/data.parquet', 'orphan'],
    ]);
    // Only 2023 can be read: the audit judges what a query would see.
    expect(a.ledger.map((r) => [r.status, r.firstSession, r.lastSession])).toEqual([['GREEN', '2023-01-03', '2023-12-29']]);

    const r = await mdw('audit', 'damage', '--fail-on', 'integrity', '--section', 'integrity', '--format', 'json');
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as { problem: string }[]).map((p) => p.problem)).toEqual(['missing', 'unreadable', 'orphan']);
    expect(r.stderr).toBe('mdw: audit: damage: 3 integrity problems, first missing ohlcv/source=damage/granularity=1d/year=2022/data-000001.parquet\n');
  });

  test('closes of two sources for one symbol and session that differ beyond the tolerance are listed', async () => {
    const a = loadJob(configs, writeDaily('left', 'BOTH', '2024-02-01', '2024-02-29', { close: () => 50 }), ctx.env);
    const b = loadJob(configs, writeDaily('right', 'BOTH', '2024-02-01', '2024-02-29', { close: (d) => (d === '2024-02-15' ? 51 : d === '2024-02-20' ? 50.2 : 50) }), ctx.env);
    await runIngest(ctx, a, all);
    await runIngest(ctx, b, all);
    const audit = (await auditSeries(ctx, a, { tolerance: 0.005 }))!;
    expect(audit.compared).toBe(20);
    // 50.2 is 0.4% off: within the tolerance.
    expect(audit.disagreements).toEqual([{ symbol: 'BOTH', ts: '2024-02-15T00:00:00Z', source: 'left', close: 50, otherSource: 'right', otherClose: 51, difference: 0.0196, basis: 'stored' }]);
    const tight = (await auditSeries(ctx, a, { tolerance: 0.001 }))!;
    expect(tight.disagreements.map((d) => d.ts)).toEqual(['2024-02-15T00:00:00Z', '2024-02-20T00:00:00Z']);
  });

  test('the heatmap is drawn as html, svg and png, and the terminal report lists what needs attention', async () => {
    const html = await mdw('audit', 'split', 'left', '--format', 'html');
    expect(html.code).toBe(0);
    expect(html.stdout).toMatch(/^<!doctype html>/);
    expect(html.stdout.match(/<svg /g)!.length).toBe(2);
    const png = path.join(root, 'split.png');
    const p = await mdw('audit', 'split', '--format', 'png', '--out', png);
    expect(p.code).toBe(0);
    expect(readFileSync(png).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    const report = await mdw('audit', 'split', '--format', 'table');
    expect(report.stdout).toContain('SPLT GGAGGGGAGGGG\n');
    expect(report.stdout).toMatch(/Missing or partial sessions\n[^]*│ split +│ split +│ SPLT +│ RED +│ 2024-03-05 +│ 2024-03-06 +│ 2 /);
    expect(report.stdout).toMatch(/Integrity problems\n[^]*│ hash_mismatch +│/);
    expect(report.stdout).toMatch(/Flagged gaps \(possible split or halt\)\n[^]*│ SPLT +│ 2024-06-10T00:00:00Z +│ 100.4 +│ 25 +│ -75.1 +│/);
    const summary = await mdw('audit', 'split', '--format', 'csv');
    expect(summary.stdout.split('\n')[1]).toBe('split,split,1d,XNYS,1,249,1,252,249,0,3,0,98.81,1,1,99.6,1,1,0,0');
  });

  test('a picture asked for wrongly is refused with exit 2 before the audit runs, not after', async () => {
    const refused = async (args: string[], message: string) => {
      // -v prints each step of the audit as it starts: a refusal before the work prints none.
      const r = await mdw('-v', 'audit', ...args);
      expect([r.code, r.stderr.split('\n').filter((l) => /audit \S+: (checking|completeness)/.test(l))]).toEqual([2, []]);
      expect(r.stderr.endsWith(`mdw: ${message}\n`)).toBe(true);
      expect(r.stdout).toBe('');
    };
    const oneJob = (f: string) => `--format ${f} draws one series: name one job (mdw audit demo --format ${f} --out demo.${f}), or use --format html for several`;
    await refused(['--format', 'svg'], oneJob('svg'));
    await refused(['split', 'left', '--format', 'png', '--out', path.join(root, 'two.png')], oneJob('png'));
    await refused(['split', '--format', 'csv', '--out', path.join(root, 'summary.csv')], '--out is for --format html, svg or png; other formats go to stdout (redirect it with >)');
    writeFileSync(path.join(configs, 'jobs', 'no-calendar.yml'), `dataset: ohlcv\ngranularity: 1d\nsource: { name: split, adapter: file, files: ['${root}/data/split/*.csv'] }\ntransform: yahoo\n`);
    await refused(['no-calendar', '--format', 'html'], 'no completeness to draw: no-calendar is not a job of bars with a calendar (a session long or shorter)');
    await refused(['no-calendar', 'split', '--format', 'html', '--section', 'ledger', '--out', path.join(root, 'x.html'), '--tolerance', 'lots'], '--tolerance lots is not a share such as 0.5% or 0.005');
    rmSync(path.join(configs, 'jobs', 'no-calendar.yml'));
    expect(existsSync(path.join(root, 'two.png')) || existsSync(path.join(root, 'summary.csv'))).toBe(false);
    // A terminal gets no picture without --out (on a pipe, the svg below is fine).
    await ctx.close();
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '', MDW_DATABASE_URL: url };
    if (!url) delete env.MDW_DATABASE_URL;
    const command = `stty cols 120 rows 40; ${path.join(repoRoot, 'bin', 'mdw')} --home ${ctx.settings.home} --config-dir ${configs} -v audit split --format svg`;
    const tty = spawnSync('script', ['-qec', command, '/dev/null'], { env, encoding: 'utf8' });
    ctx = testContext({ home: ctx.settings.home, databaseUrl: url, configDir: configs });
    catalog = await ctx.catalog();
    expect([tty.status, screen(tty.stdout).lines]).toEqual([2, ['mdw: --format svg draws a picture: give --out <file>, or pipe it']]);
    // The one series of a job named, as before.
    const svg = await mdw('audit', 'split', '--format', 'svg');
    expect([svg.code, svg.stdout.split('\n')[1]!.slice(0, 5)]).toEqual([0, '<svg ']);
  });
});
