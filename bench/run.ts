import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openCatalog } from '../src/catalog/catalog.js';
import { createLogger } from '../src/core/logger.js';
import { packageRoot, resolveSettings } from '../src/core/settings.js';
import { parseWindow } from '../src/core/time-window.js';
import { DuckSession } from '../src/lake/duckdb.js';
import { planOhlcvQuery } from '../src/query/ohlcv-query.js';
import { textQuery } from '../src/query/result-forms.js';
import { Warehouse } from '../src/warehouse.js';
import { benchApi } from './api.js';
import { benchBackfillPlan } from './backfill-plan.js';
import { generateBenchData, type BenchDataManifest } from './generate.js';
import { measure, median, percentile, type Measured } from './measure.js';

/**
 * `make bench`: the data path measured the same way every time. Every figure is reported with
 * its input size, the machine, medians over several runs, and a ratio to a baseline measured
 * in the same run. Results print as a table and land in bench/out/results.json.
 *
 * Size: BENCH_SYMBOLS (21) x NYSE sessions from BENCH_FROM (2019-01-01) to BENCH_TO
 * (2023-12-31) of one-minute bars; BENCH_RUNS (3) ingest runs, BENCH_QUERY_RUNS (20)
 * whole-process queries, BENCH_WARM_RUNS (200) in-process queries, BENCH_API_SECONDS (10) of
 * load per API case. BENCH_ONLY=api measures only what the API figures need (the CSV ingest,
 * the queries, the API).
 */
const env = process.env;
const params = {
  symbols: Number(env.BENCH_SYMBOLS ?? 21),
  from: env.BENCH_FROM ?? '2019-01-01',
  to: env.BENCH_TO ?? '2023-12-31',
  badShare: Number(env.BENCH_BAD_SHARE ?? 0.001),
  seed: 7,
};
const runs = Number(env.BENCH_RUNS ?? 3);
const queryRuns = Number(env.BENCH_QUERY_RUNS ?? 20);
const warmRuns = Number(env.BENCH_WARM_RUNS ?? 200);
const apiSeconds = Number(env.BENCH_API_SECONDS ?? 10);
/** BENCH_ONLY=api: the CSV ingest the lake needs, the queries, and the API; nothing else. */
const only = env.BENCH_ONLY;
const out = path.join(packageRoot, 'bench', 'out');
const mdw = path.join(packageRoot, 'bin', 'mdw');
const node = process.execPath;
const log = (m: string) => process.stderr.write(`bench: ${m}\n`);

interface Figure {
  readonly name: string;
  readonly input: string;
  readonly value: string;
  readonly baseline: string;
  readonly ratio: number | null;
  readonly target: string;
  readonly met: boolean | null;
  readonly detail?: Record<string, unknown>;
}

const figures: Figure[] = [];
const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const rate = (rows: number, ms: number) => rows / (ms / 1000);

async function machine(): Promise<Record<string, unknown>> {
  const duck = await DuckSession.open({ threads: 1 });
  const [v] = await duck.all<{ v: string }>('SELECT version() AS v');
  duck.close();
  return {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    duckdb: v!.v,
    platform: `${os.platform()} ${os.release()}`,
  };
}

function writeJobs(dataDir: string): string {
  const configs = path.join(out, 'configs');
  rmSync(configs, { recursive: true, force: true });
  cpSync(path.join(packageRoot, 'configs'), configs, { recursive: true });
  const job = (name: string, granularity: string, files: string, transform: string, source: string) =>
    writeFileSync(
      path.join(configs, 'jobs', `${name}.yml`),
      `dataset: ohlcv\ngranularity: ${granularity}\ncalendar: XNYS\nsource: { name: ${source}, adapter: file, files: ['${files}'] }\ntransform: ${transform}\n`,
    );
  job('bench-csv-1m', '1m', `${dataDir}/csv-1m/*.csv`, 'yahoo-intraday', 'bench-csv');
  job('bench-json-1m', '1m', `${dataDir}/polygon-1m/*/*.json`, 'polygon-aggs', 'bench-json');
  job('bench-csv-1d', '1d', `${dataDir}/csv-1d/*.csv`, 'yahoo', 'bench-csv');
  return configs;
}

function mdwArgs(home: string, configs: string, ...args: string[]): string[] {
  return [mdw, '--home', home, '--config-dir', configs, '--lock-timeout', '0', ...args];
}

async function checked(what: string, m: Promise<Measured>): Promise<Measured> {
  const r = await m;
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stderr.slice(0, 2000)}`);
  return r;
}

/** Catalog rows one ingest wrote, against its partitions and rows. */
async function catalogWrites(home: string): Promise<{ partitions: number; manifest: number; series: number; lineage: number; batches: number }> {
  const settings = resolveSettings({ home }, {});
  const logger = createLogger({ level: 'error', color: false, today: new Date() });
  const catalog = await openCatalog(settings, logger, { purpose: 'bench' });
  try {
    const [row] = await catalog.sql<{ partitions: number; manifest: number; series: number; lineage: number; batches: number }[]>`
      select (select count(*)::int from mdw.partition_manifest) as partitions,
             (select count(*)::int from mdw.partition_manifest) as manifest,
             (select count(*)::int from mdw.partition_series) as series,
             (select count(*)::int from mdw.lineage_item) as lineage,
             (select count(*)::int from mdw.batch) as batches`;
    return row!;
  } finally {
    await catalog.close();
  }
}

async function benchIngest(kind: 'csv' | 'json', job: string, manifest: BenchDataManifest, dataDir: string, configs: string): Promise<{ home: string; firstMs: number }> {
  const rows = manifest.minuteBars;
  const input = `${rows.toLocaleString('en-US')} one-minute bars (${manifest.symbols.length} symbols x ${manifest.sessions} sessions), ${kind === 'csv' ? `${manifest.symbols.length} CSV files` : `${(manifest.symbols.length * manifest.sessions).toLocaleString('en-US')} Polygon JSON pages`}`;
  const first: Measured[] = [];
  const again: Measured[] = [];
  const base: Measured[] = [];
  let home = '';
  for (let i = 0; i < runs; i++) {
    home = path.join(out, 'runs', `${kind}-${i}`);
    rmSync(home, { recursive: true, force: true });
    await checked('mdw init', measure(node, mdwArgs(home, configs, 'init', '--yes')));
    log(`${kind} ingest run ${i + 1}/${runs}`);
    const r = await checked('mdw ingest', measure(node, mdwArgs(home, configs, 'ingest', job, '--format', 'json')));
    const summary = (JSON.parse(r.stdout) as { stored: number; quarantined: number }[])[0]!;
    if (summary.stored + summary.quarantined !== rows || summary.quarantined !== manifest.minuteBad) {
      throw new Error(`${job}: stored ${summary.stored} + quarantined ${summary.quarantined}, expected ${rows - manifest.minuteBad} + ${manifest.minuteBad}`);
    }
    first.push(r);
    again.push(await checked('mdw ingest (re-run)', measure(node, mdwArgs(home, configs, 'ingest', job, '--format', 'json'))));
    const baseOut = path.join(out, 'runs', `${kind}-baseline`);
    rmSync(baseOut, { recursive: true, force: true });
    log(`${kind} DuckDB baseline run ${i + 1}/${runs}`);
    base.push(await checked('baseline', measure(node, [path.join(packageRoot, 'dist/bench/duckdb-baseline.js'), kind, dataDir, baseOut])));
  }
  const ms = median(first.map((r) => r.ms));
  const baseMs = median(base.map((r) => r.ms));
  const ratio = rate(rows, ms) / rate(rows, baseMs);
  figures.push({
    name: `ingest, ${kind === 'csv' ? 'CSV' : 'vendor JSON'}`,
    input,
    value: `${fmt(rate(rows, ms) / 1e6, 2)}M rows/s (${fmt(ms / 1000, 1)} s)`,
    baseline: `DuckDB ${kind === 'csv' ? 'read_csv' : 'read_json'} -> partitioned Parquet: ${fmt(rate(rows, baseMs) / 1e6, 2)}M rows/s (${fmt(baseMs / 1000, 1)} s)`,
    ratio,
    target: '>= 0.5x baseline',
    met: ratio >= 0.5,
    detail: { runsMs: first.map((r) => Math.round(r.ms)), baselineMs: base.map((r) => Math.round(r.ms)) },
  });
  const againMs = median(again.map((r) => r.ms));
  figures.push({
    name: `re-run, ${kind === 'csv' ? 'CSV' : 'vendor JSON'} (nothing changed)`,
    input,
    value: `${fmt(againMs / 1000, 1)} s`,
    baseline: `first run ${fmt(ms / 1000, 1)} s`,
    ratio: againMs / ms,
    target: '<= 0.2x first run',
    met: againMs / ms <= 0.2,
    detail: { runsMs: again.map((r) => Math.round(r.ms)) },
  });
  const peak = Math.max(...first.map((r) => r.peakRssMb), ...again.map((r) => r.peakRssMb));
  figures.push({
    name: `peak RSS, ${kind === 'csv' ? 'CSV' : 'vendor JSON'} ingest`,
    input,
    value: `${fmt(peak, 0)} MB`,
    baseline: `DuckDB baseline ${fmt(Math.max(...base.map((r) => r.peakRssMb)), 0)} MB`,
    ratio: null,
    target: '< 1024 MB',
    met: peak < 1024,
  });
  const writes = await catalogWrites(home);
  const inputs = kind === 'csv' ? manifest.symbols.length : manifest.symbols.length * manifest.sessions;
  const catalogRows = writes.manifest + writes.series + writes.lineage + writes.batches;
  // Lineage has a row per (input, partition): it grows with inputs (files, pages), the manifest
  // and coverage with partitions, batches with chunks. None of them with rows.
  const bound = 3 * writes.partitions + 2 * inputs + 2 * writes.batches;
  figures.push({
    name: `catalog writes, ${kind === 'csv' ? 'CSV' : 'vendor JSON'} ingest`,
    input,
    value: `${catalogRows.toLocaleString('en-US')} rows: manifest ${writes.manifest}, coverage ${writes.series}, lineage ${writes.lineage}, batches ${writes.batches}`,
    baseline: `${writes.partitions.toLocaleString('en-US')} partitions, ${inputs.toLocaleString('en-US')} inputs, ${rows.toLocaleString('en-US')} rows (first run + re-run)`,
    ratio: null,
    target: 'grow with partitions and inputs, not rows (<= 3/partition + 2/input + 2/batch)',
    met: catalogRows <= bound,
  });
  return { home, firstMs: ms };
}

/**
 * A correction of every row: the CSV files again with every volume changed, loaded over the
 * lake the CSV ingest built. Each partition is merged with its stored rows by a join on the key,
 * so this costs about what the first load did plus reading and comparing the stored rows (it
 * was quadratic once: 20,000 changed minute bars took 75 s, 75x their first load).
 */
async function benchCorrection(home: string, configs: string, manifest: BenchDataManifest, dataDir: string, firstMs: number): Promise<void> {
  const corrected = path.join(dataDir, 'csv-1m-corrected');
  if (!existsSync(path.join(corrected, '.complete'))) {
    log('writing the corrected CSV files (every volume + 1)');
    rmSync(corrected, { recursive: true, force: true });
    mkdirSync(corrected, { recursive: true });
    for (const name of readdirSync(path.join(dataDir, 'csv-1m'))) {
      const lines = readFileSync(path.join(dataDir, 'csv-1m', name), 'utf8').split('\n');
      const out = lines.map((line, i) => {
        const cut = line.lastIndexOf(',');
        const v = Number(line.slice(cut + 1));
        return i === 0 || cut < 0 || line.slice(cut + 1) === '' || !Number.isFinite(v) ? line : `${line.slice(0, cut + 1)}${v + 1}`;
      });
      writeFileSync(path.join(corrected, name), out.join('\n'));
    }
    writeFileSync(path.join(corrected, '.complete'), '');
  }
  writeFileSync(
    path.join(configs, 'jobs', 'bench-csv-1m-corrected.yml'),
    `dataset: ohlcv\ngranularity: 1m\ncalendar: XNYS\nsource: { name: bench-csv, adapter: file, files: ['${corrected}/*.csv'] }\ntransform: yahoo-intraday\n`,
  );
  log('correction of every row');
  const r = await checked('mdw ingest (correction)', measure(node, mdwArgs(home, configs, 'ingest', 'bench-csv-1m-corrected', '--format', 'json')));
  const summary = (JSON.parse(r.stdout) as { stored: number }[])[0]!;
  if (summary.stored !== manifest.minuteBars - manifest.minuteBad) throw new Error(`the correction stored ${summary.stored} rows, expected ${manifest.minuteBars - manifest.minuteBad}`);
  figures.push({
    name: 'correction of every row, CSV',
    input: `${summary.stored.toLocaleString('en-US')} one-minute bars whose volume changed, over the lake of the first load`,
    value: `${fmt(r.ms / 1000, 1)} s, peak RSS ${fmt(r.peakRssMb, 0)} MB`,
    baseline: `first load ${fmt(firstMs / 1000, 1)} s`,
    ratio: r.ms / firstMs,
    target: '<= 2x first load (linear: reads, compares and rewrites what the first load wrote)',
    met: r.ms / firstMs <= 2,
  });
}

/** A full `mdw audit` of the lake the CSV ingest built: integrity (every file hashed), the ledger, quality, agreement. */
async function benchAudit(home: string, configs: string, manifest: BenchDataManifest): Promise<void> {
  const runsMs: number[] = [];
  let peak = 0;
  let summary: { rows: number; files: number; sessions: number; integrity: number }[] = [];
  for (let i = 0; i < runs; i++) {
    log(`audit run ${i + 1}/${runs}`);
    const r = await checked('mdw audit', measure(node, mdwArgs(home, configs, 'audit', 'bench-csv-1m', 'bench-csv-1d', '--format', 'csv', '--section', 'summary')));
    runsMs.push(r.ms);
    peak = Math.max(peak, r.peakRssMb);
    // By the header's names: columns the summary gains do not move these.
    const [header, ...lines] = r.stdout.trim().split('\n').map((l) => l.split(','));
    const at = (name: string) => header!.indexOf(name);
    summary = lines.map((f) => ({ files: Number(f[at('files')]), rows: Number(f[at('rows')]), sessions: Number(f[at('sessions')]), integrity: Number(f[at('integrity_problems')]) }));
  }
  const rows = summary.reduce((n, s) => n + s.rows, 0);
  const files = summary.reduce((n, s) => n + s.files, 0);
  if (rows !== manifest.minuteBars - manifest.minuteBad + manifest.dailyBars - manifest.dailyBad || summary.some((s) => s.integrity !== 0)) {
    throw new Error(`mdw audit saw ${rows} rows (expected ${manifest.minuteBars - manifest.minuteBad + manifest.dailyBars - manifest.dailyBad}) or integrity problems: ${JSON.stringify(summary)}`);
  }
  const ms = median(runsMs);
  figures.push({
    name: 'audit, whole lake',
    input: `${rows.toLocaleString('en-US')} stored bars in ${files.toLocaleString('en-US')} files (1m and 1d), ${manifest.symbols.length} symbols x ${manifest.sessions} sessions`,
    value: `${fmt(ms / 1000, 1)} s, peak RSS ${fmt(peak, 0)} MB`,
    baseline: 'every file hashed and counted, the ledger per symbol and session, quality, cross-source agreement',
    ratio: null,
    target: 'none set; reported',
    met: null,
    detail: { runsMs: runsMs.map(Math.round), peakRssMb: peak },
  });
}

async function benchQueries(home: string, configs: string, manifest: BenchDataManifest): Promise<void> {
  await checked('daily ingest', measure(node, mdwArgs(home, configs, 'ingest', 'bench-csv-1d')));
  const symbol = manifest.symbols[0]!;
  const lastYear = params.to.slice(0, 4);
  const cases = [
    { name: 'a month of 1-minute bars', granularity: '1m', from: `${lastYear}-06-01`, to: `${lastYear}-06-30`, warmTarget: 5 },
    { name: `${manifest.sessions} sessions of daily bars`, granularity: '1d', from: params.from, to: params.to, warmTarget: 10 },
  ];
  const lake = path.join(home, 'lake');
  const wh = await Warehouse.open({ home, threads: os.availableParallelism() });
  try {
    for (const c of cases) {
      const plan = planOhlcvQuery(lake, { symbols: [symbol], window: parseWindow(c.from, c.to), granularity: c.granularity });
      // The floor runs the SQL mdw runs for CSV: the plan with each value in its text form.
      const csvSql = textQuery(plan.sql, plan.columns, 'csv');
      const [{ n }] = (await (async () => {
        const duck = await DuckSession.open({ threads: 1 });
        try {
          return await duck.all<{ n: number }>(`SELECT count(*) AS n FROM (${plan.sql})`);
        } finally {
          duck.close();
        }
      })()) as [{ n: number }];
      const input = `${symbol}, ${n.toLocaleString('en-US')} rows from ${plan.files.length} file${plan.files.length === 1 ? '' : 's'}`;
      log(`query ${c.name}: ${queryRuns} whole-process runs and the floor`);
      const whole: number[] = [];
      const floor: number[] = [];
      for (let i = 0; i < queryRuns; i++) {
        whole.push((await checked('mdw query', measure(node, [mdw, '--home', home, 'query', 'ohlcv', symbol, '-g', c.granularity, '--from', c.from, '--to', c.to, '--format', 'csv'], { stdout: 'null' }))).ms);
        floor.push((await checked('floor', measure(node, [path.join(packageRoot, 'dist/bench/query-floor.js'), csvSql], { stdout: 'null' }))).ms);
      }
      const ratio = median(whole) / median(floor);
      figures.push({
        name: `query, whole process: ${c.name}`,
        input,
        value: `p50 ${fmt(median(whole), 0)} ms, p95 ${fmt(percentile(whole, 0.95), 0)} ms`,
        baseline: `bare node + DuckDB, same SQL and files: p50 ${fmt(median(floor), 0)} ms, p95 ${fmt(percentile(floor, 0.95), 0)} ms`,
        ratio,
        target: '<= 1.3x floor',
        met: ratio <= 1.3,
      });
      const warm: number[] = [];
      for (let i = 0; i < warmRuns + 10; i++) {
        const t = performance.now();
        const r = await wh.ohlcv({ symbols: [symbol], from: c.from, to: c.to, granularity: c.granularity });
        if (i >= 10) warm.push(performance.now() - t);
        if (r.rowCount !== n) throw new Error(`warm query returned ${r.rowCount} rows, expected ${n}`);
      }
      figures.push({
        name: `query, warm in-process: ${c.name}`,
        input,
        value: `p50 ${fmt(median(warm), 2)} ms, p95 ${fmt(percentile(warm, 0.95), 2)} ms`,
        baseline: `(${warmRuns} runs after 10 warm-up; typed arrays)`,
        ratio: null,
        target: `p50 < ${c.warmTarget} ms`,
        met: median(warm) < c.warmTarget,
      });
    }
  } finally {
    wh.close();
  }
}

/** `mdw serve` under load (bench/api.ts), on the lake benchQueries left: 1m and 1d bars. */
async function benchApiFigures(home: string, manifest: BenchDataManifest): Promise<void> {
  const lastYear = params.to.slice(0, 4);
  const symbol = manifest.symbols[0]!;
  const results = await benchApi(
    home,
    symbol,
    [
      { name: 'a month of 1-minute bars', granularity: '1m', from: `${lastYear}-06-01`, to: `${lastYear}-06-30` },
      { name: `${manifest.sessions} sessions of daily bars`, granularity: '1d', from: params.from, to: params.to },
    ],
    apiSeconds,
    log,
  );
  for (const r of results) {
    figures.push({
      name: `API /historical, 10 connections: ${r.name}`,
      input: `${symbol}, ${r.rows.toLocaleString('en-US')} rows from ${r.files} file${r.files === 1 ? '' : 's'}; ${apiSeconds} s of autocannon; load average ${fmt(r.load, 1)} on ${os.availableParallelism()} cores`,
      value: `p50 ${fmt(r.p50, 1)} ms, p99 ${fmt(r.p99, 1)} ms, ${fmt(r.rps, 0)} req/s${r.errors ? `, ${r.errors} errors` : ''}`,
      baseline: `bare DuckDB, same SQL and files, every row read: p50 ${fmt(r.bareP50, 2)} ms`,
      ratio: r.p50 / r.bareP50,
      target: r.target === null ? '(none)' : `p50 < ${r.target} ms`,
      met: r.target === null ? null : r.p50 < r.target && r.errors === 0,
    });
  }
}

/**
 * Curate over the bench lake: the adjustment log from a quarterly dividend per symbol (the
 * daily bars' closes), then what curate serves on the fly read whole: every symbol's minute bars
 * adjusted for dividends and resampled to 5m and 1h, and resampled to weeks. Each against the
 * time of the CSV ingest that built the lake.
 */
async function benchCurate(home: string, configs: string, manifest: BenchDataManifest, dataDir: string, ingestMs: number): Promise<void> {
  const actions = ['symbol,ex_date,action,split_from,split_to,cash_amount'];
  for (const symbol of manifest.symbols) {
    for (let y = Number(params.from.slice(0, 4)); y <= Number(params.to.slice(0, 4)); y++) {
      for (const m of ['02', '05', '08', '11']) {
        const exDate = `${y}-${m}-15`;
        // Within the bars' span, so that each adjusts bars and has its close before.
        if (exDate > params.from && exDate <= params.to) actions.push(`${symbol},${exDate},cash_dividend,,,0.10`);
      }
    }
  }
  writeFileSync(path.join(dataDir, 'actions.csv'), `${actions.join('\n')}\n`);
  writeFileSync(
    path.join(configs, 'jobs', 'bench-actions.yml'),
    `dataset: corporate_actions\ngranularity: 1d\nsource: { name: bench-actions, adapter: file, files: ['${dataDir}/actions.csv'] }\ntransform: actions-csv\n`,
  );
  writeFileSync(path.join(configs, 'jobs', 'bench-curate.yml'), 'kind: curate\nbars: bench-csv-1d\nactions: [bench-actions]\noutputs: [adjustments]\n');
  await checked('mdw ingest bench-actions', measure(node, mdwArgs(home, configs, 'ingest', 'bench-actions')));
  log('curate: the adjustment log');
  const log1 = await checked('mdw curate', measure(node, mdwArgs(home, configs, 'curate', 'bench-curate', '--format', 'json')));
  const [made] = JSON.parse(log1.stdout) as { rows: number; stored: number; quarantined: number }[];
  // A dividend whose previous session's bar is one of the planted bad rows has no close to divide: quarantined.
  if (!made || made.stored + made.quarantined !== actions.length - 1 || made.quarantined > manifest.dailyBad) {
    throw new Error(`mdw curate logged ${log1.stdout.trim()}, expected ${actions.length - 1} rows, at most ${manifest.dailyBad} quarantined`);
  }
  const again = await checked('mdw curate (re-run)', measure(node, mdwArgs(home, configs, 'curate', 'bench-curate', '--format', 'json')));
  const symbols = manifest.symbols;
  const reads = [
    { what: '1m -> 5m, adjusted', args: ['--source', 'bench-csv', '-g', '5m', '--adjust', 'all'] },
    { what: '1m -> 1h, adjusted', args: ['--source', 'bench-csv', '-g', '1h', '--adjust', 'all'] },
    // No week is stored: the finest stored bars that divide it (the minutes) are resampled.
    { what: '1m -> 1w', args: ['--source', 'bench-csv', '-g', '1w'] },
  ];
  const timed: { what: string; ms: number; peakRssMb: number }[] = [];
  for (const r of reads) {
    log(`curate on the fly: ${r.what}, every symbol, ${params.from}..${params.to}`);
    const m = await checked(`mdw query ${r.what}`, measure(node, [mdw, '--home', home, '--config-dir', configs, 'query', 'ohlcv', ...symbols, '--from', params.from, '--to', params.to, ...r.args, '--format', 'csv'], { stdout: 'null' }));
    timed.push({ what: r.what, ms: m.ms, peakRssMb: m.peakRssMb });
  }
  const total = log1.ms + timed.reduce((n, t) => n + t.ms, 0);
  figures.push({
    name: 'curate: adjustment log, then the whole minute lake adjusted and resampled (5m, 1h) and resampled to weeks',
    input: `${manifest.minuteBars.toLocaleString('en-US')} one-minute bars a source, ${symbols.length} symbols; ${(actions.length - 1).toLocaleString('en-US')} dividends`,
    value:
      `${fmt(total / 1000, 1)} s in all: log ${fmt(log1.ms / 1000, 1)} s (${made.stored} factors, ${made.quarantined} quarantined; re-run ${fmt(again.ms / 1000, 1)} s, writes nothing); ` +
      timed.map((t) => `${t.what} ${fmt(t.ms / 1000, 1)} s (peak RSS ${fmt(t.peakRssMb, 0)} MB)`).join('; '),
    baseline: `the CSV ingest that built the lake: ${fmt(ingestMs / 1000, 1)} s`,
    ratio: total / ingestMs,
    target: 'none set; reported (adjusted bars are served on the fly; these resampled reads too, before the stored ones below)',
    met: null,
    detail: { logMs: Math.round(log1.ms), rerunMs: Math.round(again.ms), reads: timed.map((t) => ({ ...t, ms: Math.round(t.ms) })) },
  });

  // The same sizes stored by a curate job (outputs: resampled), then read as stored.
  writeFileSync(path.join(configs, 'jobs', 'bench-resample.yml'), 'kind: curate\nbars: bench-csv-1m\noutputs: [resampled]\nresample:\n  to: [5m, 1h, 1d]\n');
  log('curate: the minute lake resampled to 5m, 1h and 1d, stored');
  const stored = await checked('mdw curate bench-resample', measure(node, mdwArgs(home, configs, 'curate', 'bench-resample', '--format', 'json')));
  const outputs = JSON.parse(stored.stdout) as { output: string; stored: number; quarantined: number }[];
  if (outputs.length !== 3 || outputs.some((o) => o.stored === 0)) throw new Error(`mdw curate bench-resample stored ${stored.stdout.trim()}`);
  const rerun = await checked('mdw curate bench-resample (re-run)', measure(node, mdwArgs(home, configs, 'curate', 'bench-resample', '--format', 'json')));
  if ((JSON.parse(rerun.stdout) as { changed: number }[]).some((o) => o.changed !== 0)) throw new Error(`mdw curate bench-resample computed again on a re-run: ${rerun.stdout.trim()}`);
  log('query of the stored 1h bars, every symbol');
  const read = await checked('mdw query -g 1h (stored)', measure(node, [mdw, '--home', home, '--config-dir', configs, 'query', 'ohlcv', ...symbols, '--from', params.from, '--to', params.to, '--source', 'bench-csv', '-g', '1h', '--format', 'csv'], { stdout: 'null' }));
  if (!read.stderr.includes('a curate job resampled')) throw new Error(`mdw query -g 1h did not read the stored bars: ${read.stderr.trim()}`);
  figures.push({
    name: 'curate: the whole minute lake resampled to 5m, 1h and 1d and stored (outputs: resampled)',
    input: `${manifest.minuteBars.toLocaleString('en-US')} one-minute bars, ${symbols.length} symbols`,
    value:
      `${fmt(stored.ms / 1000, 1)} s (${outputs.map((o) => `${o.output}: ${o.stored.toLocaleString('en-US')} bars`).join(', ')}; peak RSS ${fmt(stored.peakRssMb, 0)} MB); ` +
      `re-run ${fmt(rerun.ms / 1000, 1)} s, writes nothing; every symbol's stored 1h bars read in ${fmt(read.ms / 1000, 1)} s`,
    baseline: `the CSV ingest that built the lake: ${fmt(ingestMs / 1000, 1)} s`,
    ratio: stored.ms / ingestMs,
    target: 'none set; reported',
    met: null,
    detail: { ms: Math.round(stored.ms), rerunMs: Math.round(rerun.ms), readMs: Math.round(read.ms), peakRssMb: stored.peakRssMb, outputs },
  });
}

/**
 * mdw backup of the whole bench warehouse beside it (hard links: the same file system), then
 * mdw backup verify of it (restored into a temporary home, every file hashed, every series'
 * integrity checked). Reported with the files and bytes it took.
 */
async function benchBackup(home: string, configs: string, ingestMs: number): Promise<void> {
  const to = path.join(path.dirname(home), 'bench-backups');
  rmSync(to, { recursive: true, force: true });
  log('backup: the whole warehouse, then backup verify');
  const b = await checked('mdw backup', measure(node, mdwArgs(home, configs, 'backup', '--to', to, '--format', 'json')));
  const [r] = JSON.parse(b.stdout) as { files: number; bytes: number; linked: number; copied: number; catalog_rows: number }[];
  const v = await checked('mdw backup verify', measure(node, mdwArgs(home, configs, 'backup', 'verify', to)));
  if (!v.stderr.includes('is sound')) throw new Error(`mdw backup verify did not find the backup sound: ${v.stderr.trim()}`);
  figures.push({
    name: 'backup: the whole warehouse (hard links), then backup verify (restore into a temporary home, hash every file, integrity audit)',
    input: `${r!.files.toLocaleString('en-US')} files, ${fmt(r!.bytes / 2 ** 20, 1)} MB (${r!.linked} linked, ${r!.copied} copied), ${r!.catalog_rows.toLocaleString('en-US')} catalog rows`,
    value: `backup ${fmt(b.ms / 1000, 1)} s (peak RSS ${fmt(b.peakRssMb, 0)} MB); verify ${fmt(v.ms / 1000, 1)} s (peak RSS ${fmt(v.peakRssMb, 0)} MB)`,
    baseline: `the CSV ingest that built the minute lake: ${fmt(ingestMs / 1000, 1)} s`,
    ratio: b.ms / ingestMs,
    target: 'none set; reported',
    met: null,
    detail: { backupMs: Math.round(b.ms), verifyMs: Math.round(v.ms), files: r!.files, bytes: r!.bytes },
  });
}

/** The backfill planner over 5,000 symbols x 20 years of daily sessions: seconds, and the queue holds chunks, not sessions. */
function benchPlan(): void {
  log('backfill plan, 5,000 symbols x 20 years');
  const p = benchBackfillPlan();
  figures.push({
    name: 'backfill plan, 5,000 symbols x 20 years of daily sessions',
    input: `${p.symbols.toLocaleString('en-US')} symbols x ${p.sessions.toLocaleString('en-US')} XNYS sessions (${p.symbolSessions.toLocaleString('en-US')} symbol-sessions; most held but for 3 scattered sessions and a 10-session run, 5% listed late, 3% delisted, 2% not held)`,
    value: `${fmt(p.ms / 1000, 2)} s, ${p.chunks.toLocaleString('en-US')} chunks for ${p.plannedSessions.toLocaleString('en-US')} missing sessions`,
    baseline: 'in process, pure: no lake, no catalog',
    ratio: null,
    target: '< 10 s (seconds, not minutes)',
    met: p.ms < 10_000,
    detail: { runsMs: p.runsMs, heapMb: p.heapMb },
  });
}

function printTable(info: Record<string, unknown>, manifest: BenchDataManifest): void {
  const lines = [
    `mdw bench - ${new Date().toISOString()}`,
    `machine: ${info.cores} cores (${info.cpu}), ${info.memoryGb} GB, node ${info.node}, DuckDB ${info.duckdb}, ${info.platform}`,
    `data: ${manifest.minuteBars.toLocaleString('en-US')} one-minute bars (${manifest.minuteBad} bad) and ${manifest.dailyBars.toLocaleString('en-US')} daily bars, ${manifest.symbols.length} symbols, ${params.from}..${params.to}; medians over ${runs} ingest runs, ${queryRuns} whole-process and ${warmRuns} warm queries`,
    '',
  ];
  for (const f of figures) {
    lines.push(`${f.met === null ? '    ' : f.met ? 'MET ' : 'MISS'} ${f.name}`);
    lines.push(`       ${f.value}${f.ratio !== null ? `  = ${fmt(f.ratio, 2)}x` : ''}   target ${f.target}`);
    lines.push(`       vs ${f.baseline}`);
    lines.push(`       input: ${f.input}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

const started = Date.now();
mkdirSync(out, { recursive: true });
const info = await machine();
const dataDir = path.join(out, `data-${params.symbols}-${params.from}-${params.to}-${params.badShare}`);
log(`data set ${dataDir}`);
const manifest = generateBenchData(dataDir, params, log);
const configs = writeJobs(dataDir);
const { home, firstMs } = await benchIngest('csv', 'bench-csv-1m', manifest, dataDir, configs);
if (only !== 'api') await benchIngest('json', 'bench-json-1m', manifest, dataDir, configs);
if (only !== 'api') await benchCorrection(home, configs, manifest, dataDir, firstMs);
await benchQueries(home, configs, manifest);
await benchApiFigures(home, manifest);
if (only !== 'api') await benchAudit(home, configs, manifest);
if (only !== 'api') await benchCurate(home, configs, manifest, dataDir, firstMs);
if (only !== 'api') await benchBackup(home, configs, firstMs);
benchPlan();
printTable(info, manifest);
const result = { at: new Date().toISOString(), machine: info, params, data: manifest, runs: { ingest: runs, query: queryRuns, warm: warmRuns }, seconds: (Date.now() - started) / 1000, figures };
writeFileSync(path.join(out, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
log(`done in ${fmt((Date.now() - started) / 1000, 0)} s; results in ${path.join(out, 'results.json')}`);
