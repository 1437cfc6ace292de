import type { PartitionPeriod, PartitionRule } from '../config/types.js';
import { datasets, type DatasetDef } from '../core/datasets.js';

/**
 * Where a partition lives in the lake. One function maps a partition to its folder, for writers
 * and readers alike, so that a query can compute the files it needs instead of scanning:
 *
 *   <dataset>/source=<s>/granularity=<g>/[symbol=<SYM>/]<year|month|day>=<period>/data-<version>.parquet
 *
 * A partition file is never rewritten in place: each write adds the next version beside the
 * last (data-000001.parquet, data-000002.parquet ...; data.parquet is version 0, as lakes
 * before versions wrote it), readers open the highest, and a version another replaced is
 * removed after a grace period. So a reader always opens a complete file, even one a writer
 * is replacing while the query runs.
 *
 * A series may also hold partitions of the next grain up (month=2024-03 beside day=...):
 * `mdw retention --compact` merges a symbol's small day partitions into their month. A coarser
 * folder with a file shadows the finer folders it covers (shadowingFolders): readers skip them,
 * so the merge takes effect, for every reader at once, when the merged file is renamed into
 * place, and the finer files left behind until their removal are never read twice. Writers
 * send the rows of a merged period to the merged partition (load/periods.ts).
 */
export interface PartitionKey {
  readonly dataset: string;
  readonly source: string;
  readonly granularity: string;
  /** null when the grain puts all symbols of a period in one file. */
  readonly symbol: string | null;
  readonly period: string;
}

/** The file of a partition's version (0: the unversioned data.parquet of older lakes). */
export function dataFileName(version: number): string {
  return version === 0 ? 'data.parquet' : `data-${String(version).padStart(6, '0')}.parquet`;
}

/** The version a partition file's name carries, or null for any other file. */
export function dataFileVersion(name: string): number | null {
  if (name === 'data.parquet') return 0;
  const m = /^data-(\d{6,})\.parquet$/.exec(name);
  return m ? Number(m[1]) : null;
}

/** Whether a name is a temporary file a write leaves until it commits (.data-000002.parquet.<tag>.tmp). */
export function isTempName(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

const periodSql: Record<PartitionPeriod, string> = { year: '%Y', month: '%Y-%m', day: '%Y-%m-%d' };

/** strftime format that turns a bar's ts into its partition period. */
export function periodFormat(period: PartitionPeriod): string {
  return periodSql[period];
}

/** A dataset's folder, relative to the lake root: its name, under curated/ for what mdw curate builds. */
export function datasetDir(dataset: string): string {
  return (datasets as Record<string, DatasetDef | undefined>)[dataset]?.curated ? `curated/${dataset}` : dataset;
}

/** The partition's folder, relative to the lake root, with / separators. */
export function partitionDir(key: PartitionKey, grain: PartitionRule): string {
  const parts = [datasetDir(key.dataset), `source=${encodeSegment(key.source)}`, `granularity=${encodeSegment(key.granularity)}`];
  if (grain.by_symbol) {
    if (key.symbol === null) throw new Error(`partition of ${key.dataset} by symbol needs a symbol`);
    parts.push(`symbol=${encodeSegment(key.symbol)}`);
  }
  // The label says its kind: the grain's period, or the coarser one a compaction merged into.
  parts.push(`${periodKindOfLabel(key.period) ?? grain.period}=${key.period}`);
  return parts.join('/');
}

/** One version of the partition's file, relative to the lake root. */
export function partitionUri(key: PartitionKey, grain: PartitionRule, version: number): string {
  return `${partitionDir(key, grain)}/${dataFileName(version)}`;
}

/** The folder holding one (dataset, source, granularity) series. */
export function seriesDir(dataset: string, source: string, granularity: string): string {
  return [datasetDir(dataset), `source=${encodeSegment(source)}`, `granularity=${encodeSegment(granularity)}`].join('/');
}

/** Hive-style segment value: letters, digits, '.', '_' and '-' stay; anything else is %XX. */
export function encodeSegment(value: string): string {
  return Array.from(new TextEncoder().encode(value), (b) => {
    const ch = String.fromCharCode(b);
    return /[A-Za-z0-9._-]/.test(ch) ? ch : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
}

export function decodeSegment(value: string): string {
  return decodeURIComponent(value);
}

/** Every period label that [from, toExclusive) touches, in order. */
export function periodsBetween(from: Date, toExclusive: Date, period: PartitionPeriod): string[] {
  const out: string[] = [];
  if (toExclusive <= from) return out;
  const cur = new Date(Date.UTC(from.getUTCFullYear(), period === 'year' ? 0 : from.getUTCMonth(), period === 'day' ? from.getUTCDate() : 1));
  while (cur < toExclusive) {
    const y = String(cur.getUTCFullYear()).padStart(4, '0');
    const m = String(cur.getUTCMonth() + 1).padStart(2, '0');
    const d = String(cur.getUTCDate()).padStart(2, '0');
    out.push(period === 'year' ? y : period === 'month' ? `${y}-${m}` : `${y}-${m}-${d}`);
    if (period === 'year') cur.setUTCFullYear(cur.getUTCFullYear() + 1);
    else if (period === 'month') cur.setUTCMonth(cur.getUTCMonth() + 1);
    else cur.setUTCDate(cur.getUTCDate() + 1);
  }
  return out;
}

/** The grain a compaction merges a grain's partitions into; null for the coarsest. */
export const coarserPeriod: Record<PartitionPeriod, PartitionPeriod | null> = { day: 'month', month: 'year', year: null };

/** A coarser partition that compaction merged a (symbol's) finer partitions into. */
export interface MergedPeriod {
  /** null when the grain puts all symbols of a period in one file. */
  readonly symbol: string | null;
  /** Its label, of the kind coarserPeriod[grain.period]. */
  readonly period: string;
}

/** The kind of a period label, by its length; null for anything that is not one. */
export function periodKindOfLabel(label: string): PartitionPeriod | null {
  if (/^\d{4}$/.test(label)) return 'year';
  if (/^\d{4}-\d{2}$/.test(label)) return 'month';
  if (/^\d{4}-\d{2}-\d{2}$/.test(label)) return 'day';
  return null;
}

/** The label of the coarser period that holds a period label (2024-03-15 -> 2024-03 for month). */
export function coarseLabel(label: string, coarse: PartitionPeriod): string {
  return label.slice(0, coarse === 'year' ? 4 : coarse === 'month' ? 7 : 10);
}

/** The first period of kind `fine` within a label of a coarser kind (2024-03 -> 2024-03-01). */
export function firstFineLabel(label: string, fine: PartitionPeriod): string {
  const full = label.length === 4 ? `${label}-01-01` : label.length === 7 ? `${label}-01` : label;
  return coarseLabel(full, fine);
}

/** The instants a period label covers, [start, end). */
export function periodRange(label: string): { start: Date; end: Date } {
  const kind = periodKindOfLabel(label);
  if (!kind) throw new Error(`not a period label: ${label}`);
  const start = new Date(`${firstFineLabel(label, 'day')}T00:00:00Z`);
  const end = new Date(start);
  if (kind === 'year') end.setUTCFullYear(end.getUTCFullYear() + 1);
  else if (kind === 'month') end.setUTCMonth(end.getUTCMonth() + 1);
  else end.setUTCDate(end.getUTCDate() + 1);
  return { start, end };
}

/**
 * The sibling folders that shadow a period folder: those of the coarser periods that hold it
 * (day=2024-03-15: month=2024-03 and year=2024). When one of them has a file, readers skip
 * this folder: its rows are in that file.
 */
export function shadowingFolders(name: string): string[] {
  const eq = name.indexOf('=');
  if (eq < 0) return [];
  const kind = name.slice(0, eq);
  const label = name.slice(eq + 1);
  if (periodKindOfLabel(label) !== kind) return [];
  const out: string[] = [];
  for (let k = coarserPeriod[kind as PartitionPeriod]; k !== null; k = coarserPeriod[k]) out.push(`${k}=${coarseLabel(label, k)}`);
  return out;
}
