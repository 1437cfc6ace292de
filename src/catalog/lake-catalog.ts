import path from 'node:path';
import { ConfigError } from '../core/errors.js';
import { lakeId, lakeIdFile } from '../lake/lake-id.js';
import { localStore } from '../lake/local-store.js';
import type { RejectedRecord } from '../load/quarantine.js';
import type { SealedPartition } from '../load/staged-chunk.js';
import type { Sql, TxSql } from './catalog.js';
import { upsertSymbolStatus, type SymbolStatusWrite } from './symbol-status.js';

/** What the catalog needs to know about one (dataset, source, granularity) series. */
export interface SeriesRef {
  readonly dataset: string;
  readonly datasetDescription: string;
  readonly source: string;
  readonly adapter: string;
  readonly granularity: string;
  readonly job: string;
}

export interface SeriesIds {
  readonly datasetId: string;
  readonly sourceId: string;
}

export interface BatchRecord {
  readonly id: string;
  readonly runId: string | null;
  readonly counts: { recordsIn: number; out: number; deduped: number; quarantined: number; filtered: number };
  readonly quarantineUri: string | null;
  readonly at: Date;
}

export interface ManifestWrite {
  readonly uri: string;
  readonly tmpUri: string;
  /** The version this one supersedes (removed after the grace period), or null for a new partition. */
  readonly supersedes: string | null;
  readonly symbol: string | null;
  readonly period: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
  readonly firstTs: string | null;
  readonly lastTs: string | null;
  readonly series: readonly { symbol: string | null; rows: number; firstTs: string; lastTs: string }[];
}

/** The manifest's row for a sealed partition file; `supersedes` is the version it replaces, or null. */
export function manifestWrite(w: SealedPartition, supersedes: string | null): ManifestWrite {
  return {
    uri: w.plan.uri,
    tmpUri: w.tmpUri,
    supersedes,
    symbol: w.plan.key.symbol,
    period: w.plan.key.period,
    rows: w.rows,
    bytes: w.bytes,
    sha256: w.sha256,
    firstTs: w.firstTs,
    lastTs: w.lastTs,
    series: w.series,
  };
}

export interface LineageWrite {
  readonly rawUri: string;
  /** The partition the records went to; null for records that reached none. */
  readonly uri: string | null;
  readonly period: string | null;
  readonly recordsIn: number;
  readonly out: number;
  readonly deduped: number;
  readonly quarantined: number;
  readonly filtered: number;
  /** The input's fingerprint and the rules and scope it was read under: a re-run skips it while both match. */
  readonly fingerprint: string | null;
  readonly configKey: string;
}

/** What a batch found about its records, recorded with it. */
export interface BatchQuality {
  readonly rejected: readonly QuarantineWrite[];
  readonly summary: readonly SummaryWrite[];
  readonly replayed?: readonly string[];
  /** Open quarantined records of earlier batches that this one judged again. */
  readonly superseded?: readonly string[];
  /** What the batch says of each symbol (latest bar, score, freshness), in mdw.symbol_status. */
  readonly symbols?: readonly SymbolStatusWrite[];
}

/** One rejected record, as the quarantine file has it. */
export type QuarantineWrite = RejectedRecord;

/** A batch's validation counts: rows per record rule, series flag and input finding. */
export interface SummaryWrite {
  readonly kind: 'record' | 'series' | 'input';
  readonly rule: string;
  readonly rows: number;
}

/** Registers the dataset, the source and their binding; returns their ids. */
export async function ensureSeries(sql: Sql, ref: SeriesRef): Promise<SeriesIds> {
  return sql.begin(async (tx) => {
    const [ds] = await tx<{ id: string }[]>`
      insert into mdw.dataset (name, description) values (${ref.dataset}, ${ref.datasetDescription})
      on conflict (name) do update set description = excluded.description
      returning id`;
    const [src] = await tx<{ id: string }[]>`
      insert into mdw.data_source (name, adapter) values (${ref.source}, ${ref.adapter})
      on conflict (name) do update set adapter = excluded.adapter, updated_at = now()
      returning id`;
    await tx`
      insert into mdw.dataset_binding (dataset_id, source_id, granularity, job)
      values (${ds!.id}, ${src!.id}, ${ref.granularity}, ${ref.job})
      on conflict (dataset_id, source_id, granularity) do update set job = excluded.job`;
    return { datasetId: ds!.id, sourceId: src!.id };
  });
}

/**
 * Records a batch in one transaction: the batch (status 'writing' while files await their
 * rename), the manifest rows as they will be once the files are in place, per-symbol coverage,
 * the pending renames, lineage and newly seen instruments. completeBatch ends it.
 */
export async function recordBatch(
  sql: Sql,
  ids: SeriesIds,
  ref: SeriesRef,
  batch: BatchRecord,
  writes: readonly ManifestWrite[],
  lineage: readonly LineageWrite[],
  symbols: readonly string[],
  quality: BatchQuality = { rejected: [], summary: [] },
): Promise<void> {
  await sql.begin((tx) => recordBatchIn(tx, ids, ref, batch, writes, lineage, symbols, quality));
}

/** recordBatch inside a transaction the caller holds (retention retires partitions and rewrites others in one). */
export async function recordBatchIn(
  tx: TxSql,
  ids: SeriesIds,
  ref: SeriesRef,
  batch: BatchRecord,
  writes: readonly ManifestWrite[],
  lineage: readonly LineageWrite[],
  symbols: readonly string[],
  quality: BatchQuality = { rejected: [], summary: [] },
): Promise<void> {
  await tx`
    insert into mdw.batch (id, run_id, dataset_id, source_id, granularity, job, status, records_in, records_out,
                           deduped, quarantined, filtered, partitions_written, quarantine_uri, created_at, committed_at)
    values (${batch.id}, ${batch.runId}, ${ids.datasetId}, ${ids.sourceId}, ${ref.granularity}, ${ref.job},
            ${writes.length > 0 ? 'writing' : 'committed'}, ${batch.counts.recordsIn}, ${batch.counts.out},
            ${batch.counts.deduped}, ${batch.counts.quarantined}, ${batch.counts.filtered}, ${writes.length},
            ${batch.quarantineUri}, ${batch.at}, ${writes.length > 0 ? null : batch.at})`;
  const manifestIds = await upsertManifest(tx, ids, ref, batch, writes);
  await replaceSeries(tx, writes, manifestIds);
  for (const chunk of chunks(writes, 500)) {
    await tx`insert into mdw.pending_write ${tx(
      chunk.map((w) => ({
        batch_id: batch.id,
        uri: w.uri,
        tmp_uri: w.tmpUri,
        symbol: w.symbol,
        period: w.period,
        rows: w.rows,
        bytes: w.bytes,
        sha256: w.sha256,
        first_ts: w.firstTs,
        last_ts: w.lastTs,
        series: JSON.stringify(w.series),
      })),
    )}`;
  }
  const superseded = writes.filter((w) => w.supersedes !== null);
  for (const chunk of chunks(superseded, 500)) {
    await tx`insert into mdw.superseded_file ${tx(
      chunk.map((w) => ({ uri: w.supersedes, dataset_id: ids.datasetId, source_id: ids.sourceId, granularity: ref.granularity, batch_id: batch.id, superseded_at: batch.at })),
    )} on conflict (uri) do nothing`;
  }
  const lineageUris = [...new Set(lineage.map((l) => l.uri).filter((u): u is string => u !== null))];
  const known = new Map(manifestIds);
  const missing = lineageUris.filter((u) => !known.has(u));
  if (missing.length > 0) {
    for (const row of await tx<{ id: string; uri: string }[]>`select id, uri from mdw.partition_manifest where uri = any(${missing})`) {
      known.set(row.uri, row.id);
    }
  }
  for (const chunk of chunks(lineage, 1000)) {
    await tx`insert into mdw.lineage_item ${tx(
      chunk.map((l) => ({
        batch_id: batch.id,
        raw_uri: l.rawUri,
        manifest_id: l.uri ? (known.get(l.uri) ?? null) : null,
        period: l.period,
        records_in: l.recordsIn,
        records_out: l.out,
        deduped: l.deduped,
        quarantined: l.quarantined,
        filtered: l.filtered,
        fingerprint: l.fingerprint,
        config_key: l.configKey,
      })),
    )}`;
  }
  for (const chunk of chunks(symbols, 1000)) {
    await tx`insert into mdw.instrument ${tx(chunk.map((symbol) => ({ symbol })))} on conflict (symbol) do nothing`;
  }
  for (const chunk of chunks(quality.rejected, 1000)) {
    await tx`insert into mdw.quarantine_record ${tx(
      chunk.map((q) => ({
        batch_id: batch.id,
        job: ref.job,
        dataset_id: ids.datasetId,
        source_id: ids.sourceId,
        granularity: ref.granularity,
        input_uri: q.inputUri,
        record_no: q.recordNo,
        line_no: q.lineNo,
        rules: tx.array([...q.rules]),
        reason: q.reason,
        raw: q.raw,
        symbol: q.symbol,
        key_ts: q.ts,
        created_at: batch.at,
      })),
    )}`;
  }
  for (const chunk of chunks(quality.replayed ?? [], 1000)) {
    await tx`update mdw.quarantine_record set state = 'replayed', replay_batch_id = ${batch.id}, replayed_at = ${batch.at}
             where id = any(${chunk}::uuid[]) and state = 'open'`;
  }
  for (const chunk of chunks(quality.superseded ?? [], 1000)) {
    await tx`update mdw.quarantine_record set state = 'superseded', superseded_by = ${batch.id}
             where id = any(${chunk}::uuid[]) and state = 'open'`;
  }
  await upsertSymbolStatus(tx, quality.symbols ?? []);
  const summary = quality.summary.filter((r) => r.rows > 0);
  if (summary.length > 0) {
    await tx`insert into mdw.validation_summary ${tx(summary.map((r) => ({ batch_id: batch.id, kind: r.kind, rule: r.rule, rows: r.rows })))}`;
  }
}

async function upsertManifest(
  tx: TxSql,
  ids: SeriesIds,
  ref: SeriesRef,
  batch: BatchRecord,
  writes: readonly ManifestWrite[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const chunk of chunks(writes, 500)) {
    const rows = await tx<{ id: string; uri: string }[]>`
      insert into mdw.partition_manifest ${tx(
        chunk.map((w) => ({
          dataset_id: ids.datasetId,
          source_id: ids.sourceId,
          granularity: ref.granularity,
          symbol: w.symbol,
          period: w.period,
          uri: w.uri,
          rows: w.rows,
          bytes: w.bytes,
          sha256: w.sha256,
          first_ts: w.firstTs,
          last_ts: w.lastTs,
          batch_id: batch.id,
          created_at: batch.at,
          updated_at: batch.at,
        })),
      )}
      on conflict (dataset_id, source_id, granularity, symbol, period) do update set
        uri = excluded.uri, rows = excluded.rows, bytes = excluded.bytes, sha256 = excluded.sha256,
        first_ts = excluded.first_ts, last_ts = excluded.last_ts,
        batch_id = excluded.batch_id, updated_at = excluded.updated_at
      returning id, uri`;
    for (const r of rows) out.set(r.uri, r.id);
  }
  return out;
}

async function replaceSeries(tx: TxSql, writes: readonly ManifestWrite[], manifestIds: Map<string, string>): Promise<void> {
  const ids = writes.map((w) => manifestIds.get(w.uri)!);
  for (const chunk of chunks(ids, 1000)) await tx`delete from mdw.partition_series where manifest_id = any(${chunk})`;
  const rows = writes.flatMap((w) =>
    w.series
      .filter((s) => s.symbol !== null)
      .map((s) => ({ manifest_id: manifestIds.get(w.uri)!, symbol: s.symbol, rows: s.rows, first_ts: s.firstTs, last_ts: s.lastTs })),
  );
  for (const chunk of chunks(rows, 1000)) await tx`insert into mdw.partition_series ${tx(chunk)}`;
}

/** The files are in place: the batch is committed and its pending renames are done. */
export async function completeBatch(sql: Sql, batchId: string, at: Date): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`delete from mdw.pending_write where batch_id = ${batchId}`;
    await tx`update mdw.batch set status = 'committed', committed_at = ${at} where id = ${batchId}`;
  });
}

export async function failBatch(sql: Sql, batchId: string): Promise<void> {
  await sql`update mdw.batch set status = 'failed' where id = ${batchId}`;
}

export interface PendingWrite {
  readonly batchId: string;
  readonly uri: string;
  readonly tmpUri: string;
  readonly sha256: string;
}

/**
 * Renames that a batch of this series recorded but a crash kept from finishing, oldest batch
 * first. Only this series: the caller holds its lock, and another series' batch may be live.
 */
export async function pendingWrites(sql: Sql, ids: SeriesIds, granularity: string): Promise<PendingWrite[]> {
  const rows = await sql<{ batch_id: string; uri: string; tmp_uri: string; sha256: string }[]>`
    select p.batch_id, p.uri, p.tmp_uri, p.sha256
    from mdw.pending_write p join mdw.batch b on b.id = p.batch_id
    where b.status = 'writing' and b.dataset_id = ${ids.datasetId} and b.source_id = ${ids.sourceId}
      and b.granularity = ${granularity}
    order by b.created_at, p.uri`;
  return rows.map((r) => ({ batchId: r.batch_id, uri: r.uri, tmpUri: r.tmp_uri, sha256: r.sha256 }));
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Makes a partition's manifest row say what its current file really holds, after a write
 * (`lostUri`) that was lost: the version readers now open (stats given), or no row when the
 * partition has no file. The version the lost write was to supersede is current again, so it
 * is no longer due for removal.
 */
export async function repairManifest(
  sql: Sql,
  lostUri: string,
  batchId: string,
  file: {
    uri: string;
    sha256: string;
    bytes: number;
    rows: number;
    firstTs: string | null;
    lastTs: string | null;
    series: readonly { symbol: string | null; rows: number; firstTs: string; lastTs: string }[];
  } | null,
  at: Date,
): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`delete from mdw.superseded_file where batch_id = ${batchId}`;
    if (!file) {
      await tx`delete from mdw.partition_manifest where uri = ${lostUri}`;
      return;
    }
    const [m] = await tx<{ id: string }[]>`
      update mdw.partition_manifest
      set uri = ${file.uri}, sha256 = ${file.sha256}, bytes = ${file.bytes}, rows = ${file.rows}, first_ts = ${file.firstTs},
          last_ts = ${file.lastTs}, updated_at = ${at}
      where uri = ${lostUri} returning id`;
    if (!m) return;
    await tx`delete from mdw.partition_series where manifest_id = ${m.id}`;
    const rows = file.series
      .filter((s) => s.symbol !== null)
      .map((s) => ({ manifest_id: m.id, symbol: s.symbol, rows: s.rows, first_ts: s.firstTs, last_ts: s.lastTs }));
    if (rows.length) await tx`insert into mdw.partition_series ${tx(rows)}`;
  });
}

/** Versions of this series that committed batches superseded at or before `before`: due for removal. */
export async function supersededBefore(sql: Sql, ids: SeriesIds, granularity: string, before: Date): Promise<string[]> {
  const rows = await sql<{ uri: string }[]>`
    select f.uri from mdw.superseded_file f join mdw.batch b on b.id = f.batch_id
    where f.dataset_id = ${ids.datasetId} and f.source_id = ${ids.sourceId} and f.granularity = ${granularity}
      and f.superseded_at <= ${before} and b.status = 'committed'
    order by f.uri`;
  return rows.map((r) => r.uri);
}

/** Every superseded version of this series not removed yet (they are not orphans). */
export async function supersededFiles(sql: Sql, ids: SeriesIds, granularity: string): Promise<string[]> {
  const rows = await sql<{ uri: string }[]>`
    select uri from mdw.superseded_file where dataset_id = ${ids.datasetId} and source_id = ${ids.sourceId} and granularity = ${granularity}`;
  return rows.map((r) => r.uri);
}

/** Of these batch ids, those the catalog has (any status). */
export async function batchesKnown(sql: Sql, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await sql<{ id: string }[]>`select id from mdw.batch where id = any(${ids as string[]}::uuid[])`;
  return rows.map((r) => r.id);
}

/** Forgets versions whose files are gone. */
export async function forgetSuperseded(sql: Sql, uris: readonly string[]): Promise<void> {
  for (const chunk of chunks(uris, 1000)) await sql`delete from mdw.superseded_file where uri = any(${chunk as string[]})`;
}

/**
 * Of these inputs, the fingerprints under which a committed batch of this series read them
 * with the same rules and scope (configKey).
 */
export async function readInputs(sql: Sql, ids: SeriesIds, granularity: string, configKey: string, uris: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const chunk of chunks(uris, 5000)) {
    const rows = await sql<{ raw_uri: string; fingerprint: string }[]>`
      select distinct l.raw_uri, l.fingerprint
      from mdw.lineage_item l join mdw.batch b on b.id = l.batch_id
      where l.raw_uri = any(${chunk}) and l.config_key = ${configKey} and l.fingerprint is not null
        and b.status = 'committed' and b.dataset_id = ${ids.datasetId} and b.source_id = ${ids.sourceId}
        and b.granularity = ${granularity}`;
    for (const r of rows) out.set(r.raw_uri, r.fingerprint);
  }
  return out;
}

/**
 * Binds the catalog to the lake it describes, on first use, and refuses a catalog bound to
 * another lake: its manifest and input fingerprints would say data is stored that this lake
 * does not have, and a re-run would skip loading it. A lake folder that does not exist yet
 * (a command run before `mdw init`) binds nothing.
 */
export async function bindLake(sql: Sql, lakeDir: string): Promise<{ id: string; moved: string | null } | null> {
  const id = await lakeId(localStore(lakeDir));
  if (id === null) return null;
  const where = path.resolve(lakeDir);
  await sql`insert into mdw.lake (id, path) values (${id}, ${where}) on conflict (singleton) do nothing`;
  const [bound] = await sql<{ id: string; path: string }[]>`select id::text as id, path from mdw.lake`;
  if (bound!.id !== id) {
    throw new ConfigError(
      `this catalog describes another lake (id ${bound!.id}, last seen at ${bound!.path}), not the one at ${where} (id ${id}). ` +
        `Point MDW_DATABASE_URL (or MDW_HOME) at this warehouse's own catalog. If this lake is a copy or restore of that one, ` +
        `put ${bound!.id} in ${path.join(where, lakeIdFile)}.`,
    );
  }
  if (bound!.path === where) return { id, moved: null };
  await sql`update mdw.lake set path = ${where}`;
  return { id, moved: bound!.path };
}

