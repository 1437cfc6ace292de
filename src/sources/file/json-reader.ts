import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Job } from '../../config/jobs.js';
import type { ReadOptions } from '../../config/types.js';
import { ConfigError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { ident, literal, pathList, stringList } from '../../core/sql.js';
import { rawColumns } from '../../core/raw.js';
import type { ExtractRequest, RawBatch, RawColumn } from '../source.js';

/** How many files are opened to learn where each field lives. */
const sampleFiles = 20;

/**
 * Reads JSON documents (one per file, e.g. a vendor's page) or NDJSON. With `records`, each
 * element of that array is a record and the document's own fields (say `ticker`) sit beside
 * it. DuckDB is given the columns and their types instead of inferring them from a sample,
 * so a price that is 130 in one page and 130.5 in the next is read as the same number.
 */
export async function readJson(job: Job, files: readonly string[], read: ReadOptions, request: ExtractRequest, logger: Logger): Promise<RawBatch> {
  // `bars.*`: bars is an object of record lists keyed by, say, the symbol; the key is column _key.
  const keyed = read.records?.endsWith('.*') ?? false;
  // `$`: the document itself is the list of records (FMP's price history, many exports); its
  // elements are read as NDJSON lines would be.
  const root = read.records === '$';
  const records = root ? [] : (read.records?.replace(/\.\*$/, '').split('.') ?? []);
  const nonEmpty = files.filter((f) => {
    if (statSync(f).size > 0) return true;
    logger.warn(`${f} is empty; nothing to read`);
    return false;
  });
  const keys = keyed && read.keys ? new Set(read.keys) : null;
  const { where, single } = locateFields(job, nonEmpty, read, records, keys, keyed, Object.keys(request.columns), root);
  const columns = rawColumns(request.columns);
  const top = columns.filter((c) => where.get(c.name) === 'document' && c.name !== '_key');
  const inRecord = columns.filter((c) => where.get(c.name) === 'record');
  const spec: string[] = top.map((c) => `${literal(c.name)}: ${literal(c.type)}`);
  // DuckDB's struct fields ignore case: a record with both T (ticker) and t (time), as
  // Polygon's grouped daily has, is read as JSON and its fields picked by exact name.
  const folded = inRecord.map((c) => c.name.toLowerCase());
  const asJson = folded.some((n, i) => folded.indexOf(n) !== i);
  // Without a records path each document (or NDJSON line) is a record: its fields are columns.
  if (records.length === 0) spec.push(...inRecord.map((c) => `${literal(c.name)}: ${literal(c.type)}`));
  else {
    // A records path may hold one record (an object) instead of a list of them.
    let type = (asJson ? 'JSON' : `STRUCT(${inRecord.map((c) => `${ident(c.name)} ${c.type}`).join(', ')})`) + (single ? '' : '[]');
    if (keyed) type = `MAP(VARCHAR, ${type})`;
    for (const key of records.slice(1).reverse()) type = `STRUCT(${ident(key)} ${type})`;
    spec.push(`${literal(records[0]!)}: ${literal(type)}`);
  }
  // Records of a records path are numbered by (file, position in its list), which DuckDB
  // computes in parallel; a table built in that order is built in parallel too, where one
  // built in the reader's own order is built on one thread (JSON scans keep no batch order).
  // Other records are numbered by a window over all of them, and only when asked.
  const ordinals = `mdw_json_files`;
  const byPosition = records.length > 0 && !keyed;
  const numbered = byPosition || Boolean(request.numbered);
  const recordPath = records.map(ident).join('.');
  const unnested = (list: string) => (asJson ? (single ? `${list} AS _mdw_record` : `unnest(${list}) AS _mdw_record`) : `unnest(${list}, recursive := true)`);
  const recordSelect = byPosition
    ? [single ? '1 AS _pos' : `generate_subscripts(${recordPath}, 1) AS _pos`, unnested(recordPath)]
    : keyed
      ? [`_e.key AS _key`, unnested('_e.value')]
      : [];
  const picked = (c: RawColumn) =>
    asJson && where.get(c.name) === 'record'
      ? `${c.type === 'VARCHAR' ? `json_extract_string(_mdw_record, ${literal(`$."${c.name}"`)})` : `TRY_CAST(json_extract_string(_mdw_record, ${literal(`$."${c.name}"`)}) AS ${c.type})`} AS ${ident(c.sql ?? c.name)}`
      : ident(c.name);
  // A keyed list is unnested twice: its entries (key, list), then each list.
  const entries = (scan: string) => `(SELECT *, unnest(map_entries(${recordPath})) AS _e FROM ${scan})`;
  const source = (scan: string) => (!keyed ? scan : keys ? `(SELECT * FROM ${entries(scan)} WHERE _e.key IN (SELECT unnest(${stringList([...keys])})))` : entries(scan));
  const rn = !numbered ? '' : byPosition ? 'o._mdw_i * 4294967296 + _pos AS _rn, ' : 'row_number() OVER () AS _rn, ';
  const relation = nonEmpty.length
    ? `(SELECT filename AS _file, ${rn}${columns.map(picked).join(', ')} FROM (` +
      `SELECT filename, ${[...(records.length === 0 ? inRecord : top).map((c) => ident(c.name)), ...recordSelect].join(', ')} ` +
      `FROM ${source(`read_json(${pathList(nonEmpty)}, format = ${literal(read.format === 'ndjson' ? 'newline_delimited' : root ? 'array' : 'auto')}, filename = true, hive_partitioning = false, columns = {${spec.join(', ')}})`)})` +
      `${byPosition ? ` JOIN ${ordinals} o ON o._mdw_name = filename` : ''})`
    : `(SELECT NULL::VARCHAR AS _file, ${numbered ? 'NULL::BIGINT AS _rn, ' : ''}${columns.map((c) => `NULL::${c.type} AS ${ident(c.name)}`).join(', ')} WHERE false)`;
  const prepare = byPosition
    ? [`CREATE OR REPLACE TEMP TABLE ${ordinals} AS SELECT unnest(${stringList(nonEmpty)}) AS _mdw_name, generate_subscripts(${stringList(nonEmpty)}, 1) AS _mdw_i`]
    : [];
  return { relation, columns, numbered, inputs: files, rejects: null, prepare };
}

/** Whether each needed field is one of the document's own fields or one of a record's. */
function locateFields(
  job: Job,
  files: readonly string[],
  read: ReadOptions,
  records: readonly string[],
  keys: ReadonlySet<string> | null,
  keyed: boolean,
  needed: readonly string[],
  root: boolean,
): { where: Map<string, 'document' | 'record'>; single: boolean } {
  // Fields that only optional column rules read may be missing from every record.
  const rules = Object.values(job.transform.value.columns);
  const reading = (f: string) => rules.filter((r) => [r.from].flat().includes(f));
  const elsewhere = new Set([job.transform.value.symbol?.from, ...rules.flatMap((r) => Object.keys(r.when ?? {}))]);
  const optional = new Set(needed.filter((f) => !elsewhere.has(f) && reading(f).length > 0 && reading(f).every((r) => r.optional)));
  const documentKeys = new Set<string>();
  const recordKeys = new Set<string>();
  // Whether the records path holds lists of records, or one record (an object) each.
  const shapes = new Set<'list' | 'object'>();
  for (const file of files.slice(0, sampleFiles)) {
    // Landed vendor pages are gzipped; DuckDB reads them by their .gz suffix, and so does this.
    const text = file.endsWith('.gz') ? gunzipSync(readFileSync(file)).toString('utf8') : readFileSync(file, 'utf8');
    const docs = read.format === 'ndjson' ? text.split('\n').filter((l) => l.trim()).slice(0, 100) : [text];
    for (const doc of docs) {
      let value: unknown;
      try {
        value = JSON.parse(doc);
      } catch (err) {
        throw new ConfigError(`${path.basename(file)} is not valid JSON: ${(err as Error).message}`, { file });
      }
      if (root) {
        if (!Array.isArray(value)) {
          throw new ConfigError(`${path.basename(file)} is not a list of records (records: $ reads a document whose top level is a list)`, { file });
        }
        for (const r of value.slice(0, 100)) for (const k of Object.keys((r ?? {}) as object)) recordKeys.add(k);
        continue;
      }
      if (records.length === 0) {
        for (const k of Object.keys(value as object)) recordKeys.add(k);
        continue;
      }
      for (const k of Object.keys(value as object)) documentKeys.add(k);
      let list: unknown = value;
      for (const key of records) list = (list as Record<string, unknown> | undefined)?.[key];
      const lists =
        keyed && list && typeof list === 'object' && !Array.isArray(list) ? Object.entries(list).filter(([k]) => !keys || keys.has(k)).map(([, l]) => l as unknown) : [list];
      for (const l of lists) {
        if (Array.isArray(l)) {
          shapes.add('list');
          for (const r of l.slice(0, 100)) for (const k of Object.keys(r as object)) recordKeys.add(k);
        } else if (l && typeof l === 'object') {
          shapes.add('object');
          for (const k of Object.keys(l)) recordKeys.add(k);
        }
      }
    }
  }
  if (shapes.size > 1) {
    throw new ConfigError(`${read.records} holds lists of records in some of ${path.basename(files[0]!)} and the files beside it, and single records in others: read them with two jobs`, {
      file: files[0]!,
    });
  }
  if (keyed) documentKeys.add('_key');
  const where = new Map<string, 'document' | 'record'>();
  for (const name of needed) {
    if (recordKeys.has(name)) where.set(name, 'record');
    else if (documentKeys.has(name)) where.set(name, 'document');
    // Pages with no records at all (an empty vendor result) have nothing to check a field against.
    else if (((records.length > 0 || root) && recordKeys.size === 0) || optional.has(name)) where.set(name, 'record');
    else if (files.length > 0) {
      throw new ConfigError(
        `no field "${name}" (read by transform "${job.spec.transform}") in the ${records.length ? `documents or their ${records.join('.')} records` : 'records'} ` +
          `of ${path.basename(files[0]!)}${files.length > 1 ? ` and ${Math.min(files.length, sampleFiles) - 1} more` : ''} ` +
          `(fields: ${[...new Set([...recordKeys, ...documentKeys])].join(', ') || 'none'})`,
        { file: files[0]! },
      );
    }
  }
  return { where, single: shapes.has('object') };
}

/**
 * Reads columnar JSON documents: each needed field is an array, and element i of every array
 * belongs to record i (Finnhub's candles: {"c": [...], "t": [...], "s": "ok"}). A document
 * without the arrays (Finnhub's {"s": "no_data"}) holds no records. Arrays of unequal length
 * are read to the longest, the missing values NULL, so the record rules quarantine the rows
 * instead of the reader shifting values between records.
 */
export function readArrays(files: readonly string[], request: ExtractRequest, logger: Logger): RawBatch {
  const nonEmpty = files.filter((f) => {
    if (statSync(f).size > 0) return true;
    logger.warn(`${f} is empty; nothing to read`);
    return false;
  });
  const columns = rawColumns(request.columns);
  const ordinals = 'mdw_json_files';
  const spec = columns.map((c) => `${literal(c.name)}: ${literal(`${c.type}[]`)}`).join(', ');
  const first = columns[0] ? ident(columns[0].name) : 'NULL';
  const relation = nonEmpty.length
    ? `(SELECT filename AS _file, o._mdw_i * 4294967296 + _pos AS _rn, ${columns.map((c) => `${ident(c.name)}${c.sql ? ` AS ${ident(c.sql)}` : ''}`).join(', ')} FROM (` +
      `SELECT filename, generate_subscripts(${first}, 1) AS _pos, ${columns.map((c) => `unnest(${ident(c.name)}) AS ${ident(c.name)}`).join(', ')} ` +
      `FROM read_json(${pathList(nonEmpty)}, format = 'auto', filename = true, hive_partitioning = false, columns = {${spec}})) ` +
      `JOIN ${ordinals} o ON o._mdw_name = filename)`
    : `(SELECT NULL::VARCHAR AS _file, NULL::BIGINT AS _rn, ${columns.map((c) => `NULL::${c.type} AS ${ident(c.sql ?? c.name)}`).join(', ')} WHERE false)`;
  const prepare = nonEmpty.length
    ? [`CREATE OR REPLACE TEMP TABLE ${ordinals} AS SELECT unnest(${stringList(nonEmpty)}) AS _mdw_name, generate_subscripts(${stringList(nonEmpty)}, 1) AS _mdw_i`]
    : [];
  return { relation, columns, numbered: true, inputs: files, rejects: null, prepare };
}

/**
 * Where each field of a tuple lives: lists of positional records (Binance's klines, CoinGecko's
 * [ms, value] pairs), by the list's path in the document ('$' for a document that is the list)
 * and, per field, its index in the tuple. Several lists are zipped by position.
 */
export type TupleLists = Readonly<Record<string, Readonly<Record<string, number>>>>;

/**
 * JSON documents holding lists of tuples, one record per element: [1731748020000, "0.7227", ...]
 * read as named fields. A field the request asks for and no list names is an error in the
 * fetcher, not in the data.
 */
export function readTuples(files: readonly string[], lists: TupleLists, request: ExtractRequest, logger: Logger): RawBatch {
  const nonEmpty = files.filter((f) => {
    if (statSync(f).size > 0) return true;
    logger.warn(`${f} is empty; nothing to read`);
    return false;
  });
  const columns = rawColumns(request.columns);
  const paths = Object.keys(lists);
  const where = new Map<string, { list: number; index: number }>();
  paths.forEach((p, list) => {
    for (const [name, index] of Object.entries(lists[p]!)) where.set(name, { list, index });
  });
  const missing = columns.filter((c) => !where.has(c.name)).map((c) => c.name);
  if (missing.length > 0) throw new ConfigError(`${request.job.name}: the transform reads ${missing.join(', ')}, which the vendor's tuples do not hold (${[...where.keys()].join(', ')})`);
  const ordinals = 'mdw_json_files';
  const listOf = (p: string) => `CAST(json_extract(json, ${literal(p === '$' ? '$' : `$.${p}`)}) AS JSON[])`;
  // json_extract_string gives numbers as written and strings without quotes: Binance's "0.72270000" and CoinGecko's 77953.8255 alike.
  const field = (c: RawColumn) => {
    const w = where.get(c.name)!;
    const text = `json_extract_string(_l${w.list}, ${literal(`$[${w.index}]`)})`;
    return `${c.type === 'VARCHAR' ? text : `TRY_CAST(${text} AS ${c.type})`} AS ${ident(c.sql ?? c.name)}`;
  };
  // 'unstructured': each document is one value; 'auto' would split a top-level list into records itself.
  const relation = nonEmpty.length
    ? `(SELECT filename AS _file, o._mdw_i * 4294967296 + _pos AS _rn, ${columns.map(field).join(', ')} FROM (` +
      `SELECT filename, generate_subscripts(${listOf(paths[0]!)}, 1) AS _pos, ${paths.map((p, i) => `unnest(${listOf(p)}) AS _l${i}`).join(', ')} ` +
      `FROM read_json_objects(${pathList(nonEmpty)}, format = 'unstructured', filename = true, hive_partitioning = false)) ` +
      `JOIN ${ordinals} o ON o._mdw_name = filename)`
    : `(SELECT NULL::VARCHAR AS _file, NULL::BIGINT AS _rn, ${columns.map((c) => `NULL::${c.type} AS ${ident(c.sql ?? c.name)}`).join(', ')} WHERE false)`;
  const prepare = nonEmpty.length
    ? [`CREATE OR REPLACE TEMP TABLE ${ordinals} AS SELECT unnest(${stringList(nonEmpty)}) AS _mdw_name, generate_subscripts(${stringList(nonEmpty)}, 1) AS _mdw_i`]
    : [];
  return { relation, columns, numbered: true, inputs: files, rejects: null, prepare };
}
