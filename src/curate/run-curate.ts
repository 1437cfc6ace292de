import { addDays, type TradingCalendar } from '../calendar/calendar.js';
import type { CurateJob } from '../config/curate.js';
import { pathList } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { jobFromText, type Job } from '../config/jobs.js';
import type { Context } from '../context.js';
import { encodeSegment } from '../lake/layout.js';
import { localStore } from '../lake/local-store.js';
import { childUri } from '../lake/store.js';
import { runIngest, type IngestResult } from '../pipeline/run-ingest.js';
import { allSeriesFiles } from '../query/lake-files.js';
import { adjustmentRowsSql } from './adjustments.js';

export interface CurateOptions {
  /** Only these symbols (in place of the job's), or null. */
  readonly symbols: readonly string[] | null;
  readonly dryRun: boolean;
  readonly runId: string | null;
}

export interface CurateResult {
  readonly job: string;
  /** Symbols with at least one action that adjusts their bars. */
  readonly symbols: number;
  /** Rows of the adjustment log computed (one per action). */
  readonly actions: number;
  /** Symbols whose log changed since the last run: only these are loaded again. */
  readonly changed: number;
  /** The load of the changed symbols' logs (adapter -> transform -> validate -> load, as any ingest); null for a dry run or no log at all. */
  readonly load: IngestResult | null;
}

/**
 * Runs a curate job: computes each symbol's adjustment log from the lake (the bars of one source
 * and the corporate actions of others), lands it per symbol as a JSON document beside the raw
 * pages (rewritten only when it changed), and loads those documents through the same stages as
 * any ingest into lake/curated/adjustments under the bars' source: record rules and quarantine,
 * atomic partition writes, manifest, lineage. A symbol whose log did not change is not read
 * again (its document is unchanged), so a run with nothing new writes nothing.
 */
export async function runCurate(ctx: Context, job: CurateJob, options: CurateOptions): Promise<CurateResult> {
  const lake = ctx.paths.lake;
  const bars = job.bars;
  const duck = await ctx.duck();
  ctx.progress.step(`${job.name}: computing the adjustment log of ${bars.spec.source.name} ${bars.granularity.text}`);
  const barFiles = allSeriesFiles(lake, 'ohlcv', bars.spec.source.name, bars.granularity.text);
  const rows = await duck.all<Record<string, unknown> & { symbol: string }>(
    adjustmentRowsSql({
      bars: barFiles,
      sessions: bars.calendar ? await sessionsSpanned(duck, barFiles, bars.calendar) : null,
      actions: job.actions.map((a) => ({ source: a.spec.source.name, files: allSeriesFiles(lake, 'corporate_actions', a.spec.source.name, a.granularity.text) })),
      adjustedFor: job.adjustedFor,
      symbols: options.symbols ?? job.symbols,
    }),
  );
  const bySymbol = new Map<string, Record<string, unknown>[]>();
  for (const r of rows) bySymbol.set(r.symbol, [...(bySymbol.get(r.symbol) ?? []), r]);
  const store = localStore(lake);
  const dir = landingDir(bars);
  let changed = 0;
  if (!options.dryRun) store.prepare(dir);
  for (const [symbol, log] of bySymbol) {
    const uri = childUri(dir, `${encodeSegment(symbol)}.json`);
    const text = `${JSON.stringify(log.map(plain))}\n`;
    if (store.stat(uri) && store.read(uri).toString('utf8') === text) continue;
    changed++;
    if (!options.dryRun) store.commit(store.writeTemp(uri, String(process.pid), text), uri);
  }
  // A dry run says what would change; nothing landed, so there is nothing new to load.
  const load =
    options.dryRun || store.list(dir).length === 0
      ? null
      : await runIngest(ctx, loadJob(ctx, job, store.locate(dir)), { window: { from: null, toExclusive: null }, symbols: options.symbols, dryRun: false, runId: options.runId });
  return { job: job.name, symbols: bySymbol.size, actions: rows.length, changed, load };
}

/** Where a bars source's adjustment logs land, one document per symbol (relative to the lake root). */
function landingDir(bars: Job): string {
  return `raw/source=${encodeSegment(bars.spec.source.name)}/dataset=adjustments/granularity=${encodeSegment(bars.granularity.text)}`;
}

/** A row as JSON writes it: numbers as numbers (DuckDB gives doubles), absent values left out. */
function plain(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]));
}

/** The ingest job that loads a curate job's landed logs: the bars' source and bar size, the adjustments dataset. */
function loadJob(ctx: Context, job: CurateJob, folder: string): Job {
  const text = [
    `name: ${JSON.stringify(job.name)}`,
    `description: ${JSON.stringify(`the adjustment log of ${job.bars.name}, as ${job.name} computes it`)}`,
    'dataset: adjustments',
    `granularity: ${JSON.stringify(job.bars.granularity.text)}`,
    `source: { name: ${JSON.stringify(job.bars.spec.source.name)}, adapter: file, files: [${JSON.stringify(`${folder}/*.json`)}] }`,
    'transform: curate-adjustments',
    '',
  ].join('\n');
  return jobFromText(ctx.settings.configDir, `${job.file} (its adjustments load)`, text, ctx.env);
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
