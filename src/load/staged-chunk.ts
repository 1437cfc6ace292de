import type { PartitionRule } from '../config/types.js';
import type { DatasetDef } from '../core/datasets.js';
import { ident, literal } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import type { PartitionKey } from '../lake/layout.js';
import type { SeriesGrain } from './periods.js';
import { localStore } from '../lake/local-store.js';
import type { LakeStore } from '../lake/store.js';
import type { CompiledSeriesRules } from '../validate/series-rules.js';

/**
 * The staged chunk the load steps share. Input: the table `checked`, one row per record of a chunk of inputs, in read
 * order (its rowid), with the dataset's columns, `_file`, `_period` (the partition period as an
 * integer), `_state` ('ok', 'bad' or 'filtered'), `_rules` (comma-separated), `_detail`,
 * `_raw_json`, `_fold`.
 *
 * It marks repeated keys, compares the rows of partitions that already have a file with that
 * file, and rewrites only the partitions whose content changes: one Parquet file per
 * partition, merged, deduplicated, sorted, written beside the old file and renamed over it.
 * Partitions that are new are written straight from `checked`; rows arrive clustered by input,
 * so a partition's rows sit in a few row groups and each write reads little.
 *
 * `_state` after staging: 'ok' (stored: new or changed), 'dup' and 'same' (already there),
 * 'bad' and 'conflict' (quarantined), 'filtered' (outside the run's scope).
 */

export const checkedTable = 'checked';

/** The steps' work tables, dropped with the chunk (releaseStage). */
export const workTables = {
  dupKeys: 'mdw_dup_keys',
  parts: 'mdw_parts',
  old: 'mdw_old',
  cmp: 'mdw_cmp',
  removed: 'mdw_removed',
  merge: 'mdw_merge',
  ctxParts: 'mdw_ctx_parts',
  context: 'mdw_context',
} as const;

export interface SeriesTarget {
  readonly dataset: DatasetDef;
  /** The dataset columns `checked` carries; the others are NULL in what is written. */
  readonly columns: readonly string[];
  /** The grain, with the coarser partitions a compaction merged (seriesGrain). */
  readonly grain: SeriesGrain;
  readonly source: string;
  readonly granularity: string;
  readonly lakeRoot: string;
  /** Where the partitions live; the local disk at lakeRoot when not given. */
  readonly store?: LakeStore;
  /** Batches of this run already committed (earlier chunks): a row they stored that a later
   * chunk contradicts is a conflict within the run, not a correction. */
  readonly runBatchIds: readonly string[];
  /** Series rules, computed over each written partition with the bars just before it. */
  readonly series: SeriesWrite | null;
  /**
   * A stored row that differs from the incoming one stays as it is, and the incoming row is
   * marked 'differs' (replays: an old record must not overwrite what a later load stored).
   */
  readonly keepStored?: boolean;
}

/** How the series flags and quality score are written beside the data. */
export interface SeriesWrite {
  readonly rules: CompiledSeriesRules;
  /** A row is validated when its quality is at least this. */
  readonly threshold: number;
  /** Bars before a partition the rules look at, and how far back in time they may lie. */
  readonly bars: number;
  readonly interval: string;
}

export interface PartitionPlan {
  readonly pid: number;
  readonly key: PartitionKey;
  /** The period as `_period` holds it. */
  readonly periodValue: number;
  /** The version this batch writes (the next after the current one), relative to the lake root. */
  readonly uri: string;
  readonly path: string;
  /** The version readers open now, which a write supersedes; null for a new partition. */
  readonly current: { readonly uri: string; readonly path: string } | null;
  readonly existed: boolean;
  /** Rows of this batch that are new or differ from the stored ones; 0 means no rewrite. */
  readonly changes: number;
}

export interface BatchCounts {
  readonly recordsIn: number;
  readonly out: number;
  readonly deduped: number;
  readonly quarantined: number;
  readonly filtered: number;
}

export interface LineageRow extends BatchCounts {
  readonly input: string;
  readonly pid: number | null;
}

export interface StagePlan {
  readonly partitions: readonly PartitionPlan[];
  readonly counts: BatchCounts;
  readonly lineage: readonly LineageRow[];
  /** Symbols with at least one stored row in this batch. */
  readonly symbols: readonly string[];
  /** Rows an earlier chunk of this run stored that this one contradicts (quarantined too). */
  readonly removed: number;
  /** Per new partition: the coverage of the rows it will hold. */
  readonly stats: ReadonlyMap<number, readonly SeriesStats[]>;
}

export interface SeriesStats {
  readonly symbol: string | null;
  readonly rows: number;
  readonly firstTs: string;
  readonly lastTs: string;
}

/** A partition's new content, written to a temporary file beside it. */
export interface WrittenPartition {
  readonly plan: PartitionPlan;
  /** The store it was written to, which seals and commits it. */
  readonly store: LakeStore;
  readonly tmpUri: string;
  /** Where DuckDB wrote it and reads it (store.locate(tmpUri)). */
  readonly tmpPath: string;
  readonly rows: number;
  readonly firstTs: string | null;
  readonly lastTs: string | null;
  readonly series: readonly SeriesStats[];
}

/** A written partition made durable, with the hash and size the manifest records. */
export interface SealedPartition extends WrittenPartition {
  readonly sha256: string;
  readonly bytes: number;
}

/** The store a target's partitions live in. */
export function targetStore(target: SeriesTarget): LakeStore {
  return target.store ?? localStore(target.lakeRoot);
}

export const isoMicros = (col: string) => `strftime(${col}, '%Y-%m-%dT%H:%M:%S.%fZ')`;

/** The rows of one partition in `checked`. */
export function partitionFilter(def: DatasetDef, grain: PartitionRule, p: PartitionPlan, alias = ''): string {
  const terms = [`${alias}_period = ${p.periodValue}`];
  if (grain.by_symbol && def.symbolColumn) terms.push(`${alias}${ident(def.symbolColumn)} = ${literal(p.key.symbol!)}`);
  return terms.join(' AND ');
}

/** A partition's totals from its per-symbol coverage. */
export function summarizeSeries(series: SeriesStats[]): { rows: number; firstTs: string | null; lastTs: string | null; series: SeriesStats[] } {
  return {
    rows: series.reduce((n, s) => n + s.rows, 0),
    firstTs: series.reduce<string | null>((m, s) => (m === null || s.firstTs < m ? s.firstTs : m), null),
    lastTs: series.reduce<string | null>((m, s) => (m === null || s.lastTs > m ? s.lastTs : m), null),
    series,
  };
}

/** Drops the tables of a chunk. */
export async function releaseStage(duck: DuckSession): Promise<void> {
  for (const t of [checkedTable, ...Object.values(workTables)]) await duck.run(`DROP TABLE IF EXISTS ${t}`);
}

/** Stored rows that this chunk's conflicts removed, for the quarantine. */
export const removedTable = workTables.removed;
