import path from 'node:path';
import type { DatasetDef } from '../core/datasets.js';
import { ident, pathLiteral } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { fsyncDir, fsyncFileAsync, hashFile, mapLimited, renameDurably } from './file-io.js';
import { isoMicros, summarizeSeries, type SealedPartition, type SeriesStats, type WrittenPartition } from './staged-chunk.js';

/**
 * Before the catalog records written files they must survive a power loss: the files and the
 * folders that name them are fsynced, and each file is hashed. Needs no DuckDB, so it can run
 * while DuckDB reads the next chunk.
 */
export async function sealPartitions(written: readonly WrittenPartition[]): Promise<SealedPartition[]> {
  const sealed = await mapLimited(written, 8, async (w): Promise<SealedPartition> => {
    await fsyncFileAsync(w.tmpPath);
    return { ...w, ...(await hashFile(w.tmpPath)) };
  });
  for (const dir of new Set(written.map((w) => path.dirname(w.tmpPath)))) fsyncDir(dir);
  return sealed;
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

/** Moves every written file over its partition's old file. Each rename is atomic. */
export function commitPartitions(written: readonly { tmpPath: string; plan: { path: string } }[]): void {
  for (const w of written) renameDurably(w.tmpPath, w.plan.path);
}

