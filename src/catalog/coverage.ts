import { datasets, kindOf, type DatasetDef } from '../core/datasets.js';
import { humanDuration } from '../core/progress.js';
import type { Queryable } from './catalog.js';

/** One series of one symbol as the manifest knows it, with its last run, backfill and score: what `mdw status` lists. */
export interface CoverageRow {
  readonly dataset: string;
  readonly source: string;
  readonly granularity: string;
  readonly symbol: string;
  readonly rows: number;
  readonly first_ts: Date;
  readonly last_ts: Date;
  /** How far the newest bar trails now (bars only: an event's date says nothing of staleness). */
  readonly lag: string | null;
  readonly last_run: Date | null;
  readonly run_status: string | null;
  readonly last_backfill: Date | null;
  readonly backfill_outcome: string | null;
  readonly score: number | null;
  readonly sessions_behind: number | null;
}

export const coverageColumns = ['dataset', 'source', 'granularity', 'symbol', 'rows', 'first_ts', 'last_ts', 'lag', 'last_run', 'run_status', 'last_backfill', 'backfill_outcome', 'score', 'sessions_behind'] as const;

/** What the lake holds per (dataset, source, granularity, symbol), from the manifest; the CLI's status and the HTTP API's. */
export async function coverage(sql: Queryable, filter: { dataset?: string | null; source?: string | null }, now: Date): Promise<CoverageRow[]> {
  const dataset = filter.dataset ?? null;
  const source = filter.source ?? null;
  const rows = await sql<Omit<CoverageRow, 'lag'>[]>`
      with coverage as (
        select m.dataset_id, m.source_id, m.granularity, ps.symbol,
               sum(ps.rows)::bigint as rows, min(ps.first_ts) as first_ts, max(ps.last_ts) as last_ts
        from mdw.partition_series ps
        join mdw.partition_manifest m on m.id = ps.manifest_id
        group by 1, 2, 3, 4
      ),
      last_batch as (
        select distinct on (b.dataset_id, b.source_id, b.granularity)
               b.dataset_id, b.source_id, b.granularity, coalesce(r.finished_at, b.created_at) as last_run,
               coalesce(r.status, b.status) as run_status
        from mdw.batch b left join mdw.ingest_run r on r.id = b.run_id
        order by b.dataset_id, b.source_id, b.granularity, b.created_at desc
      )
      select d.name as dataset, s.name as source, c.granularity, c.symbol, c.rows, c.first_ts, c.last_ts,
             lb.last_run, lb.run_status, ss.last_backfill_at as last_backfill, ss.last_backfill_outcome as backfill_outcome,
             round(ss.last_score * 10000) / 10000 as score, ss.freshness_sessions as sessions_behind
      from coverage c
      join mdw.dataset d on d.id = c.dataset_id
      join mdw.data_source s on s.id = c.source_id
      left join last_batch lb using (dataset_id, source_id, granularity)
      left join mdw.symbol_status ss on ss.dataset = d.name and ss.source = s.name and ss.granularity = c.granularity and ss.symbol = c.symbol
      where (${dataset}::text is null or d.name = ${dataset}) and (${source}::text is null or s.name = ${source})
      order by d.name, s.name, c.granularity, c.symbol`;
  const lags = (name: string) => {
    const def = (datasets as Record<string, DatasetDef | undefined>)[name];
    return def ? kindOf(def).lags : true;
  };
  return rows.map((r) => ({ ...r, lag: lags(r.dataset) ? humanDuration(now.getTime() - r.last_ts.getTime()) : null }));
}

/** The last run of each job: when it started and finished, and how it ended. */
export interface LastRun {
  readonly job: string;
  readonly command: string;
  readonly status: string;
  readonly started_at: Date;
  readonly finished_at: Date | null;
  readonly error: string | null;
}

export async function lastRuns(sql: Queryable): Promise<LastRun[]> {
  return sql<LastRun[]>`
    select distinct on (job) job, command, status, started_at, finished_at, error
    from mdw.ingest_run where job is not null
    order by job, started_at desc`;
}
