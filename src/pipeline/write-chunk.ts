import type { RawBatch } from '../sources/source.js';
import type { SummaryWrite } from '../catalog/lake-catalog.js';
import type { Job } from '../config/jobs.js';
import type { Context } from '../context.js';
import { kindOf } from '../core/datasets.js';
import { ident } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { flagCounts } from '../load/series-score.js';
import { stageBatch } from '../load/stage.js';
import { checkedTable, releaseStage, type SeriesTarget, type StagePlan, type WrittenPartition } from '../load/staged-chunk.js';
import { writePartitions } from '../load/write-partitions.js';
import { checkAccounted } from '../load/accounting.js';
import { placedStates, quarantinedStates, stateIs, type RowState } from '../core/row-state.js';
import { isSessionLabelled } from '../core/granularity.js';
import { sessionsBehind } from '../calendar/calendar.js';
import type { SymbolStatusWrite } from '../catalog/symbol-status.js';
import { catalogText, rejudgedRecords, writeQuarantine, type RejectedRecord } from '../load/quarantine.js';
import { openRecordsNear } from '../catalog/quarantine-catalog.js';
import { keepRawOfLateRejects, removeScratch, type ReadChunk } from './read-chunk.js';
import type { CommitTo } from './series.js';

/**
 * A chunk staged and written: its partition files and quarantine written to temporary names,
 * neither yet durable nor in place, and what the catalog will record. commitChunk seals and
 * commits it; until then readers see nothing of it.
 */
export interface WrittenChunk {
  /** Replays only: each record's state after staging and why, in read order (the placedStates were placed). */
  readonly states?: readonly RecordState[];
  readonly plan: StagePlan;
  readonly files: readonly WrittenPartition[];
  readonly quarantine: { file: string; rows: number; records: readonly RejectedRecord[] } | null;
  readonly summary: readonly SummaryWrite[];
  /** Open quarantined records of earlier batches that this chunk judged again. */
  readonly superseded: readonly string[];
  /** What the chunk says of each symbol it holds, for mdw.symbol_status. */
  readonly symbols: readonly SymbolStatusWrite[];
}

/** What became of one staged record, and why. */
export interface RecordState {
  readonly state: RowState;
  readonly detail: string | null;
}

/**
 * Stages a read chunk against the lake (repeats, conflicts, what the lake holds, partitions
 * touched) and checks that every record read is accounted for. The stage stays for writeChunk;
 * a dry run reads what it needs (the plan, stagedStates) and calls releaseChunk.
 */
export async function stageChunk(duck: DuckSession, raw: RawBatch, target: SeriesTarget): Promise<{ plan: StagePlan; rejects: string | null }> {
  const rejects = await rejectsOf(duck, raw);
  const plan = await stageBatch(duck, target, rejects, raw.inputs);
  checkAccounted(raw.records, plan.lineage);
  return { plan, rejects };
}

/** Each staged record's state and why, in read order: what a replay reports per record. */
export async function stagedStates(duck: DuckSession): Promise<RecordState[]> {
  return duck.all<RecordState>(`SELECT _state AS state, _detail AS detail FROM ${checkedTable} ORDER BY rowid`);
}

/** Drops what a chunk left in DuckDB and the reader's scratch files: after writeChunk, or a dry run's stageChunk. */
export async function releaseChunk(duck: DuckSession, raw: RawBatch): Promise<void> {
  removeScratch(raw);
  await releaseStage(duck);
  await duck.run('DROP TABLE IF EXISTS mdw_rejects');
}

/** Reject rows of a chunk's read, kept in their own table. */
async function rejectsOf(duck: DuckSession, raw: RawBatch): Promise<string | null> {
  if (!raw.rejects) return null;
  await duck.run(`CREATE OR REPLACE TABLE mdw_rejects AS SELECT * FROM ${raw.rejects}`);
  return 'mdw_rejects';
}

/**
 * Everything DuckDB does for a read chunk: stage, write the partition files, the quarantine. A
 * replay of quarantined records writes no new quarantine (what still fails stays where it is)
 * and reports each record's state instead. Releases the chunk, also when it fails.
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
    const { plan, rejects } = await stageChunk(duck, raw, target);
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
      return { plan, files, quarantine: null, summary: flagged, states: await stagedStates(duck), superseded: [], symbols: symbolStatusOf(ctx, job, files, new Map()) };
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
    return { plan, files, quarantine, summary, superseded, symbols: symbolStatusOf(ctx, job, files, await symbolScores(duck, job)) };
  } finally {
    await releaseChunk(duck, raw);
  }
}

/** Open quarantined records of the series, of earlier batches, that the staged chunk read again. */
async function rejudged(duck: DuckSession, job: Job, commit: CommitTo, uris: readonly string[]): Promise<string[]> {
  const sym = job.dataset.symbolColumn;
  const symbols = sym
    ? (await duck.all<{ s: string }>(`SELECT DISTINCT ${catalogText(ident(sym))} AS s FROM ${checkedTable} WHERE NOT (${stateIs('filtered')}) AND ${ident(sym)} IS NOT NULL`)).map((r) => r.s)
    : [];
  const open = await openRecordsNear(commit.catalog.sql, { ...commit.ids, granularity: commit.ref.granularity }, uris, symbols);
  return open.length === 0 ? [] : rejudgedRecords(duck, job.dataset, open, uris);
}

/**
 * Per symbol, the share of the chunk's records that passed the record and session rules (a
 * repeat of a stored bar passes; records outside the run's window are not counted): the
 * validation score mdw.symbol_status keeps.
 */
async function symbolScores(duck: DuckSession, job: Job): Promise<Map<string, number>> {
  const sym = job.dataset.symbolColumn;
  if (!sym) return new Map();
  const rows = await duck.all<{ symbol: string; score: number }>(
    `SELECT ${catalogText(ident(sym))} AS symbol, count(*) FILTER (WHERE ${stateIs(placedStates)}) / count(*) AS score FROM ${checkedTable} ` +
      `WHERE ${stateIs([...placedStates, ...quarantinedStates])} AND ${ident(sym)} IS NOT NULL GROUP BY 1`,
  );
  return new Map(rows.map((r) => [r.symbol, Number(r.score)]));
}

/**
 * The symbol status rows of a written chunk: each symbol's latest bar in the partitions it wrote,
 * how many ended sessions of the job's calendar the series trails from it (bars only), and the
 * score. A symbol with nothing written keeps its stored latest bar.
 */
function symbolStatusOf(ctx: Context, job: Job, files: readonly WrittenPartition[], scores: ReadonlyMap<string, number>): SymbolStatusWrite[] {
  const latest = new Map<string, string>();
  for (const f of files) for (const s of f.series) if (s.symbol !== null && s.lastTs > (latest.get(s.symbol) ?? '')) latest.set(s.symbol, s.lastTs);
  const now = ctx.clock.now();
  const calendar = kindOf(job.dataset).lags ? job.calendar : null;
  const labelled = isSessionLabelled(job.granularity);
  const series = { dataset: job.dataset.name, source: job.spec.source.name, granularity: job.granularity.text, updatedAt: now };
  return [...new Set([...latest.keys(), ...scores.keys()])].sort().map((symbol) => {
    const last = latest.has(symbol) ? new Date(latest.get(symbol)!) : null;
    return {
      ...series,
      symbol,
      latestTs: last,
      lastScore: scores.get(symbol) ?? null,
      freshnessSessions: last && calendar ? sessionsBehind(calendar, last, labelled, now) : null,
    };
  });
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
    `SELECT (SELECT count(*) FROM ${checkedTable} WHERE ${stateIs('dup')}) AS dup, ` +
      `(SELECT count(*) FROM ${checkedTable} a JOIN ${checkedTable} b ON b.rowid = a.rowid + 1 ` +
      `WHERE a._file = b._file${sameSeries} AND b.${ts} < a.${ts} AND NOT (${stateIs('filtered', 'b')})) AS ooo`,
  );
  return [
    { kind: 'input', rule: 'duplicate', rows: Number(r!.dup) },
    { kind: 'input', rule: 'out_of_order', rows: Number(r!.ooo) },
  ];
}
