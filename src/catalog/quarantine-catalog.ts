import { UsageError } from '../core/errors.js';
import type { Sql } from './catalog.js';

/** A quarantined record as the catalog keeps it. */
export interface QuarantineRecord {
  readonly id: string;
  readonly batch_id: string;
  readonly job: string | null;
  readonly dataset: string;
  readonly source: string;
  readonly granularity: string;
  readonly input_uri: string | null;
  readonly record_no: number | null;
  readonly line_no: number | null;
  readonly rules: string[];
  readonly reason: string;
  readonly raw: string;
  readonly state: 'open' | 'replayed' | 'superseded';
  readonly replay_batch_id: string | null;
  readonly replayed_at: Date | null;
  /** The batch that read this record's input or key again, when it is superseded. */
  readonly superseded_by: string | null;
  readonly created_at: Date;
}

export interface QuarantineFilter {
  readonly job?: string | undefined;
  readonly source?: string | undefined;
  readonly granularity?: string | undefined;
  readonly batch?: string | undefined;
  readonly rule?: string | undefined;
  /** Open records only (the default), or every record. */
  readonly all?: boolean | undefined;
  readonly limit?: number | undefined;
}

/** Quarantined records, newest batch first and in input order within a batch. */
export async function listQuarantine(sql: Sql, f: QuarantineFilter): Promise<{ records: QuarantineRecord[]; total: number }> {
  const job = f.job ?? null;
  const source = f.source ?? null;
  const granularity = f.granularity ?? null;
  const batch = f.batch ?? null;
  const rule = f.rule ?? null;
  const open = !f.all;
  const rows = await sql<(QuarantineRecord & { total: number })[]>`
    select q.id, q.batch_id, q.job, d.name as dataset, s.name as source, q.granularity, q.input_uri,
           q.record_no::float8 as record_no, q.line_no::float8 as line_no, q.rules, q.reason, q.raw, q.state,
           q.replay_batch_id, q.replayed_at, q.superseded_by, q.created_at, count(*) over ()::int as total
    from mdw.quarantine_record q
    join mdw.dataset d on d.id = q.dataset_id
    join mdw.data_source s on s.id = q.source_id
    where (${job}::text is null or q.job = ${job})
      and (${source}::text is null or s.name = ${source})
      and (${granularity}::text is null or q.granularity = ${granularity})
      and (${batch}::text is null or q.batch_id::text like ${`${batch ?? ''}%`})
      and (${rule}::text is null or ${rule} = any(q.rules))
      and (not ${open} or q.state = 'open')
    order by q.created_at desc, q.batch_id, q.input_uri nulls last, coalesce(q.record_no, q.line_no)
    limit ${f.limit ?? null}`;
  return { records: rows.map(({ total: _t, ...r }) => r), total: rows[0]?.total ?? 0 };
}

/** One record by its id or a unique prefix of it (the first 8 characters are usually enough). */
export async function findQuarantineRecord(sql: Sql, id: string): Promise<QuarantineRecord> {
  if (!/^[0-9a-f-]{4,36}$/i.test(id)) throw new UsageError(`"${id}" is not a quarantine record id (see \`mdw quarantine list\`)`);
  const rows = await sql<QuarantineRecord[]>`
    select q.id, q.batch_id, q.job, d.name as dataset, s.name as source, q.granularity, q.input_uri,
           q.record_no::float8 as record_no, q.line_no::float8 as line_no, q.rules, q.reason, q.raw, q.state,
           q.replay_batch_id, q.replayed_at, q.superseded_by, q.created_at
    from mdw.quarantine_record q
    join mdw.dataset d on d.id = q.dataset_id
    join mdw.data_source s on s.id = q.source_id
    where q.id::text like ${`${id.toLowerCase()}%`}
    limit 2`;
  if (rows.length === 0) throw new UsageError(`no quarantine record ${id}`);
  if (rows.length > 1) throw new UsageError(`${id} names more than one quarantine record: give more of the id`);
  return rows[0]!;
}

/** An open quarantined record, as far as a later reading needs it to tell whether it read it again. */
export interface OpenRecordRef {
  readonly id: string;
  readonly symbol: string | null;
  /** ISO 8601 UTC without the zone letter, microseconds; null when no key could be read. */
  readonly ts: string | null;
  readonly input_uri: string | null;
}

/**
 * The open quarantined records of a series that a chunk may read again: those of its inputs,
 * and those keyed to one of its symbols.
 */
export async function openRecordsNear(
  sql: Sql,
  series: { readonly datasetId: string; readonly sourceId: string; readonly granularity: string },
  inputs: readonly string[],
  symbols: readonly string[],
): Promise<OpenRecordRef[]> {
  return sql<OpenRecordRef[]>`
    select id, symbol, to_char(key_ts, 'YYYY-MM-DD"T"HH24:MI:SS.US') as ts, input_uri
    from mdw.quarantine_record
    where dataset_id = ${series.datasetId} and source_id = ${series.sourceId} and granularity = ${series.granularity}
      and state = 'open' and (input_uri = any(${inputs as string[]}) or symbol = any(${symbols as string[]}))`;
}
