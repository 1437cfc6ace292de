import { createRequire } from 'node:module';

/**
 * The baseline the ingest is measured against: DuckDB alone reading the same files and
 * writing partitioned Parquet (ZSTD) by symbol and month, with no validation and no catalog.
 *   node dist/bench/duckdb-baseline.js csv|json <data dir> <out dir>
 */
const { DuckDBInstance } = createRequire(import.meta.url)('@duckdb/node-api') as typeof import('@duckdb/node-api');
const [kind, data, out] = process.argv.slice(2) as [string, string, string];
const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
const source =
  kind === 'csv'
    ? `SELECT regexp_extract(filename, '([^/]+)\\.csv$', 1) AS symbol, Datetime AS ts, Open AS open, High AS high, Low AS low, Close AS close, "Adj Close" AS adj_close, Volume AS volume ` +
      `FROM read_csv('${data}/csv-1m/*.csv', filename = true)`
    : `SELECT ticker AS symbol, make_timestamp(r.t * 1000) AS ts, r.o AS open, r.h AS high, r.l AS low, r.c AS close, r.v AS volume, r.vw AS vwap, r.n AS trades ` +
      `FROM (SELECT ticker, unnest(results) AS r FROM read_json('${data}/polygon-1m/*/*.json'))`;
await connection.run(
  `COPY (SELECT *, strftime(ts, '%Y-%m') AS month FROM (${source})) TO '${out}' (FORMAT PARQUET, COMPRESSION ZSTD, PARTITION_BY (symbol, month), OVERWRITE_OR_IGNORE)`,
);
const rows = await connection.runAndReadAll(`SELECT count(*)::INT AS n FROM read_parquet('${out}/**/*.parquet')`);
process.stdout.write(`${JSON.stringify(rows.getRowObjectsJson()[0])}\n`);
