import { createReadStream, fstatSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { literal } from '../core/sql.js';
import { formatRecords, type Cell, type Format } from './output.js';
import type { DuckSession } from '../lake/duckdb.js';

/**
 * Writes a query's result to stdout in a format. Text and Parquet go straight from DuckDB to
 * the file descriptor (no JS row objects); Arrow is built from columns; only a table for
 * people becomes rows.
 */
export async function writeQueryResult(duck: DuckSession, sql: string, format: Format, out: NodeJS.WriteStream, tmpDir: string): Promise<void> {
  const copy = async (options: string) => {
    if (duckdbCanOpen(out)) return duck.run(`COPY (${sql}) TO '/dev/stdout' (${options})`);
    // DuckDB opens the path itself. That is right for a pipe or a terminal, but a redirected
    // file (> or >>) would be written from offset 0 over what is there, and a socket (how node
    // and some schedulers connect a child's stdout) cannot be opened by path at all. So it
    // writes a temp file that is then streamed here.
    mkdirSync(tmpDir, { recursive: true });
    const tmp = path.join(tmpDir, `query-${process.pid}-${Date.now()}.out`);
    try {
      await duck.run(`COPY (${sql}) TO ${literal(tmp)} (${options})`);
      await pipeline(createReadStream(tmp), out, { end: false });
    } finally {
      rmSync(tmp, { force: true });
    }
  };
  switch (format) {
    case 'csv':
      return copy('FORMAT CSV, HEADER');
    case 'json':
      return copy('FORMAT JSON, ARRAY true');
    case 'ndjson':
      return copy('FORMAT JSON');
    case 'parquet':
      return copy('FORMAT PARQUET, COMPRESSION ZSTD');
    case 'arrow': {
      const result = await duck.columns(sql);
      const arrow = await import('apache-arrow');
      const typeOf = (duckType: string): import('apache-arrow').DataType => {
        if (duckType === 'DOUBLE' || duckType === 'FLOAT') return new arrow.Float64();
        if (duckType === 'BIGINT' || duckType === 'INTEGER') return new arrow.Int64();
        if (duckType.startsWith('TIMESTAMP')) return new arrow.TimestampMillisecond('UTC');
        return new arrow.Utf8();
      };
      const vectors: Record<string, import('apache-arrow').Vector> = {};
      result.names.forEach((name, i) => {
        const type = typeOf(result.types[i]!);
        const values = result.columns[i]!.map((v) => (v === null ? null : type instanceof arrow.Utf8 ? String(v) : type instanceof arrow.Int64 ? BigInt(v as number) : v));
        vectors[name] = arrow.vectorFromArray(values, type);
      });
      await writeAll(out, arrow.tableToIPC(new arrow.Table(vectors), 'stream'));
      return;
    }
    case 'table': {
      const result = await duck.columns(sql);
      const rows: Record<string, Cell>[] = [];
      for (let r = 0; r < result.rowCount; r++) {
        const row: Record<string, Cell> = {};
        result.names.forEach((n, i) => (row[n] = result.columns[i]![r] as Cell));
        rows.push(row);
      }
      await writeAll(out, rows.length ? formatRecords(rows, result.names, 'table') : '(no rows)\n');
      return;
    }
  }
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
