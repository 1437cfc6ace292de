import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Job } from '../../config/jobs.js';
import type { ReadOptions } from '../../config/types.js';
import { ConfigError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { ident, literal, pathList, stringList } from '../../core/sql.js';
import type { ExtractRequest, RawBatch, RawColumn, ReadType } from '../adapter.js';

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
  const records = read.records?.replace(/\.\*$/, '').split('.') ?? [];
  const nonEmpty = files.filter((f) => {
    if (statSync(f).size > 0) return true;
    logger.warn(`${f} is empty; nothing to read`);
    return false;
  });
  const where = locateFields(job, nonEmpty, read, records, keyed, Object.keys(request.columns));
  const typeOf = (name: string): ReadType => request.columns[name] ?? 'VARCHAR';
  const columns: RawColumn[] = Object.keys(request.columns).map((name) => ({ name, type: typeOf(name) }));
  const top = columns.filter((c) => where.get(c.name) === 'document' && c.name !== '_key');
  const inRecord = columns.filter((c) => where.get(c.name) === 'record');
  const spec: string[] = top.map((c) => `${literal(c.name)}: ${literal(c.type)}`);
  if (records.length > 0) {
    let type = `STRUCT(${inRecord.map((c) => `${ident(c.name)} ${c.type}`).join(', ')})[]`;
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
  const recordSelect = byPosition
    ? [`generate_subscripts(${recordPath}, 1) AS _pos`, `unnest(${recordPath}, recursive := true)`]
    : keyed
      ? [`_e.key AS _key`, `unnest(_e.value, recursive := true)`]
      : [];
  // A keyed list is unnested twice: its entries (key, list), then each list.
  const source = (scan: string) => (keyed ? `(SELECT *, unnest(map_entries(${recordPath})) AS _e FROM ${scan})` : scan);
  const rn = !numbered ? '' : byPosition ? 'o.i * 4294967296 + _pos AS _rn, ' : 'row_number() OVER () AS _rn, ';
  const relation = nonEmpty.length
    ? `(SELECT filename AS _file, ${rn}${columns.map((c) => ident(c.name)).join(', ')} FROM (` +
      `SELECT filename, ${[...top.map((c) => ident(c.name)), ...recordSelect].join(', ')} ` +
      `FROM ${source(`read_json(${pathList(nonEmpty)}, format = ${literal(read.format === 'ndjson' ? 'newline_delimited' : 'auto')}, filename = true, columns = {${spec.join(', ')}})`)})` +
      `${byPosition ? ` JOIN ${ordinals} o ON o.name = filename` : ''})`
    : `(SELECT NULL::VARCHAR AS _file, ${numbered ? 'NULL::BIGINT AS _rn, ' : ''}${columns.map((c) => `NULL::${c.type} AS ${ident(c.name)}`).join(', ')} WHERE false)`;
  const prepare = byPosition
    ? [`CREATE OR REPLACE TEMP TABLE ${ordinals} AS SELECT unnest(${stringList(nonEmpty)}) AS name, generate_subscripts(${stringList(nonEmpty)}, 1) AS i`]
    : [];
  return { relation, columns, numbered, inputs: files, rejects: null, reread: null, prepare };
}

/** Whether each needed field is one of the document's own fields or one of a record's. */
function locateFields(
  job: Job,
  files: readonly string[],
  read: ReadOptions,
  records: readonly string[],
  keyed: boolean,
  needed: readonly string[],
): Map<string, 'document' | 'record'> {
  const documentKeys = new Set<string>();
  const recordKeys = new Set<string>();
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
      if (records.length === 0) {
        for (const k of Object.keys(value as object)) recordKeys.add(k);
        continue;
      }
      for (const k of Object.keys(value as object)) documentKeys.add(k);
      let list: unknown = value;
      for (const key of records) list = (list as Record<string, unknown> | undefined)?.[key];
      const lists = keyed && list && typeof list === 'object' && !Array.isArray(list) ? Object.values(list) : [list];
      for (const l of lists) if (Array.isArray(l)) for (const r of l.slice(0, 100)) for (const k of Object.keys(r as object)) recordKeys.add(k);
    }
  }
  if (keyed) documentKeys.add('_key');
  const where = new Map<string, 'document' | 'record'>();
  for (const name of needed) {
    if (recordKeys.has(name)) where.set(name, 'record');
    else if (documentKeys.has(name)) where.set(name, 'document');
    // Pages with no records at all (an empty vendor result) have nothing to check a field against.
    else if (records.length > 0 && recordKeys.size === 0) where.set(name, 'record');
    else if (files.length > 0) {
      throw new ConfigError(
        `no field "${name}" (read by transform "${job.spec.transform}") in the ${records.length ? `documents or their ${records.join('.')} records` : 'records'} ` +
          `of ${path.basename(files[0]!)}${files.length > 1 ? ` and ${Math.min(files.length, sampleFiles) - 1} more` : ''} ` +
          `(fields: ${[...new Set([...recordKeys, ...documentKeys])].join(', ') || 'none'})`,
        { file: files[0]! },
      );
    }
  }
  return where;
}
