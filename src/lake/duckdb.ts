import { createRequire } from 'node:module';
import path from 'node:path';
import type { DuckDBConnection, DuckDBInstance as Instance } from '@duckdb/node-api';
import { stringList } from '../core/sql.js';

// require(), not import: importing this CommonJS package from ESM makes Node lex each of its
// files for named exports, which doubles its load time (measured: ~230 ms against ~110 ms).
const { DuckDBInstance, DuckDBTypeId } = createRequire(import.meta.url)('@duckdb/node-api') as typeof import('@duckdb/node-api');

export interface DuckOptions {
  /** Where DuckDB spills when a step outgrows memoryLimit. */
  readonly tempDir?: string | undefined;
  readonly memoryLimit?: string | undefined;
  readonly threads?: number | undefined;
}

/** DuckDB's names of its types (TIMESTAMP, TIMESTAMP_TZ, DECIMAL ...): tables keyed by it must cover every one. */
export type DuckTypeName = keyof typeof import('@duckdb/node-api').DuckDBTypeId;

/** A column of a query's result as DuckDB binds it, before any row is read. */
export interface ResultColumn {
  readonly name: string;
  readonly type: DuckTypeName;
  /** DECIMAL only: digits in all and after the point. */
  readonly width?: number;
  readonly scale?: number;
}

/** A query result as columns: the shape output writers and library callers want. */
export interface Columns {
  readonly names: readonly string[];
  readonly types: readonly string[];
  readonly columns: readonly (readonly unknown[])[];
  readonly rowCount: number;
}

/**
 * A result as typed arrays, the form for in-process callers: DOUBLE columns are Float64Array
 * (NULL is NaN), TIMESTAMP and BIGINT columns BigInt64Array (microseconds since the epoch for
 * timestamps; NULL is 0 and marked in `nulls`), anything else an array of JS values.
 */
export type TypedColumn = Float64Array | BigInt64Array | readonly unknown[];

export interface TypedColumns {
  readonly names: readonly string[];
  readonly types: readonly string[];
  readonly rowCount: number;
  readonly columns: readonly TypedColumn[];
  /** Per column: rows that are NULL (1), or null when the column has none. */
  readonly nulls: readonly (Uint8Array | null)[];
}

/** What the vector classes keep privately; read directly to copy a chunk in one call. */
interface VectorInternals {
  readonly items?: unknown;
  readonly dataView?: unknown;
  readonly validity?: { readonly data: unknown; itemValid(i: number): boolean };
  getItem(i: number): unknown;
}

/**
 * Copies a VARCHAR vector into `out`. Decoding each string costs ~1 µs; a run of equal short
 * strings (a symbol column) is decoded once, by comparing each 16-byte inline value with the
 * one before it.
 */
function copyStrings(vector: VectorInternals, n: number, out: unknown[], offset: number): void {
  const dv = vector.dataView;
  if (!(dv instanceof DataView) || dv.byteLength < n * 16) {
    for (let i = 0; i < n; i++) out[offset + i] = vector.getItem(i);
    return;
  }
  let prev: unknown = undefined;
  let p0 = -1;
  let p1 = 0;
  let p2 = 0;
  let p3 = 0;
  for (let i = 0; i < n; i++) {
    const at = i * 16;
    const len = dv.getUint32(at, true);
    if (len > 12) {
      out[offset + i] = vector.getItem(i);
      p0 = -1;
      continue;
    }
    const a = dv.getUint32(at + 4, true);
    const b = dv.getUint32(at + 8, true);
    const c = dv.getUint32(at + 12, true);
    if (len !== p0 || a !== p1 || b !== p2 || c !== p3 || prev === undefined) {
      prev = vector.getItem(i);
      p0 = len;
      p1 = a;
      p2 = b;
      p3 = c;
    }
    // A NULL string has length 0 like '', so it goes through getItem and is cached as prev:
    // the next empty or NULL value is decoded again rather than assumed.
    out[offset + i] = prev;
    if (prev === null) p0 = -1;
  }
}

/**
 * One in-process DuckDB database and its connections. The only place that opens DuckDB; every
 * session runs in UTC. Close it when done: it holds native memory.
 */
export class DuckSession {
  private readonly extra: DuckDBConnection[] = [];

  private constructor(
    private readonly instance: Instance,
    private readonly connection: DuckDBConnection,
    /** False for a session made by connect(): closing it closes its connection, not the database. */
    private readonly ownsInstance = true,
  ) {}

  static async open(options: DuckOptions = {}): Promise<DuckSession> {
    const config: Record<string, string> = {};
    if (options.memoryLimit) config.memory_limit = options.memoryLimit;
    if (options.threads) config.threads = String(options.threads);
    // DuckDB creates the folder only if it ever needs to spill.
    if (options.tempDir) config.temp_directory = options.tempDir;
    const instance = await DuckDBInstance.create(':memory:', config);
    const connection = await instance.connect();
    // Every session works in UTC (ICU loads on first use, so this cannot go in the config).
    await connection.run(`SET TimeZone = 'UTC'`);
    return new DuckSession(instance, connection);
  }

  /**
   * From now on DuckDB opens files only under `directories` and at `paths` (spilling to its temp
   * directory still works), and no statement can change its configuration again: the session
   * runs SQL mdw did not write. DuckDB checks each file a statement opens, whatever function or
   * path form names it.
   */
  async confine(access: { readonly directories: readonly string[]; readonly paths?: readonly string[] }): Promise<void> {
    // A folder without its trailing separator would admit its siblings: lake matches lake-old/.
    const dirs = access.directories.map((d) => (d.endsWith(path.sep) ? d : d + path.sep));
    await this.connection.run(`SET allowed_directories = ${stringList(dirs)}`);
    await this.connection.run(`SET allowed_paths = ${stringList(access.paths ?? [])}`);
    await this.connection.run(`SET enable_external_access = false`);
    await this.connection.run(`SET lock_configuration = true`);
  }

  /**
   * Another session on the same database: its own connection, so that statements run side by side
   * (one connection runs one statement at a time), over the same memory, settings and confinement.
   * Made before confine(): a session's time zone is set per connection, and a confined database
   * refuses every SET.
   */
  async connect(): Promise<DuckSession> {
    const connection = await this.instance.connect();
    await connection.run(`SET TimeZone = 'UTC'`);
    return new DuckSession(this.instance, connection, false);
  }

  /** How many statements DuckDB's parser finds in a text that parses. */
  async statementCount(sql: string): Promise<number> {
    return (await this.connection.extractStatements(sql)).count;
  }

  async run(sql: string): Promise<void> {
    await this.connection.run(sql);
  }

  /** Rows as plain objects; BIGINT becomes a number (counts here stay below 2^53). */
  async all<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const reader = await this.connection.runAndReadAll(sql);
    return reader.getRowObjectsJS().map((row) => {
      for (const [k, v] of Object.entries(row)) if (typeof v === 'bigint') (row as Record<string, unknown>)[k] = Number(v);
      return row as T;
    });
  }

  /** The columns a query would return, from binding it (DuckDB plans it; no row is read). */
  async describe(sql: string): Promise<ResultColumn[]> {
    const prepared = await this.connection.prepare(sql);
    try {
      return Array.from({ length: prepared.columnCount }, (_, i) => {
        const type = prepared.columnType(i);
        const column = { name: prepared.columnName(i), type: DuckDBTypeId[type.typeId] as DuckTypeName };
        return type.typeId === DuckDBTypeId.DECIMAL ? { ...column, width: type.width, scale: type.scale } : column;
      });
    } finally {
      prepared.destroySync();
    }
  }

  async columns(sql: string): Promise<Columns> {
    const reader = await this.connection.runAndReadAll(sql);
    return {
      names: reader.columnNames(),
      types: reader.columnTypes().map((t) => t.toString()),
      columns: reader.getColumnsJS(),
      rowCount: reader.currentRowCount,
    };
  }

  /**
   * A result as typed arrays, copied chunk by chunk from DuckDB's vectors: no JS object per
   * value for numbers and timestamps.
   */
  async typed(sql: string): Promise<TypedColumns> {
    const result = await this.connection.run(sql);
    const chunks = Array.from({ length: result.chunkCount }, (_, i) => result.getChunk(i));
    const rowCount = chunks.reduce((n, c) => n + c.rowCount, 0);
    const types = result.columnTypes();
    const columns: TypedColumn[] = [];
    const nulls: (Uint8Array | null)[] = [];
    types.forEach((type, c) => {
      const id = type.typeId;
      const kind =
        id === DuckDBTypeId.DOUBLE
          ? 'double'
          : id === DuckDBTypeId.TIMESTAMP || id === DuckDBTypeId.TIMESTAMP_TZ || id === DuckDBTypeId.BIGINT
            ? 'int64'
            : id === DuckDBTypeId.VARCHAR
              ? 'string'
              : 'other';
      const out: Float64Array | BigInt64Array | unknown[] =
        kind === 'double' ? new Float64Array(rowCount) : kind === 'int64' ? new BigInt64Array(rowCount) : new Array<unknown>(rowCount);
      let mask: Uint8Array | null = null;
      let offset = 0;
      for (const chunk of chunks) {
        const n = chunk.rowCount;
        const vector = chunk.getColumnVector(c) as unknown as VectorInternals;
        const items = vector.items;
        if (kind !== 'other' && (items instanceof Float64Array || items instanceof BigInt64Array) && (kind === 'double') === items instanceof Float64Array) {
          (out as Float64Array | BigInt64Array).set(items.subarray(0, n) as never, offset);
          if (vector.validity?.data) {
            for (let i = 0; i < n; i++) {
              if (!vector.validity.itemValid(i)) {
                mask ??= new Uint8Array(rowCount);
                mask[offset + i] = 1;
                if (kind === 'double') (out as Float64Array)[offset + i] = NaN;
              }
            }
          }
        } else if (kind === 'string') {
          copyStrings(vector, n, out as unknown[], offset);
          for (let i = 0; i < n; i++) if ((out as unknown[])[offset + i] === null) (mask ??= new Uint8Array(rowCount))[offset + i] = 1;
        } else {
          for (let i = 0; i < n; i++) {
            const v = vector.getItem(i);
            if (v === null) (mask ??= new Uint8Array(rowCount))[offset + i] = 1;
            if (kind === 'double') (out as Float64Array)[offset + i] = v === null ? NaN : Number(v);
            else if (kind === 'int64') (out as BigInt64Array)[offset + i] = v === null ? 0n : typeof v === 'bigint' ? v : BigInt((v as { micros: bigint }).micros);
            else (out as unknown[])[offset + i] = v === null ? null : typeof v === 'object' ? String(v) : v;
          }
        }
        offset += n;
      }
      columns.push(out);
      nulls.push(mask);
    });
    return { names: result.columnNames(), types: types.map((t) => t.toString()), rowCount, columns, nulls };
  }

  /**
   * Runs statements over `width` connections at once; for work that DuckDB would otherwise
   * run one statement at a time, such as writing many small Parquet files.
   */
  async runParallel(statements: readonly string[], width: number): Promise<void> {
    while (this.extra.length < width - 1) this.extra.push(await this.instance.connect());
    const conns = [this.connection, ...this.extra.slice(0, Math.max(0, width - 1))];
    let next = 0;
    let failed = false;
    // When one statement fails (a full disk), the others start nothing new and are waited for:
    // a statement still running when the session closes never reports back, and its pending
    // callback kept the process alive forever after the error was printed.
    const outcomes = await Promise.allSettled(
      conns.map(async (conn) => {
        while (!failed && next < statements.length) {
          const sql = statements[next++]!;
          try {
            await conn.run(sql);
          } catch (err) {
            failed = true;
            throw err;
          }
        }
      }),
    );
    const first = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (first) throw first.reason;
  }

  close(): void {
    for (const c of this.extra) c.closeSync();
    this.connection.closeSync();
    if (this.ownsInstance) this.instance.closeSync();
  }
}
