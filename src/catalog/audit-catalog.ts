import type { Queryable, Sql } from './catalog.js';
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

/** The ledger of one series as the last audit left it: sessions by status. */
export interface LedgerSummary {
  readonly dataset: string;
  readonly source: string;
  readonly granularity: string;
  readonly symbols: number;
  readonly sessions: number;
  readonly green: number;
  readonly amber: number;
  readonly red: number;
  readonly known: number;
  readonly complete_pct: number | null;
  readonly audited_at: Date;
}

/** A run of sessions the last audit found short of bars (AMBER) or without any (RED). */
export interface LedgerHole {
  readonly dataset: string;
  readonly source: string;
  readonly granularity: string;
  readonly symbol: string;
  readonly status: 'AMBER' | 'RED';
  readonly first_session: string;
  readonly last_session: string;
  readonly sessions: number;
  readonly expected_bars: number;
  readonly present_bars: number;
}

/** The completeness ledger read back (it is written by `mdw audit`): a summary per series and its holes. */
export async function readLedger(
  sql: Queryable,
  filter: { dataset?: string | null; source?: string | null },
): Promise<{ summary: LedgerSummary[]; holes: LedgerHole[] }> {
  const dataset = filter.dataset ?? null;
  const source = filter.source ?? null;
  const summary = await sql<LedgerSummary[]>`
    select d.name as dataset, s.name as source, c.granularity, count(distinct c.symbol)::int as symbols,
           sum(c.sessions)::int as sessions,
           coalesce(sum(c.sessions) filter (where c.status = 'GREEN'), 0)::int as green,
           coalesce(sum(c.sessions) filter (where c.status = 'AMBER'), 0)::int as amber,
           coalesce(sum(c.sessions) filter (where c.status = 'RED'), 0)::int as red,
           coalesce(sum(c.sessions) filter (where c.status = 'KNOWN'), 0)::int as known,
           round(100.0 * coalesce(sum(c.sessions) filter (where c.status = 'GREEN'), 0) / nullif(sum(c.sessions), 0), 2)::float8 as complete_pct,
           max(c.audited_at) as audited_at
    from mdw.completeness c join mdw.dataset d on d.id = c.dataset_id join mdw.data_source s on s.id = c.source_id
    where (${dataset}::text is null or d.name = ${dataset}) and (${source}::text is null or s.name = ${source})
    group by 1, 2, 3 order by 1, 2, 3`;
  const holes = await sql<LedgerHole[]>`
    select d.name as dataset, s.name as source, c.granularity, c.symbol, c.status,
           to_char(c.first_session, 'YYYY-MM-DD') as first_session, to_char(c.last_session, 'YYYY-MM-DD') as last_session,
           c.sessions, c.expected_bars::float8 as expected_bars, c.present_bars::float8 as present_bars
    from mdw.completeness c join mdw.dataset d on d.id = c.dataset_id join mdw.data_source s on s.id = c.source_id
    where c.status in ('AMBER', 'RED')
      and (${dataset}::text is null or d.name = ${dataset}) and (${source}::text is null or s.name = ${source})
    order by 1, 2, 3, c.symbol, c.first_session`;
  return { summary, holes };
}
