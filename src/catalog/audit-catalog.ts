import type { Sql } from './catalog.js';
import type { SeriesIds } from './lake-catalog.js';

/** One row of the completeness ledger: a run of consecutive sessions with one status. */
export interface LedgerRun {
  readonly symbol: string;
  readonly firstSession: string;
  readonly lastSession: string;
  /** KNOWN: sessions of a hole explained (no vendor had data, or an operator accepted it), not counted RED. */
  readonly status: 'GREEN' | 'AMBER' | 'RED' | 'KNOWN';
  readonly sessions: number;
  readonly expectedBars: number;
  readonly presentBars: number;
  /** Open quarantined records that fell in these sessions. */
  readonly quarantined: number;
}

export interface ManifestEntry {
  readonly uri: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
}

/** The ids of a series the catalog knows, or null (audit creates nothing). */
export async function findSeries(sql: Sql, dataset: string, source: string): Promise<SeriesIds | null> {
  const [row] = await sql<{ dataset_id: string; source_id: string }[]>`
    select d.id as dataset_id, s.id as source_id from mdw.dataset d, mdw.data_source s where d.name = ${dataset} and s.name = ${source}`;
  return row ? { datasetId: row.dataset_id, sourceId: row.source_id } : null;
}

/** Every series the manifest has files of, by its names and ids. */
export async function manifestSeries(sql: Sql): Promise<{ dataset: string; source: string; granularity: string; ids: SeriesIds }[]> {
  const rows = await sql<{ dataset: string; source: string; granularity: string; dataset_id: string; source_id: string }[]>`
    select distinct d.name as dataset, s.name as source, m.granularity, m.dataset_id, m.source_id
    from mdw.partition_manifest m join mdw.dataset d on d.id = m.dataset_id join mdw.data_source s on s.id = m.source_id
    order by 1, 2, 3`;
  return rows.map((r) => ({ dataset: r.dataset, source: r.source, granularity: r.granularity, ids: { datasetId: r.dataset_id, sourceId: r.source_id } }));
}

/** What the manifest says the series' files are. */
export async function seriesManifest(sql: Sql, ids: SeriesIds, granularity: string): Promise<ManifestEntry[]> {
  return sql<ManifestEntry[]>`
    select uri, rows::float8 as rows, bytes::float8 as bytes, sha256 from mdw.partition_manifest
    where dataset_id = ${ids.datasetId} and source_id = ${ids.sourceId} and granularity = ${granularity} order by uri`;
}

/** Replaces the series' ledger with what this audit found, in one transaction. */
export async function writeLedger(sql: Sql, ids: SeriesIds, granularity: string, runs: readonly LedgerRun[], at: Date): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`delete from mdw.completeness where dataset_id = ${ids.datasetId} and source_id = ${ids.sourceId} and granularity = ${granularity}`;
    for (let i = 0; i < runs.length; i += 1000) {
      await tx`insert into mdw.completeness ${tx(
        runs.slice(i, i + 1000).map((r) => ({
          dataset_id: ids.datasetId,
          source_id: ids.sourceId,
          granularity,
          symbol: r.symbol,
          first_session: r.firstSession,
          last_session: r.lastSession,
          status: r.status,
          sessions: r.sessions,
          expected_bars: r.expectedBars,
          present_bars: r.presentBars,
          quarantined: r.quarantined,
          audited_at: at,
        })),
      )}`;
    }
  });
}

/** Open quarantined records of the series. */
export async function openQuarantined(sql: Sql, ids: SeriesIds, granularity: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from mdw.quarantine_record
    where dataset_id = ${ids.datasetId} and source_id = ${ids.sourceId} and granularity = ${granularity} and state = 'open'`;
  return row?.n ?? 0;
}

/**
 * The keys (symbol and bar time, ISO UTC) of the series' open quarantined records, up to a
 * time: the ledger counts them in their sessions.
 */
export async function openQuarantinedKeys(sql: Sql, ids: SeriesIds, granularity: string, until: Date): Promise<{ symbol: string; ts: string }[]> {
  return sql<{ symbol: string; ts: string }[]>`
    select symbol, to_char(key_ts, 'YYYY-MM-DD"T"HH24:MI:SS.US') as ts from mdw.quarantine_record
    where dataset_id = ${ids.datasetId} and source_id = ${ids.sourceId} and granularity = ${granularity} and state = 'open'
      and symbol is not null and key_ts is not null and key_ts <= ${until.toISOString()}::timestamptz at time zone 'UTC'
    order by symbol, key_ts`;
}
