import { createHash, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Adapter, AdapterContext, ExtractRequest, InputRef, RawBatch } from '../sources/source.js';
import { recordRawPage, spendRequest } from '../catalog/vendor-catalog.js';
import { adapters } from '../sources/index.js';
import type { Catalog } from '../catalog/catalog.js';
import { completeBatch, ensureSeries, readInputs, recordBatch, type SeriesIds, type SeriesRef, type SummaryWrite } from '../catalog/lake-catalog.js';
import type { Job } from '../config/jobs.js';
import type { PartitionRule } from '../config/types.js';
import type { Context } from '../context.js';
import { SourceError } from '../core/errors.js';
import { kindOf } from '../core/datasets.js';
import { ident, stringList, timestampLiteral } from '../core/sql.js';
import { intersectWindows, parseWindow, type TimeWindow } from '../core/time-window.js';
import type { DuckSession } from '../lake/duckdb.js';
import {
  checkedTable,
  commitPartitions,
  periodSql,
  releaseStage,
  sealPartitions,
  stageBatch,
  writePartitions,
  type BatchCounts,
  type SealedPartition,
  type SeriesTarget,
  type SeriesWrite,
  flagCounts,
  type StagePlan,
  type WrittenPartition,
} from '../load/lake-writer.js';
import { checkAccounted } from '../load/accounting.js';
import { fsyncFileAsync, renameDurably } from '../load/file-io.js';
import { catalogText, quarantineTempPath, rejudgedRecords, writeQuarantine, type RejectedRecord } from '../load/quarantine.js';
import { openRecordsNear } from '../catalog/quarantine-catalog.js';
import { compileTransform, needsReadOrder, producedColumns, resolveFoldsSql, sourceReadTypes } from '../transform/compile-transform.js';
import { compileRecordRules } from '../validate/record-rules.js';
import { compileSeriesRules, lookbackBars, seriesSettings } from '../validate/series-rules.js';
import { applySessionRule } from '../validate/session-rule.js';
import { intervalSql, isSessionLabelled } from '../core/granularity.js';
import { recoverPendingWrites } from './recover.js';

export interface IngestOptions {
  readonly window: TimeWindow;
  readonly symbols: readonly string[] | null;
  readonly dryRun: boolean;
  readonly runId: string | null;
  /** Read every input, also those a committed batch already read unchanged. */
  readonly full?: boolean;
  /** Vendor jobs: fetch closed windows again instead of reusing their landed pages. */
  readonly refetch?: boolean;
}

export interface IngestResult {
  readonly job: string;
  /** One batch per chunk of inputs. */
  readonly batchIds: readonly string[];
  readonly dryRun: boolean;
  readonly inputs: number;
  /** Inputs not read because a committed batch read them unchanged, under the same rules. */
  readonly skipped: number;
  readonly counts: BatchCounts;
  readonly partitions: { readonly touched: number; readonly written: number; readonly unchanged: number };
  readonly writes: readonly { readonly uri: string; readonly rows: number; readonly changes: number; readonly sha256: string | null }[];
  readonly quarantine: { readonly files: readonly string[]; readonly rows: number } | null;
}

/**
 * Runs one job: adapter -> transform -> validate -> load, in chunks of inputs so that memory
 * stays bounded whatever the size of the run. Each chunk is one batch: staged, written and
 * committed before the next is read.
 */
export async function runIngest(ctx: Context, job: Job, options: IngestOptions): Promise<IngestResult> {
  const window = intersectWindows(parseWindow(job.spec.window?.from, job.spec.window?.to, 'window.'), options.window);
  const symbols = normalizeSymbols(job, options.symbols ?? job.spec.symbols ?? null);
  const adapter = adapters[job.spec.source.adapter];
  const def = job.dataset;
  const request: ExtractRequest = {
    job,
    from: window.from,
    toExclusive: window.toExclusive,
    symbols,
    columns: sourceReadTypes(job.transform.value, def),
    numbered: needsReadOrder(job.transform.value, def, job.granularity),
  };
  const configKey = runConfigKey(job, window, symbols);
  const duck = await ctx.duck();
  const { ref, base } = seriesOf(ctx, job);

  if (options.dryRun) {
    // A vendor job fetches nothing: it names the requests it would send, and reads the pages
    // of closed windows that earlier runs landed.
    const planned: string[] = [];
    const inputs = await adapter.list({ ...(await adapterContext(ctx, true)), plan: (r) => planned.push(r) }, request);
    if (planned.length > 0) {
      ctx.logger.warn(
        `${job.name} (dry run): ${planned.length} request${planned.length === 1 ? '' : 's'} to ${adapter.name} would be sent, each one of its daily budget; ` +
          `nothing was fetched, so only pages landed before are read below`,
      );
      for (const r of planned.slice(0, 10)) ctx.logger.info(`  would ask ${adapter.name} ${r}`);
      if (planned.length > 10) ctx.logger.info(`  ... and ${planned.length - 10} more`);
    }
    const result = new ResultBuilder(job.name, true, inputs.length);
    for (const chunk of chunked(inputs, ctx.settings.chunkBytes)) {
      const raw = await readChecked(ctx, duck, adapter, request, chunk, base.grain);
      try {
        const plan = await stageBatch(duck, { ...base, runBatchIds: [] }, await rejectsOf(duck, raw), raw.inputs);
        checkAccounted(raw.records, plan.lineage);
        result.add(randomUUID(), plan, [], null);
      } finally {
        await releaseChunk(duck, raw);
      }
    }
    return result.build();
  }

  const catalog = await ctx.catalog(`mdw ingest ${job.name}`);
  return catalog.withLock(seriesLock(ref), ctx.settings.lockTimeoutMs, async () => {
    // Listing fetches a vendor job's pages: under the series lock, so two runs of one job do
    // not both fetch (the second waits, or exits 4).
    const inputs = await adapter.list({ ...(await adapterContext(ctx, false, options.runId)), refetch: Boolean(options.refetch) }, request);
    const result = new ResultBuilder(job.name, false, inputs.length);
    const ids = await ensureSeries(catalog.sql, ref);
    await recoverPendingWrites(ctx, catalog, def, ids, ref.granularity, ref.source);
    const known = options.full ? new Map<string, string>() : await readInputs(catalog.sql, ids, ref.granularity, configKey, inputs.map((i) => i.uri));
    const fresh = inputs.filter((i) => known.get(i.uri) !== i.fingerprint);
    result.skip(inputs.length - fresh.length);
    if (fresh.length < inputs.length) ctx.logger.info(`${job.name}: ${inputs.length - fresh.length} of ${inputs.length} inputs are unchanged since they were loaded; skipping them (--full reads them again)`);
    const chunks = chunked(fresh, ctx.settings.chunkBytes);
    // Chunk k+1 is read (DuckDB) while chunk k is committed (hashing, fsync, the catalog): the
    // two use different threads. Staging k+1 waits for k's commit, as it compares with the lake.
    const read = (i: number) => {
      if (chunks.length > 1) ctx.progress.step(`${job.name}: chunk ${i + 1} of ${chunks.length} (${chunks[i]!.length} inputs)`);
      return readChecked(ctx, duck, adapter, request, chunks[i]!, base.grain);
    };
    let next: Promise<ReadChunk> | null = chunks.length > 0 ? read(0) : null;
    try {
      for (let i = 0; i < chunks.length; i++) {
        const raw = await next!;
        next = null;
        const lap = stopwatch();
        const commit: CommitTo = { catalog, ids, ref, batchId: randomUUID(), runId: options.runId, configKey };
        const written = await writeChunk(ctx, duck, raw, { ...base, runBatchIds: result.batchIds }, commit, lap);
        if (i + 1 < chunks.length) next = read(i + 1);
        const done = await commitChunk(ctx, chunks[i]!, written, commit);
        lap('seal and commit');
        ctx.logger.debug(`${job.name}: chunk ${i + 1} of ${chunks.length}, ${written.plan.counts.recordsIn} records: timings (ms)`, { ...raw.timings, ...lap.all() });
        result.add(commit.batchId, written.plan, done, written.quarantine);
      }
    } finally {
      // A failed commit must not leave a read running against tables the next run reuses.
      await next?.catch(() => {});
    }
    return result.build();
  });
}

export interface CommitTo {
  readonly catalog: Catalog;
  readonly ids: SeriesIds;
  readonly ref: SeriesRef;
  readonly batchId: string;
  readonly runId: string | null;
  readonly configKey: string;
}

export interface WrittenChunk {
  /** Replays only: each record's state after staging and why, in read order ('ok', 'same', 'dup' were placed). */
  readonly states?: readonly { readonly state: string; readonly detail: string | null }[];
  readonly plan: StagePlan;
  readonly files: readonly WrittenPartition[];
  readonly quarantine: { file: string; rows: number; records: readonly RejectedRecord[] } | null;
  readonly summary: readonly SummaryWrite[];
  /** Open quarantined records of earlier batches that this chunk judged again. */
  readonly superseded: readonly string[];
}

/** Reject rows of a chunk's read, kept in their own table. */
async function rejectsOf(duck: DuckSession, raw: RawBatch): Promise<string | null> {
  if (!raw.rejects) return null;
  await duck.run(`CREATE OR REPLACE TABLE mdw_rejects AS SELECT * FROM ${raw.rejects}`);
  return 'mdw_rejects';
}

async function releaseChunk(duck: DuckSession, raw: RawBatch): Promise<void> {
  removeScratch(raw);
  await releaseStage(duck);
  await duck.run('DROP TABLE IF EXISTS mdw_rejects');
}

/**
 * Everything DuckDB does for a read chunk: stage, write the partition files, the quarantine. A
 * replay of quarantined records writes no new quarantine (what still fails stays where it is)
 * and reports each record's state instead.
 */
export async function writeChunk(
  ctx: Context,
  duck: DuckSession,
  raw: ReadChunk,
  target: SeriesTarget,
  commit: CommitTo,
  lap: (name: string) => void,
  mode: 'ingest' | 'replay' = 'ingest',
): Promise<WrittenChunk> {
  const job = raw.job;
  try {
    const rejects = await rejectsOf(duck, raw);
    const plan = await stageBatch(duck, target, rejects, raw.inputs);
    checkAccounted(raw.records, plan.lineage);
    await keepRawOfLateRejects(duck, raw, job);
    const input = await inputFindings(duck, job);
    lap('stage');
    const dirty = plan.partitions.filter((p) => p.changes > 0).length;
    ctx.progress.step(`${job.name}: ${plan.counts.recordsIn} records; writing ${dirty} of ${plan.partitions.length} partitions`);
    // Small partition files are written many at a time: each COPY is mostly one thread, and
    // creating and closing files waits on the disk.
    const files = await writePartitions(duck, target, plan, commit.batchId, Math.max(4, 4 * ctx.settings.duckdbThreads));
    lap('write partitions');
    const flagged: SummaryWrite[] = Object.entries(target.series ? await flagCounts(duck, files, commit.batchId, target.series.threshold) : {}).map(([rule, rows]) => ({
      kind: 'series',
      rule,
      rows,
    }));
    if (mode === 'replay') {
      const states = await duck.all<{ state: string; detail: string | null }>(`SELECT _state AS state, _detail AS detail FROM ${checkedTable} ORDER BY rowid`);
      return { plan, files, quarantine: null, summary: flagged, states, superseded: [] };
    }
    const quarantine = await writeQuarantine(
      duck,
      {
        root: ctx.paths.quarantine,
        batchId: commit.batchId,
        job: job.name,
        dataset: job.dataset,
        columns: target.columns,
        source: target.source,
        granularity: target.granularity,
        day: ctx.clock.now().toISOString().slice(0, 10),
      },
      rejects,
      plan.removed,
    );
    const superseded = await rejudged(duck, job, commit, raw.inputs);
    lap('quarantine');
    const summary: SummaryWrite[] = [...ruleCounts(quarantine?.records ?? []), ...flagged, ...input, ...raw.responses];
    return { plan, files, quarantine, summary, superseded };
  } finally {
    await releaseChunk(duck, raw);
  }
}

/** Open quarantined records of the series, of earlier batches, that the staged chunk read again. */
async function rejudged(duck: DuckSession, job: Job, commit: CommitTo, uris: readonly string[]): Promise<string[]> {
  const sym = job.dataset.symbolColumn;
  const symbols = sym
    ? (await duck.all<{ s: string }>(`SELECT DISTINCT ${catalogText(ident(sym))} AS s FROM ${checkedTable} WHERE _state <> 'filtered' AND ${ident(sym)} IS NOT NULL`)).map((r) => r.s)
    : [];
  const open = await openRecordsNear(commit.catalog.sql, { ...commit.ids, granularity: commit.ref.granularity }, uris, symbols);
  return open.length === 0 ? [] : rejudgedRecords(duck, job.dataset, open, uris);
}

/** Rejected records per rule (a record that broke two rules counts for each). */
function ruleCounts(records: readonly RejectedRecord[]): SummaryWrite[] {
  const n = new Map<string, number>();
  for (const r of records) for (const rule of r.rules) n.set(rule, (n.get(rule) ?? 0) + 1);
  return [...n].map(([rule, rows]) => ({ kind: 'record', rule, rows }));
}

/**
 * What the reader saw in the order of the input: exact repeats of a bar (kept once), and bars
 * that came earlier in time than the bar before them in the same input (stored in order).
 */
async function inputFindings(duck: DuckSession, job: Job): Promise<SummaryWrite[]> {
  const def = job.dataset;
  // Events and reference records come in whatever order the vendor lists them.
  if (!kindOf(def).ordered) return [];
  const ts = ident(def.timeColumn);
  const sameSeries = def.symbolColumn ? ` AND a.${ident(def.symbolColumn)} = b.${ident(def.symbolColumn)}` : '';
  const [r] = await duck.all<{ dup: number; ooo: number }>(
    `SELECT (SELECT count(*) FROM ${checkedTable} WHERE _state = 'dup') AS dup, ` +
      `(SELECT count(*) FROM ${checkedTable} a JOIN ${checkedTable} b ON b.rowid = a.rowid + 1 ` +
      `WHERE a._file = b._file${sameSeries} AND b.${ts} < a.${ts} AND b._state <> 'filtered') AS ooo`,
  );
  return [
    { kind: 'input', rule: 'duplicate', rows: Number(r!.dup) },
    { kind: 'input', rule: 'out_of_order', rows: Number(r!.ooo) },
  ];
}

/**
 * Makes a chunk's files durable, records its batch in the catalog, renames the files into place.
 * `replayed`: quarantined records this chunk loaded, marked replayed in the same transaction.
 */
export async function commitChunk(
  ctx: Context,
  inputs: readonly InputRef[],
  chunk: WrittenChunk,
  commit: CommitTo,
  replayed: readonly string[] = [],
): Promise<SealedPartition[]> {
  const { plan, quarantine } = chunk;
  const sealed = await sealPartitions(chunk.files);
  if (quarantine) await fsyncFileAsync(quarantineTempPath(quarantine.file, commit.ref.granularity));
  const fingerprints = new Map(inputs.map((i) => [i.uri, i.fingerprint]));
  const uriOf = (pid: number | null) => (pid === null ? null : plan.partitions[pid]!.uri);
  await recordBatch(
    commit.catalog.sql,
    commit.ids,
    commit.ref,
    {
      id: commit.batchId,
      runId: commit.runId,
      counts: plan.counts,
      quarantineUri: quarantine ? path.relative(ctx.settings.home, quarantine.file) : null,
      at: ctx.clock.now(),
    },
    sealed.map((w) => ({
      uri: w.plan.uri,
      tmpUri: path.relative(ctx.paths.lake, w.tmpPath).split(path.sep).join('/'),
      supersedes: w.plan.current?.uri ?? null,
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
      fingerprint: fingerprints.get(l.input) ?? null,
      configKey: commit.configKey,
    })),
    plan.symbols,
    { rejected: quarantine?.records ?? [], summary: chunk.summary, replayed, superseded: chunk.superseded },
  );
  commitPartitions(sealed);
  if (quarantine) renameDurably(quarantineTempPath(quarantine.file, commit.ref.granularity), quarantine.file);
  if (sealed.length > 0) await completeBatch(commit.catalog.sql, commit.batchId, ctx.clock.now());
  return sealed;
}

/**
 * Extracts a chunk's raw records and runs them through the transform and the record rules
 * into the table `checked`, in read order, each row with its partition period and `_state`:
 * 'ok', 'bad' (quarantine) or 'filtered' (outside the window or the symbols). One pass.
 */
export async function readChecked(
  ctx: Context,
  duck: DuckSession,
  adapter: Adapter,
  request: ExtractRequest,
  inputs: readonly InputRef[],
  grain: PartitionRule,
): Promise<ReadChunk> {
  const started = performance.now();
  const { job } = request;
  const def = job.dataset;
  const columns = producedColumns(job.transform.value, def);
  const inScope = scopeSql(def.timeColumn, def.symbolColumn, request);
  const known = [def.timeColumn, def.symbolColumn].filter((c): c is string => c !== null).map((c) => `${ident(c)} IS NOT NULL`);
  const period = periodSql(grain.period, ident(def.timeColumn));
  const rules = compileRecordRules({ rules: job.validation.value, dataset: def, columns, now: ctx.clock.now() });
  const read = async (raw: RawBatch) => {
    for (const statement of raw.prepare) await duck.run(statement);
    // Rows keep read order as their rowid (re-established by _rn where a join shuffled it).
    // _rules and _detail are text, filled in below for the few failed rows only: an update of
    // text keeps a row in place, while DuckDB moves a row whose list changes.
    await duck.run(
      `CREATE OR REPLACE TABLE ${checkedTable} AS ` +
        `SELECT * EXCLUDE (_raw), ${period} AS _period, NULL::VARCHAR AS _rules, NULL::VARCHAR AS _detail, ` +
        `CASE WHEN _state = 'bad' THEN to_json(_raw) END AS _raw_json FROM (` +
        `SELECT *, CASE WHEN ${[...known, `NOT (${inScope})`].join(' AND ')} THEN 'filtered' WHEN ${rules.failed} THEN 'bad' ELSE 'ok' END AS _state ` +
        `FROM (${transformSql(job, raw)}))${raw.numbered ? ' ORDER BY _rn' : ''}`,
    );
    await duck.run(rules.explain(checkedTable, `_state = 'bad'`));
    if (!job.calendar || !job.validation.value.rules.some((r) => r.rule === 'in_session')) return 0;
    const { outsideHours } = await applySessionRule(duck, checkedTable, { calendar: job.calendar, granularity: job.granularity, extended: job.spec.extended_hours ?? false });
    return outsideHours;
  };
  const context = await adapterContext(ctx, true);
  const raw = await adapter.extract(context, request, inputs);
  try {
    ctx.progress.step(`${job.name}: reading ${inputs.length} input${inputs.length === 1 ? '' : 's'}`);
    await afterRead(ctx, duck, raw, job, grain, await read(raw));
    return { ...raw, job, responses: responseFindings(inputs), timings: { 'read, transform, validate': Math.round(performance.now() - started) } };
  } catch (err) {
    removeScratch(raw);
    throw err;
  }
}

/** What follows the read of a chunk into `checked`: folds, and checks of what was read. */
async function afterRead(ctx: Context, duck: DuckSession, raw: RawBatch, job: Job, grain: PartitionRule, outsideHours: number): Promise<void> {
  const def = job.dataset;
  if (outsideHours > 0) {
    ctx.logger.info(
      `${job.name}: ${outsideHours} bar${outsideHours === 1 ? ' lies' : 's lie'} in the pre- or post-market, outside the job's regular hours: left out (extended_hours: true keeps them)`,
    );
  }
  if (def.symbolColumn) {
    const nameless = await duck.all<{ f: string; n: number }>(
      `SELECT _file AS f, count(*) AS n FROM ${checkedTable} GROUP BY _file HAVING count(${ident(def.symbolColumn)}) = 0 ORDER BY 1`,
    );
    for (const { f, n } of nameless) ctx.logger.warn(`no symbol could be read for any of the ${n} records of ${f}: check the transform's symbol rule`);
  }
  const [folds] = await duck.all<{ n: number }>(`SELECT count(*) AS n FROM ${checkedTable} WHERE _fold`);
  if (folds!.n > 0) {
    await duck.run(resolveFoldsSql(checkedTable, def, [`_period = ${periodSql(grain.period, `(${ident(def.timeColumn)} - INTERVAL 1 HOUR)`)}`]));
    ctx.logger.info(`${folds!.n} local times fell in the repeated hour of an autumn clock change; the first of each is read as daylight time`);
  }
  const stray = await duck.all<{ f: string }>(`SELECT DISTINCT _file AS f FROM ${checkedTable} WHERE _file NOT IN (SELECT unnest(${stringList(raw.inputs)}))`);
  if (stray.length > 0) throw new SourceError(`the reader returned rows of files the job did not name: ${stray.map((r) => r.f).join(', ')}`);
}

/** Removes the files a reader wrote for a chunk. */
function removeScratch(raw: RawBatch): void {
  for (const dir of raw.scratch ?? []) rmSync(dir, { recursive: true, force: true });
}

/** A chunk read into `checked`. */
export interface ReadChunk extends RawBatch {
  readonly job: Job;
  /** Where the chunk's landed pages contradicted their requests, per rule (kind 'input'). */
  readonly responses: readonly SummaryWrite[];
  readonly timings: Record<string, number>;
}

/** The records of pages that contradicted their requests, per rule. */
function responseFindings(inputs: readonly InputRef[]): SummaryWrite[] {
  const rows = new Map<string, number>();
  for (const f of inputs.flatMap((i) => i.findings ?? [])) rows.set(f.rule, (rows.get(f.rule) ?? 0) + f.rows);
  return [...rows].map(([rule, n]) => ({ kind: 'input', rule, rows: n }));
}

function transformSql(job: Job, raw: RawBatch): string {
  return compileTransform({
    rules: job.transform.value,
    dataset: job.dataset,
    granularity: job.granularity,
    calendar: job.calendar,
    sourceColumns: raw.columns,
    from: raw.relation,
    numbered: raw.numbered,
  });
}

/**
 * Rows that disagree on one key, or fall outside the calendar's sessions, are only found after
 * the transform, when their raw form is no longer kept (keeping it for every row would double a
 * chunk in memory). For those few rows their inputs are read again, so the quarantine shows
 * them as the source had them.
 */
async function keepRawOfLateRejects(duck: DuckSession, raw: ReadChunk, job: Job): Promise<void> {
  const def = job.dataset;
  const late = `_state IN ('bad', 'conflict') AND _raw_json IS NULL`;
  const files = (await duck.all<{ f: string }>(`SELECT DISTINCT _file AS f FROM ${checkedTable} WHERE ${late}`)).map((r) => r.f);
  if (files.length === 0) return;
  const match = producedColumns(job.transform.value, def)
    .map((c) => `${checkedTable}.${ident(c)} IS NOT DISTINCT FROM r.${ident(c)}`)
    .join(' AND ');
  await duck.run(
    `UPDATE ${checkedTable} SET _raw_json = r.raw FROM (` +
      `SELECT *, to_json(_raw) AS raw FROM (${transformSql(job, raw)}) WHERE _file IN (SELECT unnest(${stringList(files)}))` +
      `) r WHERE ${checkedTable}._state IN ('bad', 'conflict') AND ${checkedTable}._raw_json IS NULL AND ${checkedTable}._file = r._file AND ${match}`,
  );
}

/**
 * What an adapter may use: vendor adapters fetch through the catalog's shared request budget,
 * which a dry run (and extract, which only reads what list landed) does without.
 */
async function adapterContext(ctx: Context, withoutBudget: boolean, runId: string | null = null): Promise<AdapterContext> {
  const catalog = withoutBudget ? null : await ctx.catalog();
  const day = () => ctx.clock.now().toISOString().slice(0, 10);
  return {
    logger: ctx.logger,
    env: ctx.env,
    lakeRoot: ctx.paths.lake,
    configDir: ctx.settings.configDir,
    tmpDir: ctx.paths.tmp,
    now: ctx.clock.now(),
    budget: catalog ? { spend: (vendor, limit) => spendRequest(catalog.sql, vendor, day(), limit, ctx.clock.now()) } : null,
    pages: catalog ? (page) => recordRawPage(catalog.sql, page, runId) : null,
    plan: null,
    refetch: false,
  };
}

/** Where a job's rows go: the catalog's series, and the writer's target (less the run's batches). */
export function seriesOf(ctx: Context, job: Job): { ref: SeriesRef; base: Omit<SeriesTarget, 'runBatchIds'> } {
  const def = job.dataset;
  const ref: SeriesRef = {
    dataset: def.name,
    datasetDescription: def.description,
    source: job.spec.source.name,
    adapter: job.spec.source.adapter,
    granularity: job.granularity.text,
    job: job.name,
  };
  const base = {
    dataset: def,
    columns: producedColumns(job.transform.value, def),
    grain: job.partition,
    series: seriesWrite(job),
    source: ref.source,
    granularity: ref.granularity,
    lakeRoot: ctx.paths.lake,
  };
  return { ref, base };
}

/** The lock every load of one series takes. */
export function seriesLock(ref: SeriesRef): string {
  return `mdw:load:${ref.dataset}:${ref.source}:${ref.granularity}`;
}

/** The job's series rules as the writer applies them (none for datasets that are not bars). */
export function seriesWrite(job: Job): SeriesWrite | null {
  if (!kindOf(job.dataset).scored) return null;
  const settings = seriesSettings(job.validation.value);
  const bars = lookbackBars(settings);
  return {
    rules: compileSeriesRules(settings, isSessionLabelled(job.granularity)),
    threshold: settings.threshold,
    bars,
    // Far enough back to find that many bars across a weekend and a holiday.
    interval: `(${bars * 3} * ${intervalSql(job.granularity)} + INTERVAL 4 DAY)`,
  };
}

/** Symbols asked for by a person, in the case the transform stores them (upper by default). */
function normalizeSymbols(job: Job, symbols: readonly string[] | null): string[] | null {
  if (!symbols) return null;
  const kase = job.transform.value.symbol?.case ?? 'upper';
  return symbols.map((s) => (kase === 'upper' ? s.toUpperCase() : kase === 'lower' ? s.toLowerCase() : s));
}

function scopeSql(ts: string, symbol: string | null, request: ExtractRequest): string {
  const terms: string[] = [];
  if (request.from) terms.push(`${ident(ts)} >= ${timestampLiteral(request.from)}`);
  if (request.toExclusive) terms.push(`${ident(ts)} < ${timestampLiteral(request.toExclusive)}`);
  if (request.symbols && symbol) terms.push(`${ident(symbol)} IN (SELECT unnest(${stringList(request.symbols)}))`);
  return terms.length ? terms.join(' AND ') : 'TRUE';
}

/**
 * What an input's rows depend on besides its bytes: the rules that read and check them, where
 * they go, and the scope of the run. An input read before under another key is read again.
 */
function runConfigKey(job: Job, window: TimeWindow, symbols: readonly string[] | null): string {
  const what = {
    dataset: job.dataset.name,
    granularity: job.granularity.text,
    transform: job.transform.value,
    read: job.spec.source.read ?? null,
    validation: job.validation.value,
    partition: job.partition,
    window: [window.from?.toISOString() ?? null, window.toExclusive?.toISOString() ?? null],
    symbols,
  };
  return createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 32);
}

/** Inputs in order, grouped so that each group holds about `bytes` (one big input stays alone). */
function chunked(inputs: readonly InputRef[], bytes: number): InputRef[][] {
  const out: InputRef[][] = [];
  let current: InputRef[] = [];
  let size = 0;
  for (const input of inputs) {
    if (current.length > 0 && size + input.bytes > bytes) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(input);
    size += input.bytes;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Named laps of wall time, for the debug log. */
export function stopwatch(): ((name: string) => void) & { all(): Record<string, number> } {
  let last = performance.now();
  const laps: Record<string, number> = {};
  const lap = (name: string) => {
    const now = performance.now();
    laps[name] = Math.round(now - last);
    last = now;
  };
  return Object.assign(lap, { all: () => ({ ...laps }) });
}

/** Sums the chunks of a run into one result. */
class ResultBuilder {
  readonly batchIds: string[] = [];
  private skipped = 0;
  private counts: BatchCounts = { recordsIn: 0, out: 0, deduped: 0, quarantined: 0, filtered: 0 };
  private touched = 0;
  private unchanged = 0;
  private readonly writes: IngestResult['writes'][number][] = [];
  private readonly quarantineFiles: string[] = [];
  private quarantined = 0;

  constructor(
    private readonly job: string,
    private readonly dryRun: boolean,
    private readonly inputs: number,
  ) {}

  skip(n: number): void {
    this.skipped += n;
  }

  add(batchId: string, plan: StagePlan, written: readonly SealedPartition[], quarantine: WrittenChunk['quarantine']): void {
    this.batchIds.push(batchId);
    const c = plan.counts;
    this.counts = {
      recordsIn: this.counts.recordsIn + c.recordsIn,
      out: this.counts.out + c.out,
      deduped: this.counts.deduped + c.deduped,
      quarantined: this.counts.quarantined + c.quarantined,
      filtered: this.counts.filtered + c.filtered,
    };
    const byUri = new Map(written.map((w) => [w.plan.uri, w]));
    for (const p of plan.partitions) {
      this.touched++;
      if (p.changes === 0) this.unchanged++;
      else this.writes.push({ uri: p.uri, rows: byUri.get(p.uri)?.rows ?? p.changes, changes: p.changes, sha256: byUri.get(p.uri)?.sha256 ?? null });
    }
    if (quarantine) {
      this.quarantineFiles.push(quarantine.file);
      this.quarantined += quarantine.rows;
    }
  }

  build(): IngestResult {
    return {
      job: this.job,
      batchIds: this.batchIds,
      dryRun: this.dryRun,
      inputs: this.inputs,
      skipped: this.skipped,
      counts: this.counts,
      partitions: { touched: this.touched, written: this.writes.length, unchanged: this.unchanged },
      writes: this.writes,
      quarantine: this.quarantineFiles.length ? { files: this.quarantineFiles, rows: this.quarantined } : null,
    };
  }
}
