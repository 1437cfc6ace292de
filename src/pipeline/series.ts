import type { Catalog } from '../catalog/catalog.js';
import type { SeriesIds, SeriesRef } from '../catalog/lake-catalog.js';
import type { Job } from '../config/jobs.js';
import type { Context } from '../context.js';
import { kindOf } from '../core/datasets.js';
import { intervalSql, isSessionLabelled } from '../core/granularity.js';
import type { SeriesTarget, SeriesWrite } from '../load/staged-chunk.js';
import { seriesDir } from '../lake/layout.js';
import { localStore } from '../lake/local-store.js';
import { mergedPeriods } from '../lake/partition-files.js';
import { producedColumns } from '../transform/compile-transform.js';
import { compileSeriesRules, lookbackBars, seriesSettings } from '../validate/series-rules.js';

/**
 * Where a chunk's batch goes: its series in the catalog, the batch's id and run, and the key of
 * the rules and scope its inputs were read under (recorded with their lineage). Built by the
 * command that runs the stages, read by writeChunk (the batch id, the series' open quarantine)
 * and commitChunk.
 */
export interface CommitTo {
  readonly catalog: Catalog;
  readonly ids: SeriesIds;
  readonly ref: SeriesRef;
  readonly batchId: string;
  readonly runId: string | null;
  readonly configKey: string;
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
  return { ref, base: withLakeGrain(base) };
}

/**
 * The target with the partitions of the next grain up that its lake holds (a compaction merged
 * them), as the lake holds them now: rows of a merged period go to the merged file, never to a
 * finer partition that readers would not see. A run reads it again under the series' lock,
 * after recovery (which puts in place a merge a crash left committed but not renamed).
 */
export function withLakeGrain<T extends Omit<SeriesTarget, 'runBatchIds'>>(target: T): T {
  const store = target.store ?? localStore(target.lakeRoot);
  const dir = seriesDir(target.dataset.name, target.source, target.granularity);
  return { ...target, grain: { ...target.grain, merged: mergedPeriods(store, dir, target.grain) } };
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
