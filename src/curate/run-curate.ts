import { addDays, type TradingCalendar } from '../calendar/calendar.js';
import { splitAdjusted, type CurateJob, type CurateOutput } from '../config/curate.js';
import { jobFromText, type Job } from '../config/jobs.js';
import type { Context } from '../context.js';
import { pathList } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { decodeSegment, encodeSegment } from '../lake/layout.js';
import { curatedLandingDir } from '../lake/raw-landing.js';
import { localStore } from '../lake/local-store.js';
import { childUri } from '../lake/store.js';
import { runIngest, type IngestResult } from '../pipeline/run-ingest.js';
import { recordAdjustmentChanges, recordCurateInputs, settlePendingChanges, type AdjustmentChange, type CurateInputs } from '../catalog/curate-catalog.js';
import { allSeriesFiles } from '../query/lake-files.js';
import { adjustmentRowsSql } from './adjustments.js';
import { landGold } from './gold.js';
import { landResampled, markLoaded } from './resampled.js';
import type { LandOptions } from './landing.js';

export interface CurateOptions {
  /** Only these symbols (in place of the job's), or null. */
  readonly symbols: readonly string[] | null;
  readonly dryRun: boolean;
  readonly runId: string | null;
}

/** What one output of a curate job did. */
export interface CurateResult {
  readonly job: string;
  readonly output: CurateOutput;
  /** resampled: the bar size built (one result per size). */
  readonly granularity?: string;
  /** adjustments: symbols with an action that adjusts their bars; gold: partitions of the sources read; resampled: symbols' folders (or whole series) of the bars. */
  readonly units: number;
  /** adjustments: actions logged; gold: bars chosen in the partitions computed; resampled: bars built in the groups computed. */
  readonly rows: number;
  /** Documents (adjustments: a symbol's log; gold: a partition) that changed since the last run: only these are loaded again. */
  readonly changed: number;
  /** The load of what changed (adapter -> transform -> validate -> load, as any ingest); null for a dry run or nothing at all. */
  readonly load: IngestResult | null;
}

/**
 * Runs a curate job's outputs. Each computes its rows from the lake in DuckDB, lands them as
 * documents beside the raw pages (a document rewritten only when its content changed), and loads
 * them through the same stages as any ingest into lake/curated/: record and series rules,
 * quarantine, atomic partition writes, manifest, lineage. A document that did not change is not
 * read again, so a run with nothing new writes nothing.
 */
export async function runCurate(ctx: Context, job: CurateJob, options: CurateOptions): Promise<CurateResult[]> {
  const results: CurateResult[] = [];
  if (job.adjustments) results.push(await runAdjustments(ctx, job, job.adjustments, options));
  if (job.gold) {
    const gold = job.gold;
    ctx.progress.step(`${job.name}: choosing the gold series ${gold.name} from ${gold.sources.map((s) => s.spec.source.name).join(', ')}`);
    const landed = await landGold(ctx, gold, landOptions(ctx, job, options));
    const load = await loadLanded(ctx, options, landed.empty, () => curatedLoad(ctx, job, 'gold').job);
    results.push({ job: job.name, output: 'gold', units: landed.partitions, rows: landed.rows, changed: landed.changed, load });
  }
  if (job.resample) {
    const spec = job.resample;
    for (const to of spec.to) {
      ctx.progress.step(`${job.name}: resampling ${spec.bars.spec.source.name} ${spec.bars.granularity.text} bars to ${to.text} on ${spec.calendar.name}`);
      const landed = await landResampled(ctx, spec, to, landOptions(ctx, job, options));
      const load = await loadLanded(ctx, options, landed.empty, () => curatedLoad(ctx, job, 'resampled', to.text).job);
      // Readers take stored bars only once their load committed, and not those of a load that quarantined some.
      if (load) markLoaded(ctx.paths.lake, spec.bars.spec.source.name, to.text, load.counts.quarantined === 0);
      results.push({ job: job.name, output: 'resampled', granularity: to.text, units: landed.groups, rows: landed.rows, changed: landed.changed, load });
    }
  }
  return results;
}

async function runAdjustments(ctx: Context, job: CurateJob, spec: NonNullable<CurateJob['adjustments']>, options: CurateOptions): Promise<CurateResult> {
  const lake = ctx.paths.lake;
  const { bars } = spec;
  const duck = await ctx.duck();
  ctx.progress.step(`${job.name}: computing the adjustment log of ${bars.spec.source.name} ${bars.granularity.text}`);
  const barFiles = allSeriesFiles(lake, 'ohlcv', bars.spec.source.name, bars.granularity.text);
  const rows = await duck.all<Record<string, unknown> & { symbol: string }>(
    adjustmentRowsSql({
      bars: barFiles,
      sessions: bars.calendar ? await sessionsSpanned(duck, barFiles, bars.calendar) : null,
      // Each source once, at its first job's priority.
      actions: spec.actions
        .filter((a, i) => spec.actions.findIndex((o) => o.spec.source.name === a.spec.source.name) === i)
        .map((a) => ({ source: a.spec.source.name, files: allSeriesFiles(lake, 'corporate_actions', a.spec.source.name, a.granularity.text), splitAdjusted: splitAdjusted(a) })),
      adjustedFor: spec.adjustedFor,
      symbols: options.symbols ?? job.symbols,
    }),
  );
  const bySymbol = new Map<string, Record<string, unknown>[]>();
  for (const r of rows) {
    const log = bySymbol.get(r.symbol);
    if (log) log.push(r);
    else bySymbol.set(r.symbol, [r]);
  }
  const store = localStore(lake);
  const dir = curatedLandingDir(bars.spec.source.name, 'adjustments', bars.granularity.text);
  let changed = 0;
  const changes: AdjustmentChange[] = [];
  const inputs: CurateInputs[] = [];
  const writes: { uri: string; text: string }[] = [];
  // A log's closes come from the bars' files; its actions' batches are in its rows.
  const barUris = barFiles.map((f) => store.uriOf(f));
  if (!options.dryRun) store.prepare(dir);
  // Every symbol with actions now, and every symbol with a log landed before (its actions may all be gone).
  const only = options.symbols ?? job.symbols;
  const landed = store
    .list(dir)
    .filter((e) => !e.folder && e.name.endsWith('.json'))
    .map((e) => decodeSegment(e.name.slice(0, -'.json'.length)))
    .filter((symbol) => !only || only.includes(symbol));
  for (const symbol of [...new Set([...bySymbol.keys(), ...landed])].sort()) {
    const uri = childUri(dir, `${encodeSegment(symbol)}.json`);
    const stored = store.stat(uri) ? store.read(uri).toString('utf8') : null;
    const before = stored === null ? [] : (JSON.parse(stored) as LogRow[]);
    const doc = withWithdrawn(before, (bySymbol.get(symbol) ?? []).map(plain) as unknown as LogRow[]);
    const text = `${JSON.stringify(doc)}\n`;
    if (stored === text) continue;
    changed++;
    changes.push(...logChanges(symbol, before, doc));
    writes.push({ uri, text });
    inputs.push({ doc: store.locate(uri), partitions: barUris, actionBatches: doc.flatMap((r) => (r.action_batch ? [r.action_batch] : [])) });
  }
  const series = { job: job.name, source: bars.spec.source.name, granularity: bars.granularity.text };
  if (!options.dryRun) {
    // The changes and what the logs come from are recorded before the logs land, the changes as
    // pending (no curate batch yet): a run that dies in between finds the logs unchanged next
    // time and records the same changes again in their place. The load's batch settles them.
    if (changes.length > 0) await recordAdjustmentChanges((await ctx.catalog(`mdw curate ${job.name}`)).sql, { ...series, at: ctx.clock.now() }, changes);
    await recordInputs(ctx, job, options, inputs, []);
    for (const w of writes) store.commit(store.writeTemp(w.uri, String(process.pid), w.text), w.uri);
  }
  const load = await loadLanded(ctx, options, store.list(dir).length === 0, () => curatedLoad(ctx, job, 'adjustments').job);
  const batch = load?.batchIds.at(-1);
  if (batch) await settlePendingChanges((await ctx.catalog(`mdw curate ${job.name}`)).sql, series, only, batch);
  return { job: job.name, output: 'adjustments', units: bySymbol.size, rows: rows.length, changed, load };
}

/** A row of a landed adjustment log, as adjustmentRowsSql names its fields (absent ones left out). */
interface LogRow {
  readonly ex_date: string;
  readonly action: string;
  readonly action_batch?: string;
  readonly cash_amount?: number;
  readonly split_factor: number;
  readonly dividend_factor: number;
  /** The action is gone from its sources: kept with factors of 1, so that it adjusts nothing. */
  readonly withdrawn?: boolean;
}

const rowKey = (r: LogRow) => `${r.ex_date} ${r.action}`;

/**
 * A symbol's new log, with the actions of its previous log that its sources no longer have
 * kept as withdrawn (factors 1). A load never deletes a row, so a vanished action is neutralised
 * instead of left applying. Sorted by ex-date and action. Pure.
 */
export function withWithdrawn(before: readonly LogRow[], now: readonly LogRow[]): LogRow[] {
  const present = new Set(now.map(rowKey));
  const gone = before.filter((r) => !present.has(rowKey(r))).map((r) => ({ ...r, split_factor: 1, dividend_factor: 1, withdrawn: true }));
  return [...now, ...gone].sort((a, b) => rowKey(a).localeCompare(rowKey(b)));
}

/** What changed between a symbol's landed log and its new one: actions added, factors or amounts corrected, actions gone. Pure. */
export function logChanges(symbol: string, before: readonly LogRow[], after: readonly LogRow[]): AdjustmentChange[] {
  const factor = (r: LogRow | undefined) => (r ? r.split_factor * r.dividend_factor : null);
  // A withdrawn row stands for no action.
  const old = new Map(before.filter((r) => !r.withdrawn).map((r) => [rowKey(r), r]));
  const now = new Map(after.filter((r) => !r.withdrawn).map((r) => [rowKey(r), r]));
  const out: AdjustmentChange[] = [];
  for (const k of [...new Set([...old.keys(), ...now.keys()])].sort()) {
    const a = old.get(k);
    const b = now.get(k);
    if (a && b && factor(a) === factor(b) && (a.cash_amount ?? null) === (b.cash_amount ?? null)) continue;
    const r = (b ?? a)!;
    out.push({
      symbol,
      exDate: r.ex_date,
      action: r.action,
      change: !a ? 'added' : !b ? 'removed' : 'changed',
      oldFactor: factor(a),
      newFactor: factor(b),
      oldCash: a?.cash_amount ?? null,
      newCash: b?.cash_amount ?? null,
      oldActionBatch: a?.action_batch ?? null,
      newActionBatch: b?.action_batch ?? null,
    });
  }
  return out;
}

/** Records what the documents landed were computed from (nothing for a dry run, which lands nothing). */
async function recordInputs(ctx: Context, job: CurateJob, options: CurateOptions, inputs: readonly CurateInputs[], removed: readonly string[]): Promise<void> {
  if (options.dryRun || (inputs.length === 0 && removed.length === 0)) return;
  const { sql } = await ctx.catalog(`mdw curate ${job.name}`);
  await recordCurateInputs(sql, inputs, removed, ctx.clock.now());
}

function landOptions(ctx: Context, job: CurateJob, options: CurateOptions): LandOptions {
  return { symbols: options.symbols ?? job.symbols, dryRun: options.dryRun, record: (inputs, removed) => recordInputs(ctx, job, options, inputs, removed) };
}

/** Loads landed documents through the ingest stages; a dry run (nothing landed) or an empty folder loads nothing. */
async function loadLanded(ctx: Context, options: CurateOptions, empty: boolean, job: () => Job): Promise<IngestResult | null> {
  if (options.dryRun || empty) return null;
  return runIngest(ctx, job(), { window: { from: null, toExclusive: null }, symbols: options.symbols, dryRun: false, runId: options.runId });
}

/** A row as JSON writes it: numbers as numbers (DuckDB gives doubles), absent values left out. */
function plain(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]));
}

/** One curated series a curate job loads: its output, bar size, and the ingest job that loads its landed documents. */
export interface CuratedLoad {
  readonly output: CurateOutput;
  readonly granularity: string;
  readonly job: Job;
}

/**
 * The ingest jobs that load a curate job's landed documents into its curated datasets, one per
 * series (a resampled output: one per size), under the curate job's name: what curate runs and
 * what the audit checks.
 */
export function curatedLoads(configDir: string, lakeRoot: string, env: NodeJS.ProcessEnv, job: CurateJob): CuratedLoad[] {
  const store = localStore(lakeRoot);
  const landing = (source: string, dataset: string, granularity: string, ext: string) => `${store.locate(curatedLandingDir(source, dataset, granularity))}/*.${ext}`;
  const out: CuratedLoad[] = [];
  const add = (output: CurateOutput, load: { dataset: string; granularity: string; calendar: string | null; extended?: boolean; source: string; files: string; transform: string; what: string }) => {
    const text = [
      `name: ${JSON.stringify(job.name)}`,
      `description: ${JSON.stringify(`${load.what}, as ${job.name} computes it`)}`,
      `dataset: ${load.dataset}`,
      `granularity: ${JSON.stringify(load.granularity)}`,
      ...(load.calendar ? [`calendar: ${JSON.stringify(load.calendar)}`] : []),
      ...(load.extended ? ['extended_hours: true'] : []),
      `source: { name: ${JSON.stringify(load.source)}, adapter: file, files: [${JSON.stringify(load.files)}] }`,
      `transform: ${load.transform}`,
      '',
    ].join('\n');
    out.push({ output, granularity: load.granularity, job: jobFromText(configDir, `${job.file} (its ${load.dataset} load)`, text, env) });
  };
  if (job.adjustments) {
    const { bars } = job.adjustments;
    const source = bars.spec.source.name;
    add('adjustments', {
      dataset: 'adjustments',
      granularity: bars.granularity.text,
      calendar: null,
      source,
      files: landing(source, 'adjustments', bars.granularity.text, 'json'),
      transform: 'curate-adjustments',
      what: `the adjustment log of ${bars.name}`,
    });
  }
  if (job.gold) {
    const first = job.gold.sources[0]!;
    add('gold', {
      dataset: 'ohlcv_gold',
      granularity: first.granularity.text,
      calendar: first.calendar?.name ?? null,
      source: job.gold.name,
      files: landing(job.gold.name, 'ohlcv_gold', first.granularity.text, 'ndjson'),
      transform: 'curate-gold',
      what: `the gold series ${job.gold.name}`,
    });
  }
  if (job.resample) {
    const spec = job.resample;
    const source = spec.bars.spec.source.name;
    for (const to of spec.to) {
      add('resampled', {
        dataset: 'ohlcv_resampled',
        granularity: to.text,
        calendar: spec.calendar.name,
        extended: spec.extended,
        source,
        files: landing(source, 'ohlcv_resampled', to.text, 'ndjson'),
        transform: 'curate-resampled',
        what: `${spec.bars.name}'s bars resampled to ${to.text}`,
      });
    }
  }
  return out;
}

function curatedLoad(ctx: Context, job: CurateJob, output: CurateOutput, granularity?: string): CuratedLoad {
  return curatedLoads(ctx.settings.configDir, ctx.paths.lake, ctx.env, job).find((l) => l.output === output && (granularity === undefined || l.granularity === granularity))!;
}

/** The calendar's session dates from a week before the bars' first to a week after their last. */
async function sessionsSpanned(duck: DuckSession, files: readonly string[], calendar: TradingCalendar): Promise<string[]> {
  if (files.length === 0) return [];
  const [span] = await duck.all<{ first: string | null; last: string | null }>(
    `SELECT strftime(min(ts), '%Y-%m-%d') AS first, strftime(max(ts), '%Y-%m-%d') AS last FROM read_parquet(${pathList(files)}, hive_partitioning = false)`,
  );
  if (!span?.first || !span.last) return [];
  return calendar.sessions(addDays(span.first, -7), addDays(span.last, 7)).map((s) => s.date);
}
