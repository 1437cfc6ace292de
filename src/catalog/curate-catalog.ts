import type { Queryable } from './catalog.js';

/** A change to one action's row of an adjustment log, as mdw.adjustment_change records it. */
export interface AdjustmentChange {
  readonly symbol: string;
  /** YYYY-MM-DD. */
  readonly exDate: string;
  readonly action: string;
  readonly change: 'added' | 'changed' | 'removed';
  /** split_factor x dividend_factor before and after (null where there was no row). */
  readonly oldFactor: number | null;
  readonly newFactor: number | null;
  readonly oldCash: number | null;
  readonly newCash: number | null;
  readonly oldActionBatch: string | null;
  readonly newActionBatch: string | null;
}

export interface RecordedChange extends AdjustmentChange {
  readonly job: string;
  readonly curateBatch: string | null;
  readonly changedAt: Date;
}

/**
 * Records what a curate run changes in a source's adjustment log, as pending (no curate batch)
 * until its load commits (settlePendingChanges). The logs as landed are the "before" of every
 * run until they change, so a symbol's changes replace its pending ones: a run that died before
 * landing its log left them, and they are recorded once, as this run sees them.
 */
export async function recordAdjustmentChanges(
  sql: Queryable,
  series: { readonly job: string; readonly source: string; readonly granularity: string; readonly at: Date },
  changes: readonly AdjustmentChange[],
): Promise<void> {
  const symbols = [...new Set(changes.map((c) => c.symbol))];
  if (symbols.length === 0) return;
  await sql`delete from mdw.adjustment_change where source = ${series.source} and granularity = ${series.granularity} and curate_batch is null and symbol = any(${symbols})`;
  for (let i = 0; i < changes.length; i += 1000) {
    await sql`insert into mdw.adjustment_change ${sql(
      changes.slice(i, i + 1000).map((c) => ({
        job: series.job,
        source: series.source,
        granularity: series.granularity,
        symbol: c.symbol,
        ex_date: c.exDate,
        action: c.action,
        change: c.change,
        old_factor: c.oldFactor,
        new_factor: c.newFactor,
        old_cash: c.oldCash,
        new_cash: c.newCash,
        old_action_batch: c.oldActionBatch,
        new_action_batch: c.newActionBatch,
        curate_batch: null,
        changed_at: series.at,
      })),
    )}`;
  }
}

/** Sets the batch that loaded the logs of these symbols (null: every symbol) on their pending changes. */
export async function settlePendingChanges(
  sql: Queryable,
  series: { readonly source: string; readonly granularity: string },
  symbols: readonly string[] | null,
  curateBatch: string,
): Promise<void> {
  await sql`
    update mdw.adjustment_change set curate_batch = ${curateBatch}
    where source = ${series.source} and granularity = ${series.granularity} and curate_batch is null
      and (${symbols === null} or symbol = any(${symbols ?? []}))`;
}

/** The recorded changes of a symbol's log in one source, oldest first. */
export async function adjustmentChanges(sql: Queryable, filter: { readonly source: string; readonly symbol: string; readonly granularity: string }): Promise<RecordedChange[]> {
  const rows = await sql<RecordedChange[]>`
    select job, symbol, to_char(ex_date, 'YYYY-MM-DD') as "exDate", action, change, old_factor as "oldFactor", new_factor as "newFactor",
           old_cash as "oldCash", new_cash as "newCash", old_action_batch as "oldActionBatch", new_action_batch as "newActionBatch",
           curate_batch as "curateBatch", changed_at as "changedAt"
    from mdw.adjustment_change
    where source = ${filter.source} and symbol = ${filter.symbol} and granularity = ${filter.granularity}
    order by changed_at, id`;
  return [...rows];
}

/** What one landed document of mdw curate was computed from: partition files (lake URIs) and action batches. */
export interface CurateInputs {
  /** The document as a load's lineage names it (lineage_item.raw_uri). */
  readonly doc: string;
  readonly partitions: readonly string[];
  readonly actionBatches: readonly string[];
}

/** Records what landed documents were computed from, replacing what an earlier landing of each recorded; documents removed (replaced by others) are forgotten. */
export async function recordCurateInputs(sql: Queryable, docs: readonly CurateInputs[], removed: readonly string[], at: Date): Promise<void> {
  const gone = [...docs.map((d) => d.doc), ...removed];
  if (gone.length === 0) return;
  await sql`delete from mdw.curate_input where doc_uri = any(${gone})`;
  const rows = docs.flatMap((d) => [
    ...[...new Set(d.partitions)].map((input) => ({ doc_uri: d.doc, input, kind: 'partition', recorded_at: at })),
    ...[...new Set(d.actionBatches)].map((input) => ({ doc_uri: d.doc, input, kind: 'action_batch', recorded_at: at })),
  ]);
  for (let i = 0; i < rows.length; i += 1000) await sql`insert into mdw.curate_input ${sql(rows.slice(i, i + 1000))}`;
}

/** The inputs behind a curated partition file (lake URI): the documents its batches loaded, and what each was computed from. */
export async function curatedPartitionInputs(sql: Queryable, uri: string): Promise<{ doc: string; kind: string; input: string }[]> {
  return sql<{ doc: string; kind: string; input: string }[]>`
    select distinct c.doc_uri as doc, c.kind, c.input
    from mdw.partition_manifest m
    join mdw.lineage_item l on l.manifest_id = m.id
    join mdw.curate_input c on c.doc_uri = l.raw_uri
    where m.uri = ${uri}
    order by c.doc_uri, c.kind, c.input`;
}
