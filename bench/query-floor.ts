import { createRequire } from 'node:module';

/**
 * The floor a whole-process query is measured against: a bare node script that loads DuckDB
 * (the fast way, require) and runs the same SELECT over the same Parquet files by path,
 * writing CSV to stdout.
 *   node dist/bench/query-floor.js '<sql>'
 */
const { DuckDBInstance } = createRequire(import.meta.url)('@duckdb/node-api') as typeof import('@duckdb/node-api');
const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
await connection.run(`COPY (${process.argv[2]!}) TO '/dev/stdout' (FORMAT CSV, HEADER)`);
