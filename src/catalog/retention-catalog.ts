import type { Queryable, Sql, TxSql } from './catalog.js';
import type { SeriesIds } from './lake-catalog.js';

/** A (dataset, source, granularity) series the catalog holds, with the job that loads it. */
export interface CatalogSeries extends SeriesIds {
  readonly dataset: string;
  readonly source: string;
  readonly adapter: string;
  readonly granularity: string;
  readonly job: string | null;
}

/** A partition as the manifest has it, with its per-symbol coverage. */
export interface ManifestPartition {
  readonly id: string;
  readonly uri: string;
  readonly symbol: string | null;
  readonly period: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
  readonly firstTs: Date | null;
  readonly lastTs: Date | null;
  /** Symbols in the file (partition_series; for a file per symbol, its symbol). */
  readonly symbols: readonly string[];
}

/** A partition leaving the manifest: its tombstone. */
export interface Retirement {
  readonly partition: ManifestPartition;
  readonly policy: string;
  readonly action: 'delete' | 'archive';
  /** Every file of the partition in the lake: the current one, then superseded versions; none for a straddling partition's older rows. */
  readonly lakeUris: readonly string[];
  /** Where the current file is kept, relative to MDW_HOME. */
  readonly keptUri: string;
}

export interface RetiredRow {
  readonly id: string;
  readonly policy: string;
  readonly action: 'delete' | 'archive';
  readonly state: 'trash' | 'archived' | 'purged';
  readonly dataset: string;
  readonly source: string;
  readonly granularity: string;
  readonly symbol: string | null;
  readonly period: string;
  readonly uri: string;
  readonly keptUri: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
  readonly retiredAt: Date;
  readonly purgedAt: Date | null;
}

/** Every series the catalog binds, in name order. */
export async function catalogSeries(sql: Sql): Promise<CatalogSeries[]> {
  return sql<CatalogSeries[]>`
    select d.id as "datasetId", s.id as "sourceId", d.name as dataset, s.name as source, s.adapter, b.granularity, b.job
    from mdw.dataset_binding b join mdw.dataset d on d.id = b.dataset_id join mdw.data_source s on s.id = b.source_id
    order by d.name, s.name, b.granularity`;
}

/** The series' manifest, with each partition's symbols, in uri order. */
export async function manifestPartitions(sql: Sql, ids: SeriesIds, granularity: string): Promise<ManifestPartition[]> {
  const rows = await sql<(Omit<ManifestPartition, 'symbols'> & { symbols: string[] | null })[]>`
    select m.id, m.uri, m.symbol, m.period, m.rows, m.bytes, m.sha256, m.first_ts as "firstTs", m.last_ts as "lastTs",
           (select array_agg(p.symbol order by p.symbol) from mdw.partition_series p where p.manifest_id = m.id) as symbols
    from mdw.partition_manifest m
    where m.dataset_id = ${ids.datasetId} and m.source_id = ${ids.sourceId} and m.granularity = ${granularity}
    order by m.uri`;
  return rows.map((r) => ({ ...r, symbols: r.symbols ?? (r.symbol !== null ? [r.symbol] : []) }));
}

/**
 * Inside the caller's transaction: the partitions leave the manifest into their tombstones
 * (taking the manifest row's id, so their lineage keeps pointing at them), their superseded
 * versions are forgotten (their files go with the partition), and the symbols' retired range
 * moves up to the cut.
 */
export async function retirePartitions(
  tx: TxSql,
  ids: SeriesIds,
  granularity: string,
  retirements: readonly Retirement[],
  ranges: readonly { symbol: string; before: Date; firstKept: string; policy: string }[],
  runId: string | null,
  at: Date,
): Promise<void> {
  for (const r of retirements) {
    const p = r.partition;
    // A straddling partition's older rows: the manifest keeps the partition (rewritten).
    const whole = r.lakeUris.length > 0;
    await tx`
      insert into mdw.retired_partition (id, run_id, policy, action, state, dataset_id, source_id, granularity, symbol, period, uri, lake_uris,
                                         kept_uri, rows, bytes, sha256, first_ts, last_ts, retired_at)
      values (${p.id}, ${runId}, ${r.policy}, ${r.action}, ${r.action === 'delete' ? 'trash' : 'archived'}, ${ids.datasetId}, ${ids.sourceId},
              ${granularity}, ${p.symbol}, ${p.period}, ${p.uri}, ${tx.array([...r.lakeUris])}, ${r.keptUri}, ${p.rows}, ${p.bytes}, ${p.sha256},
              ${p.firstTs}, ${p.lastTs}, ${at})`;
    if (!whole) continue;
    await tx`update mdw.lineage_item set retired_id = ${p.id} where manifest_id = ${p.id}`;
    await tx`delete from mdw.partition_manifest where id = ${p.id}`;
    await tx`delete from mdw.superseded_file where uri = any(${[...r.lakeUris]})`;
  }
  for (const r of ranges) {
    await tx`
      insert into mdw.retired_range (dataset_id, source_id, granularity, symbol, retired_before, first_kept, policy, updated_at)
      values (${ids.datasetId}, ${ids.sourceId}, ${granularity}, ${r.symbol}, ${r.before}, ${r.firstKept}, ${r.policy}, ${at})
      on conflict (dataset_id, source_id, granularity, symbol) do update set
        retired_before = excluded.retired_before, first_kept = excluded.first_kept, policy = excluded.policy, updated_at = excluded.updated_at
      where mdw.retired_range.retired_before < excluded.retired_before`;
  }
}

/** Tombstones of this series whose lake files a run that was interrupted did not remove yet. */
export async function unclearedRetirements(sql: Queryable, ids: SeriesIds, granularity: string): Promise<{ id: string; lakeUris: string[] }[]> {
  return sql<{ id: string; lakeUris: string[] }[]>`
    select id, lake_uris as "lakeUris" from mdw.retired_partition
    where dataset_id = ${ids.datasetId} and source_id = ${ids.sourceId} and granularity = ${granularity} and not lake_cleared
    order by retired_at, uri`;
}

/** The lake files of these tombstones are gone. */
export async function markCleared(sql: Queryable, ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await sql`update mdw.retired_partition set lake_cleared = true where id = any(${ids as string[]}::uuid[])`;
}

/** Every file retention keeps (trash and archive), relative to MDW_HOME: what is there without a row is a leftover. */
export async function keptUris(sql: Sql): Promise<Set<string>> {
  const rows = await sql<{ kept_uri: string }[]>`select kept_uri from mdw.retired_partition where state <> 'purged'`;
  return new Set(rows.map((r) => r.kept_uri));
}

/** Deleted partitions whose files have waited in the trash since before `before`. */
export async function trashBefore(sql: Sql, before: Date): Promise<{ id: string; keptUri: string; rows: number; bytes: number; policy: string }[]> {
  return sql<{ id: string; keptUri: string; rows: number; bytes: number; policy: string }[]>`
    select id, kept_uri as "keptUri", rows, bytes, policy from mdw.retired_partition
    where state = 'trash' and retired_at <= ${before} order by retired_at, kept_uri`;
}

export async function markPurged(sql: Sql, ids: readonly string[], at: Date): Promise<void> {
  if (ids.length > 0) await sql`update mdw.retired_partition set state = 'purged', purged_at = ${at} where id = any(${ids as string[]}::uuid[])`;
}

/** Tombstones, newest first; only those in a state when given. */
export async function retiredPartitions(sql: Sql, state: RetiredRow['state'] | null): Promise<RetiredRow[]> {
  return sql<RetiredRow[]>`
    select r.id, r.policy, r.action, r.state, d.name as dataset, s.name as source, r.granularity, r.symbol, r.period, r.uri,
           r.kept_uri as "keptUri", r.rows, r.bytes, r.sha256, r.retired_at as "retiredAt", r.purged_at as "purgedAt"
    from mdw.retired_partition r join mdw.dataset d on d.id = r.dataset_id join mdw.data_source s on s.id = r.source_id
    where ${state === null ? sql`true` : sql`r.state = ${state}`}
    order by r.retired_at desc, d.name, s.name, r.granularity, r.uri`;
}

/** Per symbol, the first date the ledger expects sessions of (what a policy retired before is no hole). */
export async function retiredRanges(sql: Sql, ids: SeriesIds, granularity: string): Promise<{ symbol: string; before: string; firstKept: string }[]> {
  return sql<{ symbol: string; before: string; firstKept: string }[]>`
    select symbol, to_char(retired_before at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as before, to_char(first_kept, 'YYYY-MM-DD') as "firstKept"
    from mdw.retired_range where dataset_id = ${ids.datasetId} and source_id = ${ids.sourceId} and granularity = ${granularity}
    order by symbol`;
}

/**
 * Inside the caller's transaction, after the merged partitions' batch is recorded (recordBatchIn):
 * the partitions merged leave the manifest, their lineage now names the partition that holds
 * their rows, and their files are superseded (removed after the grace period, as any replaced
 * version; until then readers skip them, shadowed by the merged file).
 */
export async function mergeManifest(
  tx: TxSql,
  ids: SeriesIds,
  granularity: string,
  merges: readonly { readonly uri: string; readonly parts: readonly { readonly id: string; readonly uri: string }[] }[],
  batchId: string,
  at: Date,
): Promise<void> {
  for (const m of merges) {
    const fineIds = m.parts.map((p) => p.id);
    const [merged] = await tx<{ id: string }[]>`
      select id from mdw.partition_manifest
      where uri = ${m.uri} and dataset_id = ${ids.datasetId} and source_id = ${ids.sourceId} and granularity = ${granularity}`;
    if (!merged) throw new Error(`the merged partition ${m.uri} is not in the manifest`);
    await tx`update mdw.lineage_item set manifest_id = ${merged.id} where manifest_id = any(${fineIds}::uuid[])`;
    await tx`insert into mdw.superseded_file ${tx(
      m.parts.map((p) => ({ uri: p.uri, dataset_id: ids.datasetId, source_id: ids.sourceId, granularity, batch_id: batchId, superseded_at: at })),
    )} on conflict (uri) do nothing`;
    const gone = await tx`delete from mdw.partition_manifest where id = any(${fineIds}::uuid[]) returning id`;
    if (gone.length !== fineIds.length) throw new Error(`the manifest of ${m.uri}'s partitions changed under the merge (${gone.length} of ${fineIds.length} found)`);
  }
}
