import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { RawBatch } from '../adapters/adapter.js';
import { adapters } from '../adapters/registry.js';
import { ensureSeries, completeBatch, recordBatch, type SeriesRef } from '../catalog/lake-catalog.js';
import type { Job } from '../config/jobs.js';
import type { Context } from '../context.js';
import { SourceError } from '../core/errors.js';
import { ident, stringList, timestampLiteral } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { intersectWindows, parseWindow, type TimeWindow } from '../core/time-window.js';
import {
  commitPartitions,
  stagedTable,
  releaseStage,
  stageBatch,
  writePartitions,
  type BatchCounts,
  type SeriesTarget,
  type StagePlan,
} from '../load/lake-writer.js';
import { writeQuarantine } from '../load/quarantine.js';
import { compileTransform, resolveFoldsSql, sourceReadTypes } from '../transform/compile-transform.js';
import { compileRecordRules } from '../validate/record-rules.js';
import { recoverPendingWrites } from './recover.js';

export interface IngestOptions {
  readonly window: TimeWindow;
  readonly symbols: readonly string[] | null;
  readonly dryRun: boolean;
  readonly runId: string | null;
}

export interface IngestResult {
  readonly job: string;
  readonly batchId: string;
  readonly dryRun: boolean;
  readonly inputs: number;
  readonly counts: BatchCounts;
  readonly partitions: { readonly touched: number; readonly written: number; readonly unchanged: number };
  readonly writes: readonly { readonly uri: string; readonly rows: number; readonly changes: number; readonly sha256: string | null }[];
  readonly quarantine: { readonly file: string; readonly rows: number } | null;
}

/** Runs one job: adapter -> transform -> validate -> load. */
export async function runIngest(ctx: Context, job: Job, options: IngestOptions): Promise<IngestResult> {
  const window = intersectWindows(parseWindow(job.spec.window?.from, job.spec.window?.to, 'window.'), options.window);
  const symbols = normalizeSymbols(job, options.symbols ?? job.spec.symbols ?? null);
  const adapter = adapters[job.spec.source.adapter];
  const lap = stopwatch();
  const duck = await ctx.duck();
  lap('open DuckDB');
  const raw = await readChecked(ctx, duck, job, window, symbols);
  lap('read, transform, validate');
  const def = job.dataset;
  const rejects = raw.rejects ? 'mdw_rejects' : null;
  if (raw.rejects) await duck.run(`CREATE OR REPLACE TABLE mdw_rejects AS SELECT * FROM ${raw.rejects}`);

  const batchId = randomUUID();
  const target: SeriesTarget = {
    dataset: def,
    grain: job.partition,
    source: job.spec.source.name,
    granularity: job.granularity.text,
    lakeRoot: ctx.paths.lake,
  };
  try {
    if (options.dryRun) {
      const plan = await stageBatch(duck, target, rejects, raw.inputs);
      return summarize(job, batchId, true, raw.inputs.length, plan, [], null);
    }
    const catalog = await ctx.catalog(`mdw ingest ${job.name}`);
    const ref: SeriesRef = {
      dataset: def.name,
      datasetDescription: def.description,
      source: target.source,
      adapter: adapter.name,
      granularity: target.granularity,
      job: job.name,
    };
    const lockKey = `mdw:load:${ref.dataset}:${ref.source}:${ref.granularity}`;
    return await catalog.withLock(lockKey, ctx.settings.lockTimeoutMs, async () => {
      lap('open catalog');
      const ids = await ensureSeries(catalog.sql, ref);
      await recoverPendingWrites(ctx, catalog, def, ids, ref.granularity);
      const plan = await stageBatch(duck, target, rejects, raw.inputs);
      await keepRawOfConflicts(duck, raw);
      lap('stage (dedupe, compare with the lake)');
      const dirty = plan.partitions.filter((p) => p.changes > 0).length;
      ctx.progress.step(`${job.name}: ${plan.counts.recordsIn} records; writing ${dirty} of ${plan.partitions.length} partitions`);
      const written = await writePartitions(duck, target, plan, batchId, Math.max(1, ctx.settings.duckdbThreads));
      lap('write partitions');
      const at = ctx.clock.now();
      const quarantine = await writeQuarantine(
        duck,
        { root: ctx.paths.quarantine, batchId, job: job.name, dataset: def, source: target.source, day: at.toISOString().slice(0, 10) },
        rejects,
      );
      const uriOf = (pid: number | null) => (pid === null ? null : plan.partitions[pid]!.uri);
      await recordBatch(
        catalog.sql,
        ids,
        ref,
        {
          id: batchId,
          runId: options.runId,
          counts: plan.counts,
          quarantineUri: quarantine ? path.relative(ctx.settings.home, quarantine.file) : null,
          at,
        },
        written.map((w) => ({
          uri: w.plan.uri,
          tmpUri: path.relative(ctx.paths.lake, w.tmpPath).split(path.sep).join('/'),
          symbol: w.plan.key.symbol,
          period: w.plan.key.period,
          rows: w.rows,
          bytes: w.bytes,
          sha256: w.sha256,
          firstTs: w.firstTs,
          lastTs: w.lastTs,
          series: w.series,
        })),
        plan.lineage.map((l) => ({
          rawUri: l.input,
          uri: uriOf(l.pid),
          period: l.pid === null ? null : plan.partitions[l.pid]!.key.period,
          recordsIn: l.recordsIn,
          out: l.out,
          deduped: l.deduped,
          quarantined: l.quarantined,
          filtered: l.filtered,
        })),
        plan.symbols,
      );
      lap('quarantine and catalog');
      commitPartitions(written);
      if (written.length > 0) await completeBatch(catalog.sql, batchId, ctx.clock.now());
      lap('rename and commit');
      ctx.logger.debug(`${job.name}: timings`, lap.all());
      return summarize(job, batchId, false, raw.inputs.length, plan, written, quarantine);
    });
  } finally {
    await releaseStage(duck);
    await duck.run('DROP TABLE IF EXISTS mdw_rejects');
  }
}

/**
 * Extracts the job's raw records and runs them through the transform and the record rules
 * into the table `checked`, each row with its `_state`: 'ok', 'bad' (quarantine) or
 * 'filtered' (outside the window or the symbols). One pass, inside DuckDB.
 */
async function readChecked(ctx: Context, duck: DuckSession, job: Job, window: TimeWindow, symbols: readonly string[] | null): Promise<RawBatch> {
  const adapter = adapters[job.spec.source.adapter];
  const def = job.dataset;
  const request = { job, from: window.from, toExclusive: window.toExclusive, symbols, columns: sourceReadTypes(job.transform.value, def) };
  const inScope = scopeSql(def.timeColumn, def.symbolColumn, window, symbols);
  const known = [def.timeColumn, def.symbolColumn].filter((c): c is string => c !== null).map((c) => `${ident(c)} IS NOT NULL`);
  const read = async (raw: RawBatch) => {
    for (const statement of raw.prepare) await duck.run(statement);
    const transformed = compileTransform({
      rules: job.transform.value,
      dataset: def,
      granularity: job.granularity,
      sourceColumns: raw.columns,
      from: raw.relation,
    });
    const checked = compileRecordRules({ rules: job.validation.value, dataset: def, from: `(${transformed})` });
    await duck.run(
      `CREATE OR REPLACE TABLE checked AS ` +
        `SELECT * EXCLUDE (_raw, _errors), CASE WHEN _state = 'bad' THEN to_json(_raw) END AS _raw_json FROM (` +
        `SELECT *, CASE WHEN ${[...known, `NOT (${inScope})`].join(' AND ')} THEN 'filtered' WHEN len(_rules) > 0 THEN 'bad' ELSE 'ok' END AS _state ` +
        `FROM (${checked}))`,
    );
  };
  let raw = await adapter.extract({ logger: ctx.logger, env: ctx.env }, request);
  ctx.progress.step(`${job.name}: reading ${raw.inputs.length} input${raw.inputs.length === 1 ? '' : 's'}`);
  await read(raw);
  const again = raw.reread ? (await duck.all<{ _file: string }>(`SELECT _file FROM ${raw.reread}`)).map((r) => r._file) : [];
  if (again.length > 0) {
    ctx.logger.warn(`an unterminated quote in ${again.join(', ')}: reading ${again.length === 1 ? 'it' : 'them'} again without quoting, so that only that line is rejected`);
    raw = await adapter.extract({ logger: ctx.logger, env: ctx.env }, { ...request, unquoted: new Set(again) });
    await read(raw);
  }
  if (def.symbolColumn) {
    const nameless = await duck.all<{ f: string; n: number }>(
      `SELECT _file AS f, count(*) AS n FROM checked GROUP BY _file HAVING count(${ident(def.symbolColumn)}) = 0 ORDER BY 1`,
    );
    for (const { f, n } of nameless) ctx.logger.warn(`no symbol could be read for any of the ${n} records of ${f}: check the transform's symbol rule`);
  }
  const [folds] = await duck.all<{ n: number }>(`SELECT count(*) AS n FROM checked WHERE _fold`);
  if (folds!.n > 0) {
    await duck.run(resolveFoldsSql('checked', def));
    ctx.logger.info(`${folds!.n} local times fell in the repeated hour of an autumn clock change; the first of each is read as daylight time`);
  }
  const stray = await duck.all<{ f: string }>(`SELECT DISTINCT _file AS f FROM checked WHERE _file NOT IN (SELECT unnest(${stringList(raw.inputs)}))`);
  if (stray.length > 0) throw new SourceError(`the reader returned rows of files the job did not name: ${stray.map((r) => r.f).join(', ')}`);
  return raw;
}

/** Named laps of wall time, for the debug log. */
function stopwatch(): ((name: string) => void) & { all(): Record<string, number> } {
  let last = performance.now();
  const laps: Record<string, number> = {};
  const lap = (name: string) => {
    const now = performance.now();
    laps[name] = Math.round(now - last);
    last = now;
  };
  return Object.assign(lap, { all: () => ({ ...laps }) });
}

/**
 * Rows that disagree on one key are only found after the transform, when their raw form is no
 * longer kept (keeping it for every row would double the batch in memory). For those few rows
 * the inputs are read again to fetch it, so the quarantine shows them as the source had them.
 */
async function keepRawOfConflicts(duck: DuckSession, raw: RawBatch): Promise<void> {
  const [conflicts] = await duck.all<{ n: number }>(`SELECT count(*) AS n FROM ${stagedTable} WHERE _state = 'conflict'`);
  if (conflicts!.n === 0) return;
  const record = raw.columns.map((c) => `${ident(c.name)} := ${ident(c.name)}`).join(', ');
  await duck.run(
    `UPDATE ${stagedTable} SET _raw_json = r.raw FROM (` +
      `SELECT _rn, to_json(struct_pack(${record})) AS raw FROM ${raw.relation} WHERE _rn IN (SELECT _rn FROM ${stagedTable} WHERE _state = 'conflict')` +
      `) r WHERE ${stagedTable}._rn = r._rn`,
  );
}

/** Symbols asked for by a person, in the case the transform stores them (upper by default). */
function normalizeSymbols(job: Job, symbols: readonly string[] | null): string[] | null {
  if (!symbols) return null;
  const kase = job.transform.value.symbol?.case ?? 'upper';
  return symbols.map((s) => (kase === 'upper' ? s.toUpperCase() : kase === 'lower' ? s.toLowerCase() : s));
}

function scopeSql(ts: string, symbol: string | null, window: TimeWindow, symbols: readonly string[] | null): string {
  const terms: string[] = [];
  if (window.from) terms.push(`${ident(ts)} >= ${timestampLiteral(window.from)}`);
  if (window.toExclusive) terms.push(`${ident(ts)} < ${timestampLiteral(window.toExclusive)}`);
  if (symbols && symbol) terms.push(`${ident(symbol)} IN (SELECT unnest(${stringList(symbols)}))`);
  return terms.length ? terms.join(' AND ') : 'TRUE';
}

function summarize(
  job: Job,
  batchId: string,
  dryRun: boolean,
  inputs: number,
  plan: StagePlan,
  written: readonly { plan: { uri: string; changes: number }; rows: number; sha256: string }[],
  quarantine: IngestResult['quarantine'],
): IngestResult {
  const dirty = plan.partitions.filter((p) => p.changes > 0);
  const byUri = new Map(written.map((w) => [w.plan.uri, w]));
  return {
    job: job.name,
    batchId,
    dryRun,
    inputs,
    counts: plan.counts,
    partitions: { touched: plan.partitions.length, written: dirty.length, unchanged: plan.partitions.length - dirty.length },
    writes: dirty.map((p) => ({ uri: p.uri, rows: byUri.get(p.uri)?.rows ?? p.changes, changes: p.changes, sha256: byUri.get(p.uri)?.sha256 ?? null })),
    quarantine,
  };
}
