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
  parts.push(`${grain.period}=${key.period}`);
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
