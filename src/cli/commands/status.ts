import { datasets, kindOf, type DatasetDef } from '../../core/datasets.js';
import { ExitCode } from '../../core/errors.js';
import { humanDuration } from '../../core/progress.js';
import { formatRecords, resolveFormat } from '../output.js';
import { requireHome, stdoutIsTty, withContext, type GlobalOptions } from '../run-command.js';

interface StatusRow {
  dataset: string;
  source: string;
  granularity: string;
  symbol: string;
  rows: number;
  first_ts: Date;
  last_ts: Date;
  last_run: Date | null;
  run_status: string | null;
  last_backfill: Date | null;
  backfill_outcome: string | null;
  score: number | null;
  sessions_behind: number | null;
}

export async function statusCommand(opts: GlobalOptions): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  return withContext(opts, 'mdw status', async (ctx) => {
    requireHome(ctx);
    const { sql } = await ctx.catalog('mdw status');
    const dataset = (opts.dataset as string | undefined) ?? null;
    const source = (opts.source as string | undefined) ?? null;
    const rows = await sql<StatusRow[]>`
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
    const now = ctx.clock.now();
    // Lag is how far bars trail now; an event's or a listing's date says nothing of the kind.
    const isBars = (name: string) => { const def = (datasets as Record<string, DatasetDef | undefined>)[name]; return def ? kindOf(def).lags : true; };
    const out = rows.map((r) => ({ ...r, lag: isBars(r.dataset) ? humanDuration(now.getTime() - r.last_ts.getTime()) : null }));
    if (out.length === 0 && format === 'table') {
      process.stdout.write('The warehouse is empty: run `mdw ingest <job>` (see `mdw jobs list`).\n');
    } else {
      process.stdout.write(
        formatRecords(out, ['dataset', 'source', 'granularity', 'symbol', 'rows', 'first_ts', 'last_ts', 'lag', 'last_run', 'run_status', 'last_backfill', 'backfill_outcome', 'score', 'sessions_behind'], format),
      );
    }
    return ExitCode.ok;
  });
}
