import type { ManifestPartition } from '../catalog/retention-catalog.js';
import type { Compaction } from '../config/retention.js';
import type { PartitionRule } from '../config/types.js';
import { pathLiteral } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { coarseLabel, coarserPeriod, periodKindOfLabel, periodRange } from '../lake/layout.js';
import type { LakeStore } from '../lake/store.js';

/**
 * Rows per row group a compacted file is written with: DuckDB's default, which its readers
 * (and row-group statistics that prune by symbol) are tuned for.
 */
export const rowGroupRows = 122_880;

/** A partition file whose row groups are fragmented: more than its rows need. */
export interface CompactCandidate {
  readonly partition: ManifestPartition;
  readonly rowGroups: number;
  /** Row groups it will have. */
  readonly target: number;
  readonly rowGroupRows: number;
}

/**
 * The files of a series whose row groups are more than their rows need (many small writes, a
 * merge that wrote in pieces): each is rewritten as one file of whole row groups, rows in their
 * stored order. A file DuckDB cannot read is left to the audit.
 */
export async function compactionCandidates(duck: DuckSession, lake: LakeStore, partitions: readonly ManifestPartition[]): Promise<CompactCandidate[]> {
  const found: (CompactCandidate | null)[] = [];
  // One DuckDB connection: one file at a time (each read is of the footer only).
  for (const p of partitions) {
    if (p.rows === 0 || lake.stat(p.uri) === null) continue;
    try {
      const [g] = await duck.all<{ groups: number }>(`SELECT count(DISTINCT row_group_id) AS groups FROM parquet_metadata(${pathLiteral(lake.locate(p.uri))})`);
      const groups = Number(g!.groups);
      const target = Math.ceil(p.rows / rowGroupRows);
      if (groups > target) found.push({ partition: p, rowGroups: groups, target, rowGroupRows });
    } catch {
      // unreadable: the audit's to report
    }
  }
  return found.filter((c): c is CompactCandidate => c !== null);
}

/** A symbol's partitions of one period of the next grain up, to be merged into one partition of that grain. */
export interface MergeGroup {
  readonly symbol: string | null;
  /** The merged partition's period (a label of the coarser grain: 2024-03). */
  readonly period: string;
  /** The partitions merged, in period order. */
  readonly parts: readonly ManifestPartition[];
  readonly rows: number;
  readonly bytes: number;
}

/**
 * Which of a series' partitions compaction merges into the next grain up. Pure. A symbol's
 * partitions of the series' grain that fall in one period of the next grain up (the days of a
 * month) are merged when there are two or more, that period has ended by `now` (a month still
 * being written is left to grow), and their files add up to less than `belowBytes`, so the
 * merged file is small too. Nothing is merged when `into` names another grain than the next
 * one up. A period already merged is not planned again: a re-run does nothing.
 */
export function planMerges(partitions: readonly ManifestPartition[], grain: PartitionRule, compaction: Compaction, now: Date): MergeGroup[] {
  const coarse = coarserPeriod[grain.period];
  if (!coarse || (compaction.into !== null && compaction.into !== coarse)) return [];
  const groups = new Map<string, ManifestPartition[]>();
  const merged = new Set<string>();
  const keyOf = (symbol: string | null, period: string) => `${symbol ?? ''}\u0000${period}`;
  for (const p of partitions) {
    const kind = periodKindOfLabel(p.period);
    if (kind === coarse) merged.add(keyOf(p.symbol, p.period));
    if (kind !== grain.period || p.rows === 0) continue;
    const key = keyOf(p.symbol, coarseLabel(p.period, coarse));
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const out: MergeGroup[] = [];
  for (const [key, parts] of groups) {
    const period = coarseLabel(parts[0]!.period, coarse);
    const bytes = parts.reduce((n, p) => n + p.bytes, 0);
    if (merged.has(key) || parts.length < 2 || periodRange(period).end > now || bytes >= compaction.belowBytes) continue;
    const sorted = [...parts].sort((a, b) => (a.period < b.period ? -1 : 1));
    out.push({ symbol: parts[0]!.symbol, period, parts: sorted, rows: parts.reduce((n, p) => n + p.rows, 0), bytes });
  }
  return out.sort((a, b) => ((a.symbol ?? '') < (b.symbol ?? '') ? -1 : (a.symbol ?? '') > (b.symbol ?? '') ? 1 : a.period < b.period ? -1 : 1));
}
