import { randomUUID } from 'node:crypto';
import type { ExtractRequest, InputRef, RawBatch } from '../sources/source.js';
import { ensureSeries } from '../catalog/lake-catalog.js';
import { listQuarantine, type QuarantineRecord } from '../catalog/quarantine-catalog.js';
import type { Job } from '../config/jobs.js';
import type { Context } from '../context.js';
import { rawColumns } from '../core/raw.js';
import { ident, literal } from '../core/sql.js';
import { parseWindow } from '../core/time-window.js';
import { placedStates, type RowState } from '../core/row-state.js';
import { sourceReadTypes } from '../transform/compile-transform.js';
import { recoverPendingWrites } from './recover.js';
import { commitChunk } from './commit-chunk.js';
import { readChecked } from './read-chunk.js';
import { seriesLock, seriesOf, withLakeGrain, type CommitTo } from './series.js';
import { stopwatch } from './stopwatch.js';
import { releaseChunk, stageChunk, stagedStates, writeChunk, type RecordState } from './write-chunk.js';

export interface ReplayFilter {
  /** Records of this batch only (an id or its prefix). */
  readonly batch?: string | undefined;
  /** Records that broke this rule. */
  readonly rule?: string | undefined;
}

export interface ReplayOutcome {
  readonly id: string;
  readonly input: string | null;
  readonly record: number | null;
  /** loaded, already_stored, still_failing, stored_differs, not_replayable. */
  readonly outcome: string;
  readonly reason: string;
}

export interface ReplayResult {
  readonly job: string;
  readonly batchId: string | null;
  readonly dryRun: boolean;
  readonly outcomes: readonly ReplayOutcome[];
}

/** What a replayed record's state after staging makes of it (a dry run would load what is 'ok'). */
const outcomeOf: Record<RowState, string> = {
  ok: 'loaded',
  same: 'already_stored',
  dup: 'already_stored',
  differs: 'stored_differs',
  bad: 'still_failing',
  conflict: 'still_failing',
  filtered: 'still_failing',
};

/**
 * Runs a job's open quarantined records again through its current transform and rules. Those
 * that pass are loaded in one batch, with lineage, and marked replayed in the same catalog
 * transaction; the others stay open with their first reason. A record whose key the lake already
 * holds with other values is not loaded over it (stored_differs). Lines that could not be parsed
 * at all, and stored rows a conflict removed, have no source record to replay.
 */
export async function replayQuarantine(ctx: Context, job: Job, filter: ReplayFilter, options: { dryRun: boolean; runId: string | null }): Promise<ReplayResult> {
  const catalog = await ctx.catalog(`mdw quarantine replay ${job.name}`);
  const { ref, base } = seriesOf(ctx, job);
  return catalog.withLock(seriesLock(ref), ctx.settings.lockTimeoutMs, async () => {
    const ids = await ensureSeries(catalog.sql, ref);
    await recoverPendingWrites(ctx, catalog, job.dataset, ids, ref.granularity, ref.source);
    const target = withLakeGrain(base);
    const { records } = await listQuarantine(catalog.sql, { source: ref.source, granularity: ref.granularity, batch: filter.batch, rule: filter.rule });
    const ofJob = records.filter((r) => r.dataset === ref.dataset);
    const replayable = ofJob.filter((r) => r.input_uri !== null && r.record_no !== null);
    const outcomes: ReplayOutcome[] = ofJob
      .filter((r) => !replayable.includes(r))
      .map((r) => ({
        id: r.id,
        input: r.input_uri,
        record: r.line_no ?? r.record_no,
        outcome: 'not_replayable',
        reason: r.input_uri === null ? 'a stored row a conflict removed: load its source again' : 'the line could not be parsed: fix the file and ingest it again',
      }));
    if (replayable.length === 0) return { job: job.name, batchId: null, dryRun: options.dryRun, outcomes };
    // Input order: by file, then by record number, as they were read.
    replayable.sort((a, b) => (a.input_uri! < b.input_uri! ? -1 : a.input_uri! > b.input_uri! ? 1 : a.record_no! - b.record_no!));

    const duck = await ctx.duck();
    const window = parseWindow(job.spec.window?.from, job.spec.window?.to, 'window.');
    const request: ExtractRequest = {
      job,
      from: window.from,
      toExclusive: window.toExclusive,
      symbols: job.spec.symbols ?? null,
      columns: sourceReadTypes(job.transform.value, job.dataset),
      numbered: true,
    };
    const raw = await stageRecords(duck, replayable, request.columns);
    const inputs: InputRef[] = raw.inputs.map((uri) => ({ uri, bytes: 0, fingerprint: '' }));
    const chunk = await readChecked(ctx, duck, request, inputs, target.grain, async () => raw);
    const batchId = randomUUID();
    const commit: CommitTo = { catalog, ids, ref, batchId, runId: options.runId, configKey: 'replay' };
    let states: readonly RecordState[];
    if (options.dryRun) {
      try {
        await stageChunk(duck, chunk, { ...target, runBatchIds: [], keepStored: true });
        states = await stagedStates(duck);
      } finally {
        await releaseChunk(duck, chunk);
        await duck.run('DROP TABLE IF EXISTS mdw_replay_in');
      }
    } else {
      const written = await writeChunk(ctx, duck, chunk, { ...target, runBatchIds: [], keepStored: true }, commit, stopwatch(), 'replay');
      await duck.run('DROP TABLE IF EXISTS mdw_replay_in');
      states = written.states!;
      const passed = replayable.filter((_r, i) => placedStates.some((p) => p === states[i]!.state)).map((r) => r.id);
      // Only the records that now pass belong to this batch: the others stay quarantined where
      // they are, and are not counted again.
      const lineage = written.plan.lineage
        .map((l) => ({ ...l, recordsIn: l.out + l.deduped, quarantined: 0, filtered: 0 }))
        .filter((l) => l.recordsIn > 0);
      const counts = lineage.reduce((a, l) => ({ ...a, recordsIn: a.recordsIn + l.recordsIn, out: a.out + l.out, deduped: a.deduped + l.deduped }), {
        recordsIn: 0,
        out: 0,
        deduped: 0,
        quarantined: 0,
        filtered: 0,
      });
      if (passed.length > 0) await commitChunk(ctx, [], { ...written, plan: { ...written.plan, lineage, counts } }, commit, passed);
    }
    replayable.forEach((r, i) => {
      const s = states[i]!;
      const outcome = options.dryRun && s.state === 'ok' ? 'would_load' : outcomeOf[s.state];
      const reason = s.state === 'filtered' ? 'outside the job window or symbols' : (s.detail ?? '');
      outcomes.push({ id: r.id, input: r.input_uri, record: r.record_no, outcome, reason });
    });
    const loaded = outcomes.some((o) => o.outcome === 'loaded' || o.outcome === 'already_stored');
    return { job: job.name, batchId: loaded ? batchId : null, dryRun: options.dryRun, outcomes };
  });
}

/**
 * The records as the adapter would hand them over: one relation, in input order, with the
 * source columns the transform reads, taken from each record's raw form.
 */
async function stageRecords(duck: Awaited<ReturnType<Context['duck']>>, records: readonly QuarantineRecord[], columns: Readonly<Record<string, 'VARCHAR' | 'DOUBLE'>>): Promise<RawBatch> {
  await duck.run('CREATE OR REPLACE TABLE mdw_replay_in (ord BIGINT, file VARCHAR, raw VARCHAR)');
  for (let i = 0; i < records.length; i += 1000) {
    const values = records.slice(i, i + 1000).map((r, j) => `(${i + j}, ${literal(r.input_uri)}, ${literal(r.raw)})`);
    await duck.run(`INSERT INTO mdw_replay_in VALUES ${values.join(', ')}`);
  }
  const cols = rawColumns(columns);
  const path = (name: string) => literal(`$."${name.replace(/"/g, '\\"')}"`);
  const select = cols.map((c) =>
    c.type === 'DOUBLE'
      ? `TRY_CAST(json_extract(raw, ${path(c.name)}) AS DOUBLE) AS ${ident(c.sql ?? c.name)}`
      : `json_extract_string(raw, ${path(c.name)}) AS ${ident(c.sql ?? c.name)}`,
  );
  return {
    relation: `(SELECT file AS _file, ord AS _rn, ${select.join(', ')} FROM mdw_replay_in)`,
    columns: cols,
    numbered: true,
    inputs: [...new Set(records.map((r) => r.input_uri!))],
    rejects: null,
    prepare: [],
  };
}
