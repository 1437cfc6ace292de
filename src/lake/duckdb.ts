import { createRequire } from 'node:module';
import type { DuckDBConnection, DuckDBInstance as Instance } from '@duckdb/node-api';

// require(), not import: importing this CommonJS package from ESM makes Node lex each of its
// files for named exports, which doubles its load time (measured: ~230 ms against ~110 ms).
const { DuckDBInstance } = createRequire(import.meta.url)('@duckdb/node-api') as typeof import('@duckdb/node-api');

export interface DuckOptions {
  /** Where DuckDB spills when a step outgrows memoryLimit. */
  readonly tempDir?: string | undefined;
  readonly memoryLimit?: string | undefined;
  readonly threads?: number | undefined;
}

/** A query result as columns: the shape output writers and library callers want. */
export interface Columns {
  readonly names: readonly string[];
  readonly types: readonly string[];
  readonly columns: readonly (readonly unknown[])[];
  readonly rowCount: number;
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
   * Runs statements over `width` connections at once; for work that DuckDB would otherwise
   * run one statement at a time, such as writing many small Parquet files.
   */
  async runParallel(statements: readonly string[], width: number): Promise<void> {
    while (this.extra.length < width - 1) this.extra.push(await this.instance.connect());
    const conns = [this.connection, ...this.extra.slice(0, Math.max(0, width - 1))];
    let next = 0;
    await Promise.all(
      conns.map(async (conn) => {
        while (next < statements.length) {
          const sql = statements[next++]!;
          await conn.run(sql);
        }
      }),
    );
  }

  close(): void {
    for (const c of this.extra) c.closeSync();
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
