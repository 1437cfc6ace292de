import type { ManifestPartition } from '../catalog/retention-catalog.js';
import { pathLiteral } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
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
 * The layout has one grain per dataset and bar size (configs/datasets.yml), and a query resolves
 * a partition's file from that grain, so compaction never moves rows to another partition: it
 * rewrites a file whose row groups are more than its rows need (many small writes, a merge that
 * wrote in pieces) as one file of whole row groups, rows in their stored order. A file DuckDB
 * cannot read is left to the audit.
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
