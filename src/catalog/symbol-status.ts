import type { Queryable } from './catalog.js';

/**
 * mdw.symbol_status: per (dataset, source, granularity, symbol), the latest bar, the last
 * backfill and its outcome, the last validation score and how many sessions the series trails.
 * Every ingest batch and every backfill chunk writes it; `mdw status` reads it.
 */

export type BackfillOutcome = 'done' | 'empty' | 'failed';

/** What an ingest or a backfill learned about one symbol of a series; a field left out keeps its stored value. */
export interface SymbolStatusWrite {
  readonly dataset: string;
  readonly source: string;
  readonly granularity: string;
  readonly symbol: string;
  /** The latest bar stored; the stored value only ever moves forward (a backfill of old data does not move it back). */
  readonly latestTs?: Date | null;
  readonly lastBackfillAt?: Date | null;
  readonly lastBackfillOutcome?: BackfillOutcome | null;
  readonly lastScore?: number | null;
  /** Ended sessions after the latest bar, as the caller's calendar counts them at updatedAt. */
  readonly freshnessSessions?: number | null;
  readonly updatedAt: Date;
}

export interface SymbolStatus {
  readonly dataset: string;
  readonly source: string;
  readonly granularity: string;
  readonly symbol: string;
  readonly latestTs: Date | null;
  readonly lastBackfillAt: Date | null;
  readonly lastBackfillOutcome: BackfillOutcome | null;
  readonly lastScore: number | null;
  readonly freshnessSessions: number | null;
  readonly updatedAt: Date;
}

/**
 * Records what an ingest or a backfill learned per symbol. A field left out (or null) keeps the
 * stored value; the latest bar only moves forward. Rows for one symbol are merged first, later
 * fields winning.
 */
export async function upsertSymbolStatus(sql: Queryable, rows: readonly SymbolStatusWrite[]): Promise<void> {
  const merged = new Map<string, SymbolStatusWrite>();
  for (const r of rows) {
    const key = JSON.stringify([r.dataset, r.source, r.granularity, r.symbol]);
    const prior = merged.get(key);
    merged.set(key, prior ? { ...prior, ...Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined && v !== null)) } as SymbolStatusWrite : r);
  }
  const all = [...merged.values()].map((r) => ({
    dataset: r.dataset,
    source: r.source,
    granularity: r.granularity,
    symbol: r.symbol,
    latest_ts: r.latestTs ?? null,
    last_backfill_at: r.lastBackfillAt ?? null,
    last_backfill_outcome: r.lastBackfillOutcome ?? null,
    last_score: r.lastScore ?? null,
    freshness_sessions: r.freshnessSessions ?? null,
    updated_at: r.updatedAt,
  }));
  for (let i = 0; i < all.length; i += 1000) {
    await sql`
      insert into mdw.symbol_status ${sql(all.slice(i, i + 1000))}
      on conflict (dataset, source, granularity, symbol) do update
      set latest_ts = greatest(mdw.symbol_status.latest_ts, excluded.latest_ts),
          last_backfill_at = coalesce(excluded.last_backfill_at, mdw.symbol_status.last_backfill_at),
          last_backfill_outcome = coalesce(excluded.last_backfill_outcome, mdw.symbol_status.last_backfill_outcome),
          last_score = coalesce(excluded.last_score, mdw.symbol_status.last_score),
          -- How far a series trails is measured from its latest bar: an older bar (a backfill) leaves it.
          freshness_sessions = case when excluded.latest_ts is null or mdw.symbol_status.latest_ts is null or excluded.latest_ts >= mdw.symbol_status.latest_ts
                                    then coalesce(excluded.freshness_sessions, mdw.symbol_status.freshness_sessions)
                                    else mdw.symbol_status.freshness_sessions end,
          updated_at = excluded.updated_at`;
  }
}

/** Per-symbol status rows, filtered by series and symbols (all when left out), by series then symbol. */
export async function symbolStatus(
  sql: Queryable,
  filter: { readonly dataset?: string; readonly source?: string; readonly granularity?: string; readonly symbols?: readonly string[] } = {},
): Promise<SymbolStatus[]> {
  const rows = await sql<SymbolStatus[]>`
    select dataset, source, granularity, symbol, latest_ts as "latestTs", last_backfill_at as "lastBackfillAt",
           last_backfill_outcome as "lastBackfillOutcome", last_score as "lastScore", freshness_sessions as "freshnessSessions",
           updated_at as "updatedAt"
    from mdw.symbol_status
    where true
      ${filter.dataset ? sql`and dataset = ${filter.dataset}` : sql``}
      ${filter.source ? sql`and source = ${filter.source}` : sql``}
      ${filter.granularity ? sql`and granularity = ${filter.granularity}` : sql``}
      ${filter.symbols ? sql`and symbol = any(${filter.symbols as string[]})` : sql``}
    order by dataset, source, granularity, symbol`;
  return [...rows];
}
