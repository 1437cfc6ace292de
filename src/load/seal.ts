import type { DatasetDef } from '../core/datasets.js';
import { ident, pathLiteral } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { isoMicros, summarizeSeries, type SealedPartition, type SeriesStats, type WrittenPartition } from './staged-chunk.js';

/**
 * Before the catalog records written files they must survive a power loss: their store seals
 * them (on disk: the files and the folders that name them are fsynced) and hashes each. Needs
 * no DuckDB, so it can run while DuckDB reads the next chunk.
 */
export async function sealPartitions(written: readonly WrittenPartition[]): Promise<SealedPartition[]> {
  const sealed = new Map<WrittenPartition, SealedPartition>();
  // A chunk's files share its target's store; grouping keeps this right if they ever do not.
  for (const store of new Set(written.map((w) => w.store))) {
    const mine = written.filter((w) => w.store === store);
    const objects = await store.seal(mine.map((w) => w.tmpUri));
    mine.forEach((w, i) => sealed.set(w, { ...w, ...objects[i]! }));
  }
  return written.map((w) => sealed.get(w)!);
}

/** Rows, first and last ts and per-symbol coverage of a partition file as it is on disk. */
export async function partitionFileStats(
  duck: DuckSession,
  def: DatasetDef,
  file: string,
): Promise<{ rows: number; firstTs: string | null; lastTs: string | null; series: SeriesStats[] }> {
  const sym = def.symbolColumn ? ident(def.symbolColumn) : 'NULL';
  const ts = ident(def.timeColumn);
  const series = await duck.all<SeriesStats>(
    `SELECT ${sym} AS symbol, count(*) AS rows, ${isoMicros(`min(${ts})`)} AS firstTs, ${isoMicros(`max(${ts})`)} AS lastTs ` +
      `FROM read_parquet(${pathLiteral(file)}, hive_partitioning = false) GROUP BY ALL ORDER BY ALL`,
  );
  return summarizeSeries(series);
}

/** Puts every sealed file in place of its partition's old version. Each commit is atomic. */
export function commitPartitions(written: readonly Pick<WrittenPartition, 'store' | 'tmpUri' | 'plan'>[]): void {
  for (const w of written) w.store.commit(w.tmpUri, w.plan.uri);
}

