import { createReadStream, fstatSync, mkdirSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { literal } from '../core/sql.js';
import { textQuery } from '../query/result-forms.js';
import { arrowStream } from './arrow-result.js';
import { formatRecords, type Cell, type Format } from './output.js';
import type { DuckSession, ResultColumn } from '../lake/duckdb.js';

/**
 * Writes a query's result to stdout in a format and says how many rows it wrote. Text and
 * Parquet go straight from DuckDB to the file descriptor (no JS row objects); Arrow is built from
 * columns; only a table for people becomes rows. Text formats write each value by its column's
 * type (query/result-forms.ts); `columns` are the result's, when the caller knows them already,
 * else DuckDB binds the query to find them.
 */
export async function writeQueryResult(
  duck: DuckSession,
  sql: string,
  format: Format,
  out: NodeJS.WriteStream,
  tmpDir: string,
  columns?: readonly ResultColumn[],
): Promise<number> {
  if (format === 'table') {
    const result = await duck.columns(textQuery(sql, columns ?? (await duck.describe(sql)), 'table'));
    const rows: Record<string, Cell>[] = [];
    for (let r = 0; r < result.rowCount; r++) {
      const row: Record<string, Cell> = {};
      result.names.forEach((n, i) => (row[n] = result.columns[i]![r] as Cell));
      rows.push(row);
    }
    await writeAll(out, rows.length ? formatRecords(rows, result.names, 'table') : '(no rows)\n');
    return rows.length;
  }
  if (format === 'arrow') {
    const { bytes, rows } = await arrowStream(duck, sql, columns ?? (await duck.describe(sql)));
    await writeAll(out, bytes);
    return rows;
  }
  if (duckdbCanOpen(out)) return copyResult(duck, sql, format, `'/dev/stdout'`, columns);
  // DuckDB opens the path itself. That is right for a pipe or a terminal, but a redirected
  // file (> or >>) would be written from offset 0 over what is there, and a socket (how node
  // and some schedulers connect a child's stdout) cannot be opened by path at all. So it
  // writes a temp file that is then streamed here.
  mkdirSync(tmpDir, { recursive: true });
  const tmp = path.join(tmpDir, `query-${process.pid}-${Date.now()}.out`);
  try {
    const rows = await writeResultFile(duck, sql, format, tmp, columns);
    await pipeline(createReadStream(tmp), out, { end: false });
    return rows;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** The formats a result file can have: every one but the table for people. */
export type FileFormat = Exclude<Format, 'table'>;

/**
 * Writes a query's result to a file in a format and says how many rows it wrote: DuckDB writes
 * text and Parquet itself, row group by row group, so a large result never becomes one string
 * in memory (the HTTP API streams the file to its client).
 */
export async function writeResultFile(duck: DuckSession, sql: string, format: FileFormat, file: string, columns?: readonly ResultColumn[]): Promise<number> {
  if (format === 'arrow') {
    const { bytes, rows } = await arrowStream(duck, sql, columns ?? (await duck.describe(sql)));
    await writeFile(file, bytes);
    return rows;
  }
  return copyResult(duck, sql, format, literal(file), columns);
}

/** COPY of the result, in its text form for text formats, to a target DuckDB opens. */
async function copyResult(duck: DuckSession, sql: string, format: Exclude<FileFormat, 'arrow'>, target: string, columns?: readonly ResultColumn[]): Promise<number> {
  // The newline ends a -- comment the query may close with.
  const copy = async (query: string, options: string) => Number((await duck.all<{ Count: number }>(`COPY (${query}\n) TO ${target} (${options})`))[0]?.Count ?? 0);
  if (format === 'parquet') return copy(sql, 'FORMAT PARQUET, COMPRESSION ZSTD');
  const types = columns ?? (await duck.describe(sql));
  const forms: Record<typeof format, () => Promise<number>> = {
    csv: () => copy(textQuery(sql, types, 'csv'), 'FORMAT CSV, HEADER'),
    json: () => copy(textQuery(sql, types, 'json'), 'FORMAT JSON, ARRAY true'),
    ndjson: () => copy(textQuery(sql, types, 'json'), 'FORMAT JSON'),
  };
  return forms[format]();
}

function writeAll(out: NodeJS.WriteStream, data: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => out.write(data, (err) => (err ? reject(err) : resolve())));
}


function duckdbCanOpen(out: NodeJS.WriteStream): boolean {
  const fd = (out as { fd?: number }).fd;
  if (fd !== 1) return false;
  try {
    const st = fstatSync(fd);
    return st.isFIFO() || st.isCharacterDevice();
  } catch {
    return false;
  }
}
