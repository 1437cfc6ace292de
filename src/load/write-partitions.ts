import { duckdbType, type DatasetDef } from '../core/datasets.js';
import { ident, literal, pathList, pathLiteral } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { dataFileName, isTempName, type PartitionKey } from '../lake/layout.js';
import { partitionVersions } from '../lake/partition-files.js';
import { partitionFileStats } from './seal.js';
import { childUri, parentUri, type LakeStore } from '../lake/store.js';
import { buildContext, scoreFresh, scoreMergedSql } from './series-score.js';
import { checkedTable, isoMicros, partitionFilter, summarizeSeries, workTables as T, type PartitionPlan, type SeriesStats, type SeriesTarget, type StagePlan, type WrittenPartition, targetStore } from './staged-chunk.js';
import { stateIs } from '../core/row-state.js';

/**
 * Writes the new content of every changed partition to a temporary file beside its target.
 * Nothing is renamed yet: sealPartitions makes the files durable and hashes them, and
 * commitPartitions renames them after the catalog has recorded the intent.
 */
export async function writePartitions(duck: DuckSession, target: SeriesTarget, plan: StagePlan, batchId: string, width: number): Promise<WrittenPartition[]> {
  const { dataset: def, grain } = target;
  const dirty = plan.partitions.filter((p) => p.changes > 0);
  if (dirty.length === 0) return [];
  const canon = def.columns.map((c) => ident(c.name));
  // A column the transform does not produce is written as a typed NULL.
  const fromChecked = (alias: string) =>
    def.columns.map((c) => (target.columns.includes(c.name) ? `${alias}${ident(c.name)}` : `CAST(NULL AS ${duckdbType[c.type]}) AS ${ident(c.name)}`));
  const order = [def.symbolColumn, def.timeColumn].filter((c): c is string => c !== null).map(ident).join(', ');
  const outColumns = [...canon, 'granularity', 'source', 'batch_id'].join(', ');
  const stamped = `${fromChecked('').join(', ')}, ${literal(target.granularity)} AS granularity, ${literal(target.source)} AS source, ${literal(batchId)} AS batch_id`;

  // Partitions that have a file are merged in a small table: their stored rows that stay,
  // and this chunk's new and changed ones.
  const merged = dirty.filter((p) => p.existed);
  if (merged.length > 0) {
    const ids = merged.map((p) => p.pid).join(', ');
    const keyMatch = (a: string, b: string) => def.key.map((k) => `${a}.${ident(k)} = ${b}.${ident(k)}`).join(' AND ');
    // The stored rows that stay are those no changed or conflicting row replaces: an anti join
    // on the key, linear in the partition. (A correlated NOT EXISTS here ran as a nested loop:
    // 75 s to correct 20,000 minute bars that took 1 s to load.)
    await duck.run(
      `CREATE OR REPLACE TABLE ${T.merge} AS ` +
        `SELECT m._pid, ${fromChecked('c.').join(', ')}, ${literal(target.granularity)} AS granularity, ${literal(target.source)} AS source, ${literal(batchId)} AS batch_id ` +
        `FROM ${T.cmp} m JOIN ${checkedTable} c ON c.rowid = m._row WHERE m._status IN ('new', 'changed') AND m._pid IN (${ids}) ` +
        `UNION ALL SELECT o._pid, ${canon.map((c) => `o.${c}`).join(', ')}, o.granularity, o.source, o.batch_id FROM ${T.old} o ` +
        `ANTI JOIN (SELECT m._pid, ${def.key.map((k) => `c.${ident(k)}`).join(', ')} FROM ${T.cmp} m JOIN ${checkedTable} c ON c.rowid = m._row ` +
        `WHERE m._status IN ('changed', 'conflict')) x ON x._pid = o._pid AND ${keyMatch('x', 'o')} WHERE o._pid IN (${ids})`,
    );
  }
  const source = (p: PartitionPlan) =>
    p.existed ? `SELECT ${outColumns} FROM ${T.merge} WHERE _pid = ${p.pid}` : `SELECT ${stamped} FROM ${checkedTable} WHERE ${stateIs('ok')} AND ${partitionFilter(def, grain, p)}`;

  const stats = new Map<number, SeriesStats[]>(plan.stats as Map<number, SeriesStats[]>);
  if (merged.length > 0) {
    const symCol = def.symbolColumn ? ident(def.symbolColumn) : 'NULL';
    const ts = ident(def.timeColumn);
    for (const r of await duck.all<{ pid: number; symbol: string | null; rows: number; firstTs: string; lastTs: string }>(
      `SELECT _pid AS pid, ${symCol} AS symbol, count(*) AS rows, ${isoMicros(`min(${ts})`)} AS firstTs, ${isoMicros(`max(${ts})`)} AS lastTs ` +
        `FROM ${T.merge} GROUP BY ALL ORDER BY ALL`,
    )) {
      stats.set(r.pid, [...(stats.get(r.pid) ?? []), { symbol: r.symbol, rows: r.rows, firstTs: r.firstTs, lastTs: r.lastTs }]);
    }
  }

  const store = targetStore(target);
  const tag = batchId.slice(0, 8);
  const tmpOf = (p: PartitionPlan) => store.tempOf(p.uri, tag);
  for (const p of dirty) {
    store.prepare(parentUri(p.uri));
    removeStaleTemps(store, parentUri(p.uri));
  }
  const series = target.series;
  // With series rules, each row's flags come from its bars and the ones before it. New
  // partitions are scored in one pass over the chunk (one window over all of them, a few times
  // cheaper than a window per small partition); a merged partition is scored over its merged
  // content. The bars just before (mdw_context) are read, never written again.
  const fresh = dirty.filter((p) => !p.existed);
  if (series) await buildContext(duck, target, dirty, series);
  if (series && fresh.length > 0) await scoreFresh(duck, target, fresh, series);
  const freshIds = new Set(fresh.map((p) => p.pid));
  const content = (p: PartitionPlan) =>
    !series
      ? source(p)
      : freshIds.has(p.pid)
        ? `SELECT ${stamped}, quality, flags FROM ${checkedTable} WHERE ${stateIs('ok')} AND ${partitionFilter(def, grain, p)}`
        : scoreMergedSql(target, series, source(p), outColumns, p.pid);
  await duck.runParallel(
    dirty.map((p) => `COPY (${content(p)} ORDER BY ${order}) TO ${literal(store.locate(tmpOf(p)))} (FORMAT PARQUET, COMPRESSION ZSTD)`),
    width,
  );
  return dirty.map((p) => ({ plan: p, store, tmpUri: tmpOf(p), tmpPath: store.locate(tmpOf(p)), ...summarizeSeries([...(stats.get(p.pid) ?? [])]) }));
}

/**
 * Temp files that a run killed before its catalog commit left beside a partition's files.
 * Pending writes are recovered before any staging, so whatever is left here is garbage.
 */
function removeStaleTemps(store: LakeStore, dir: string): void {
  const stale = store.list(dir).filter((e) => isTempName(e.name));
  if (stale.length > 0) store.remove(stale.map((e) => childUri(dir, e.name)));
}

/**
 * A partition's next version written from its current file through `select` (a SELECT over
 * `source`, which names the current file), to a temporary file beside it: what retention and
 * compaction write, sealed, recorded and committed like any load's partition (sealPartitions,
 * recordBatch, commitPartitions). The rows keep their batch_id, so their lineage stays theirs.
 */
export async function rewritePartition(
  duck: DuckSession,
  store: LakeStore,
  def: DatasetDef,
  partition: { readonly pid: number; readonly key: PartitionKey; readonly current: string },
  select: (source: string) => string,
  tag: string,
  options: { readonly rowGroupSize?: number } = {},
): Promise<WrittenPartition> {
  const dir = parentUri(partition.current);
  const [newest] = partitionVersions(store, dir);
  const uri = childUri(dir, dataFileName((newest?.version ?? 0) + 1));
  const tmpUri = store.tempOf(uri, tag);
  removeStaleTemps(store, dir);
  const source = `read_parquet(${pathLiteral(store.locate(partition.current))}, hive_partitioning = false)`;
  const groups = options.rowGroupSize ? `, ROW_GROUP_SIZE ${options.rowGroupSize}` : '';
  await duck.run(`COPY (${select(source)}) TO ${literal(store.locate(tmpUri))} (FORMAT PARQUET, COMPRESSION ZSTD${groups})`);
  const stats = await partitionFileStats(duck, def, store.locate(tmpUri));
  const plan: PartitionPlan = {
    pid: partition.pid,
    key: partition.key,
    periodValue: 0,
    uri,
    path: store.locate(uri),
    current: { uri: partition.current, path: store.locate(partition.current) },
    existed: true,
    changes: stats.rows,
  };
  return { plan, store, tmpUri, tmpPath: store.locate(tmpUri), ...stats };
}

/**
 * One partition written from the current files of several (a compaction merging a month's day
 * partitions): to a temporary file in the merged partition's folder, as its next version,
 * sealed, recorded and committed like any write. Rows are sorted as a partition's are (symbol,
 * then time), ties kept in the order the files (in period order) stored them, so a by-symbol
 * series' rows keep their exact order. Each row keeps its batch_id.
 */
export async function mergePartitionFiles(
  duck: DuckSession,
  store: LakeStore,
  def: DatasetDef,
  partition: { readonly pid: number; readonly key: PartitionKey; readonly dir: string; readonly sources: readonly string[] },
  tag: string,
  rowGroupSize: number,
): Promise<WrittenPartition> {
  const [newest] = partitionVersions(store, partition.dir);
  const uri = childUri(partition.dir, dataFileName((newest?.version ?? 0) + 1));
  const tmpUri = store.tempOf(uri, tag);
  store.prepare(partition.dir);
  removeStaleTemps(store, partition.dir);
  // Named apart from any dataset column: the file and the row within it, for the order only.
  const files = `read_parquet(${pathList(partition.sources.map(store.locate))}, hive_partitioning = false, union_by_name = true, filename = 'mdw_file', file_row_number = true)`;
  const order = [def.symbolColumn, def.timeColumn].filter((c): c is string => c !== null).map(ident);
  await duck.run(
    `COPY (SELECT * EXCLUDE (mdw_file, file_row_number) FROM ${files} ORDER BY ${[...order, 'mdw_file', 'file_row_number'].join(', ')}) ` +
      `TO ${literal(store.locate(tmpUri))} (FORMAT PARQUET, COMPRESSION ZSTD, ROW_GROUP_SIZE ${rowGroupSize})`,
  );
  const stats = await partitionFileStats(duck, def, store.locate(tmpUri));
  const plan: PartitionPlan = { pid: partition.pid, key: partition.key, periodValue: 0, uri, path: store.locate(uri), current: null, existed: false, changes: stats.rows };
  return { plan, store, tmpUri, tmpPath: store.locate(tmpUri), ...stats };
}
