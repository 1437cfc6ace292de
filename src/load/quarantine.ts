import path from 'node:path';
import type { DatasetDef } from '../core/datasets.js';
import { ident, literal } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { encodeSegment } from '../lake/layout.js';
import { localStore } from '../lake/local-store.js';
import { parentUri } from '../lake/store.js';
import { checkedTable, removedTable } from './staged-chunk.js';
import { quarantinedStates, stateIs, stateIsNot } from '../core/row-state.js';

export interface QuarantineTarget {
  readonly root: string;
  readonly batchId: string;
  readonly job: string;
  readonly dataset: DatasetDef;
  /** The dataset columns the batch carries. */
  readonly columns: readonly string[];
  readonly source: string;
  readonly granularity: string;
  readonly day: string;
}

/** quarantine/<dataset>/source=<source>/<day>-<batch>.ndjson */
export function quarantinePath(t: QuarantineTarget): string {
  return localStore(t.root).locate(quarantineUri(t));
}

function quarantineUri(t: QuarantineTarget): string {
  return `${quarantineFolder(t.dataset.name, t.source)}/${t.day}-${t.batchId}.ndjson`;
}

/** The folder of a source's quarantine files, relative to the quarantine root. */
export function quarantineFolder(dataset: string, source: string): string {
  return `${dataset}/source=${encodeSegment(source)}`;
}

/**
 * The file a batch's quarantine is written to before its catalog commit: renamed to its name
 * in the same commit protocol as partitions, so a run killed before the commit leaves no
 * records beside the catalog's (recovery removes or finishes it). It names its granularity:
 * a source's series of other granularities load at the same time, under locks of their own.
 */
export function quarantineTempPath(file: string, granularity: string): string {
  const store = localStore(path.dirname(file));
  return store.locate(store.tempOf(path.basename(file), encodeSegment(granularity)));
}

/** Makes a batch's quarantine file, under its temporary name, durable before the catalog commit. */
export async function sealQuarantine(root: string, file: string, granularity: string): Promise<void> {
  const store = localStore(root);
  await store.seal([store.tempOf(store.uriOf(file), encodeSegment(granularity))]);
}

/** Puts a batch's sealed quarantine file in place, after the catalog commit. */
export function commitQuarantine(root: string, file: string, granularity: string): void {
  const store = localStore(root);
  const uri = store.uriOf(file);
  store.commit(store.tempOf(uri, encodeSegment(granularity)), uri);
}

/** The batch and final name of a quarantine temp file of this granularity, or null. */
export function quarantineTempOf(name: string, granularity: string): { batchId: string; final: string } | null {
  const suffix = `.${encodeSegment(granularity)}.tmp`;
  if (!name.startsWith('.') || !name.endsWith(suffix)) return null;
  const final = name.slice(1, -suffix.length);
  const m = /^\d{4}-\d{2}-\d{2}-([0-9a-f-]{36})\.ndjson$/.exec(final);
  return m ? { batchId: m[1]!, final } : null;
}

/** One rejected record, for the catalog. */
export interface RejectedRecord {
  readonly inputUri: string | null;
  readonly recordNo: number | null;
  readonly lineNo: number | null;
  readonly rules: readonly string[];
  readonly reason: string;
  readonly raw: string;
  /** The key the transform read, where it could (a line that could not be parsed has none). */
  readonly symbol: string | null;
  /** ISO 8601 UTC, microseconds. */
  readonly ts: string | null;
}

/**
 * Writes every rejected record of the staged chunk, every line the reader could not parse, and
 * every stored row a conflict removed, to one NDJSON file (under its temporary name, see
 * quarantineTempPath): batch, job, input file, record
 * number within the file (or line, for unparseable lines), the rules broken, why, and the
 * record as it came in. Returns the file and its records, or null when nothing was rejected.
 */
export async function writeQuarantine(
  duck: DuckSession,
  t: QuarantineTarget,
  rejects: string | null,
  removed: number,
): Promise<{ file: string; rows: number; records: RejectedRecord[] } | null> {
  const canonical = (alias: string) => t.columns.map((c) => `${ident(c)} := ${alias}.${ident(c)}`).join(', ');
  const head = `${literal(t.batchId)} AS batch_id, ${literal(t.job)} AS job, ${literal(t.dataset.name)} AS dataset, ${literal(t.source)} AS source`;
  const sym = t.dataset.symbolColumn;
  const key = (alias: string) =>
    `${sym && t.columns.includes(sym) ? `${alias}.${ident(sym)}` : 'NULL::VARCHAR'} AS _key_symbol, ` +
    // A time the catalog cannot hold (year 0, negative years) stays in the raw form only.
    `CASE WHEN year(${alias}.${ident(t.dataset.timeColumn)}) BETWEEN 1 AND 9999 THEN strftime(${alias}.${ident(t.dataset.timeColumn)}, '%Y-%m-%dT%H:%M:%S.%fZ') END AS _key_ts`;
  const noKey = `NULL::VARCHAR AS _key_symbol, NULL::VARCHAR AS _key_ts`;
  const parts = [
    // Rows are in read order (rowid), so a row's number within its file is its distance from the file's first.
    `SELECT ${head}, s._file AS file, s.rowid - st.r0 + 1 AS record, CAST(NULL AS BIGINT) AS line, string_split(s._rules, ',') AS rules, s._detail AS reason, ` +
      `coalesce(s._raw_json, to_json(struct_pack(${canonical('s')}))) AS raw, ${key('s')} ` +
      `FROM ${checkedTable} s JOIN (SELECT _file, min(rowid) AS r0 FROM ${checkedTable} GROUP BY _file) st USING (_file) ` +
      `WHERE ${stateIs(quarantinedStates, 's')}`,
  ];
  if (rejects) {
    parts.push(
      `SELECT ${head}, r._file AS file, CAST(NULL AS BIGINT) AS record, r._line AS line, ['parse'] AS rules, r._reason AS reason, to_json(r._raw) AS raw, ${noKey} FROM ${rejects} r`,
    );
  }
  if (removed > 0) {
    parts.push(
      `SELECT ${head}, NULL AS file, CAST(NULL AS BIGINT) AS record, CAST(NULL AS BIGINT) AS line, ['duplicate_key'] AS rules, ` +
        `'duplicate_key: stored by an earlier chunk of this run (batch ' || o.batch_id || '), contradicted by this one' AS reason, ` +
        `to_json(struct_pack(${canonical('o')})) AS raw, ${key('o')} FROM ${removedTable} o`,
    );
  }
  const table = 'mdw_quarantine';
  const shown = (c: string) => `${catalogText(c)} AS ${c}`;
  await duck.run(
    `CREATE OR REPLACE TABLE ${table} AS SELECT * REPLACE (${['reason', '_key_symbol'].map(shown).join(', ')}) ` +
      `FROM (${parts.join(' UNION ALL ')}) ORDER BY file NULLS LAST, coalesce(record, line)`,
  );
  try {
    const records = (
      await duck.all<{ file: string | null; record: number | null; line: number | null; rules: string[]; reason: string; raw: string; symbol: string | null; ts: string | null }>(
        `SELECT file, record, line, rules, reason, CAST(raw AS VARCHAR) AS raw, _key_symbol AS symbol, _key_ts AS ts FROM ${table}`,
      )
    ).map((r) => ({ inputUri: r.file, recordNo: num(r.record), lineNo: num(r.line), rules: [...r.rules], reason: r.reason, raw: r.raw, symbol: r.symbol, ts: r.ts }));
    if (records.length === 0) return null;
    const file = quarantinePath(t);
    localStore(t.root).prepare(parentUri(quarantineUri(t)));
    await duck.run(`COPY (SELECT * EXCLUDE (_key_symbol, _key_ts) FROM ${table}) TO ${literal(quarantineTempPath(file, t.granularity))} (FORMAT JSON)`);
    return { file, rows: records.length, records };
  } finally {
    await duck.run(`DROP TABLE IF EXISTS ${table}`);
  }
}

/**
 * A text expression as the catalog can hold it: Postgres text has no NUL, so in reasons and keys,
 * which quote values as read, it is shown as ␀ (the raw forms are JSON, where it is \u0000).
 */
export function catalogText(expr: string): string {
  return `replace(${expr}, chr(0), '\u2400')`;
}

const num = (v: number | bigint | null) => (v === null ? null : Number(v));

/**
 * Which open quarantined records of earlier batches the staged chunk judged again, so that the
 * newest judgement is the one that counts (the catalog marks them superseded in the chunk's
 * commit): a record with a key, when the chunk read that symbol and time in scope (stored,
 * unchanged or quarantined again); a record without one (a line that could not be parsed), when
 * the chunk read its input again, whole. A record whose key the chunk filtered out of its window
 * stays open.
 */
export async function rejudgedRecords(
  duck: DuckSession,
  def: DatasetDef,
  open: readonly { readonly id: string; readonly symbol: string | null; readonly ts: string | null; readonly input_uri: string | null }[],
  inputs: readonly string[],
): Promise<string[]> {
  const read = new Set(inputs);
  const ids = open.filter((r) => r.ts === null && r.input_uri !== null && read.has(r.input_uri)).map((r) => r.id);
  const keyed = open.filter((r) => r.ts !== null);
  if (keyed.length === 0) return ids;
  const table = 'mdw_open_quarantine';
  const sym = def.symbolColumn;
  await duck.run(`CREATE OR REPLACE TEMP TABLE ${table} (id VARCHAR, symbol VARCHAR, ts VARCHAR)`);
  try {
    for (let i = 0; i < keyed.length; i += 1000) {
      const rows = keyed.slice(i, i + 1000).map((r) => `(${literal(r.id)}, ${r.symbol === null ? 'NULL' : literal(r.symbol)}, ${literal(r.ts!)})`);
      await duck.run(`INSERT INTO ${table} VALUES ${rows.join(', ')}`);
    }
    const again = await duck.all<{ id: string }>(
      `SELECT o.id FROM ${table} o WHERE EXISTS (SELECT 1 FROM ${checkedTable} c WHERE ${stateIsNot('filtered', 'c')} ` +
        `AND strftime(c.${ident(def.timeColumn)}, '%Y-%m-%dT%H:%M:%S.%f') = o.ts` +
        (sym ? ` AND ${catalogText(`c.${ident(sym)}`)} IS NOT DISTINCT FROM o.symbol` : '') +
        `)`,
    );
    return [...ids, ...again.map((r) => r.id)];
  } finally {
    await duck.run(`DROP TABLE IF EXISTS ${table}`);
  }
}
