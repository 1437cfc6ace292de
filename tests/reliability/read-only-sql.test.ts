import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MdwError, RefusedSqlError, Warehouse } from '../../src/index.js';
import { freshCatalog, lakeHashes, removeDir, repoRoot, runMdw, tempDir } from '../support/helpers.js';

/**
 * Issue 11, item 6: `mdw query sql` and the library's `sql()` only read. Every way found to write,
 * delete, load or read outside the lake is refused, by the command line (exit 2, one line) and
 * by the library (RefusedSqlError), and the warehouse's files are the same afterwards, byte for
 * byte; ordinary queries still give exact answers.
 */
let root: string;
let home: string;
let lake: string;
let outside: string;
let url: string | undefined;
let drop: () => Promise<void>;
const mdw = (...args: string[]) => runMdw(['--home', home, ...args], { env: url ? { MDW_DATABASE_URL: url } : {} });

/** Written outside the warehouse: no query may show it. */
const canary = 'OUTSIDE-CANARY-5d1e';

/** Every file under a folder (the whole warehouse: lake, catalog, logs...) with its sha256. */
function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** The fixture row of a symbol on a day (fixtures/csv/yahoo), as the numbers a query must return. */
function fixtureRow(symbol: string, day: string): { close: number; volume: number } {
  const line = readFileSync(path.join(repoRoot, 'fixtures/csv/yahoo', `${symbol}.csv`), 'utf8').split('\n').find((l) => l.startsWith(`${day},`))!;
  const cells = line.split(',').map(Number);
  return { close: cells[4]!, volume: cells[6]! };
}

/** What must be refused: writes, deletes, loads, settings, a second statement, reads outside the lake. */
function attacks(): { readonly name: string; readonly sql: string; readonly parser?: true }[] {
  const parquet = path.join(outside, 'outside.parquet');
  return [
    { name: 'COPY ... OVERWRITE over the lake (as the issue wrote it)', sql: `COPY (select 1 a) TO '${lake}/ohlcv' (FORMAT PARQUET, PARTITION_BY (a), OVERWRITE)` },
    { name: 'COPY ... OVERWRITE over the lake', sql: `COPY (select 1 a, 2 b) TO '${lake}/ohlcv' (FORMAT PARQUET, PARTITION_BY (a), OVERWRITE)` },
    { name: 'COPY over a partition file', sql: `COPY (select 1 a) TO '${lake}/ohlcv/source=demo/granularity=1d/year=2023/data.parquet' (FORMAT PARQUET)` },
    { name: 'COPY to a file outside', sql: `COPY (select * from ohlcv) TO '${outside}/stolen.csv'` },
    { name: 'COPY a table from a file', sql: `COPY ohlcv FROM '${outside}/outside.csv'` },
    { name: 'EXPORT DATABASE', sql: `EXPORT DATABASE '${outside}/export'` },
    { name: 'ATTACH a new database', sql: `ATTACH '${lake}/evil.duckdb' AS evil` },
    { name: 'ATTACH in memory', sql: `ATTACH ':memory:' AS evil` },
    { name: 'CREATE TABLE', sql: 'CREATE TABLE t AS SELECT * FROM ohlcv' },
    { name: 'CREATE VIEW over a dataset', sql: 'CREATE OR REPLACE VIEW ohlcv AS SELECT 1 AS one' },
    { name: 'CREATE MACRO', sql: 'CREATE MACRO m(x) AS x + 1' },
    { name: 'CREATE SECRET', sql: "CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 'v')" },
    { name: 'INSERT', sql: 'INSERT INTO ohlcv SELECT * FROM ohlcv' },
    { name: 'DELETE', sql: 'DELETE FROM ohlcv' },
    { name: 'DROP VIEW', sql: 'DROP VIEW ohlcv' },
    { name: 'INSTALL', sql: 'INSTALL httpfs' },
    { name: 'LOAD', sql: 'LOAD httpfs' },
    { name: 'SET external access', sql: 'SET enable_external_access = true' },
    { name: 'SET allowed directories', sql: "SET allowed_directories = ['/']" },
    { name: 'RESET', sql: 'RESET lock_configuration' },
    { name: 'PRAGMA', sql: 'PRAGMA enable_profiling' },
    { name: 'CALL', sql: 'CALL pragma_version()' },
    { name: 'CHECKPOINT', sql: 'CHECKPOINT' },
    { name: 'EXPLAIN ANALYZE', sql: 'EXPLAIN ANALYZE SELECT 1' },
    { name: 'a PIVOT statement (creates types)', sql: 'PIVOT ohlcv ON symbol USING count(*)' },
    { name: 'a second statement after ;', sql: `select 1; COPY (select 1 a) TO '${outside}/second.csv'` },
    { name: 'two SELECTs', sql: 'select 1; select 2' },
    // Not a statement of its own: DuckDB's parser refuses it before anything is wrapped around it.
    { name: 'a COPY that closes the wrapper', sql: `select 1 as a) TO '${lake}/ohlcv/evil.parquet' (FORMAT PARQUET); --`, parser: true },
    { name: 'query() running a COPY', sql: `select * from query('COPY (select 1 a) TO ''${outside}/query.csv''')` },
    { name: 'logging to a file', sql: `select * from enable_logging(storage = 'file', storage_path = '${lake}/log')` },
    { name: 'profiling to a file', sql: `select * from enable_profiling()` },
    { name: 'write_log', sql: "select write_log('x')" },
    { name: 'json_execute_serialized_sql', sql: "select * from json_execute_serialized_sql(json_serialize_sql('select 1'))" },
    { name: 'checkpoint() in a subquery', sql: 'select 1 where 1 in (select 1 from checkpoint())' },
    { name: 'a denied function inside DESCRIBE', sql: `describe select * from enable_logging(storage = 'file', storage_path = '${lake}/log')` },
    { name: 'read_text of /etc/hostname', sql: "select * from read_text('/etc/hostname')" },
    { name: 'read_csv of a file outside', sql: `select * from read_csv('${outside}/outside.csv')` },
    { name: 'read_parquet of a file outside', sql: `select * from read_parquet('${parquet}')` },
    { name: 'read_blob outside', sql: `select * from read_blob('${outside}/outside.csv')` },
    { name: 'glob outside', sql: `select * from glob('${outside}/*')` },
    { name: 'a path that climbs out of the lake', sql: `select * from read_text('${lake}/../../outside/outside.csv')` },
    { name: 'a file named in FROM', sql: `select * from '${outside}/outside.csv'` },
    { name: 'a union with a file outside', sql: `select symbol from ohlcv union all select content from read_text('${outside}/outside.csv')` },
  ];
}

beforeAll(async () => {
  root = tempDir();
  home = path.join(root, 'warehouse');
  lake = path.join(home, 'lake');
  outside = path.join(root, 'outside');
  ({ url, drop } = await freshCatalog());
  expect((await mdw('init', '--yes')).code).toBe(0);
  expect((await mdw('ingest', 'demo')).code).toBe(0);
  const dividends = [{ cash_amount: 0.24, dividend_type: 'CD', ex_dividend_date: '2023-11-10', ticker: 'AAPL' }];
  writeFileSync(path.join(root, 'dividends.json'), JSON.stringify({ results: dividends, status: 'OK' }));
  writeFileSync(path.join(root, 'dividends.yml'), 'dataset: corporate_actions\ngranularity: 1d\nsource: { name: saved, adapter: file, files: [dividends.json] }\ntransform: polygon-dividends\n');
  expect((await mdw('ingest', path.join(root, 'dividends.yml'))).code).toBe(0);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'outside.csv'), `secret\n${canary}\n`);
  // A Parquet file outside the lake, written by a DuckDB of the test's own.
  const { DuckSession } = await import('../../src/lake/duckdb.js');
  const duck = await DuckSession.open({ threads: 1 });
  await duck.run(`COPY (SELECT '${canary}' AS secret) TO '${path.join(outside, 'outside.parquet')}' (FORMAT PARQUET)`);
  duck.close();
});

afterAll(async () => {
  await drop();
  removeDir(root);
});

describe('query sql only reads the lake', () => {
  test(`each attack is refused by the command line with exit 2 and one line, and no file changes`, async () => {
    const before = { home: files(home), outside: files(outside), lake: lakeHashes(lake) };
    expect(Object.keys(before.lake).length).toBe(2);
    const outcomes: string[] = [];
    const refused = /^mdw: query sql runs one SELECT \(or WITH, FROM, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE\) over the dataset views and the files under the lake: [^\n]+\n$/;
    for (const attack of attacks()) {
      const r = await mdw('query', 'sql', attack.sql);
      const said = (attack.parser ? /^mdw: Parser Error: [^\n]+\n$/ : refused).test(r.stderr) && !r.stderr.includes(canary) ? 'refused' : r.stderr.trim().split('\n')[0];
      const lakeSame = JSON.stringify(lakeHashes(lake)) === JSON.stringify(before.lake) ? 'lake unchanged' : 'LAKE CHANGED';
      outcomes.push(`${attack.name}: exit ${r.code}, ${r.stdout === '' ? 'no output' : 'OUTPUT'}, ${said}, ${lakeSame}`);
    }
    expect(outcomes).toEqual(attacks().map((a) => `${a.name}: exit 2, no output, refused, lake unchanged`));
    expect(files(home)).toEqual(before.home);
    expect(files(outside)).toEqual(before.outside);
  });

  test('each attack is refused by the library with a RefusedSqlError, and no file changes', async () => {
    const before = { home: files(home), outside: files(outside), lake: lakeHashes(lake) };
    const wh = await Warehouse.open({ home, threads: 1 });
    try {
      const outcomes: string[] = [];
      for (const attack of attacks()) {
        const err = await wh.sql(attack.sql).then(
          () => null,
          (e: unknown) => e,
        );
        const code = attack.parser ? 'usage' : 'sql_refused';
        const said = err instanceof MdwError && err.code === code && err.exitCode === 2 && !err.message.includes(canary) ? 'refused' : String(err);
        outcomes.push(`${attack.name}: ${said}`);
      }
      expect(outcomes).toEqual(attacks().map((a) => `${a.name}: refused`));
      await expect(wh.sql('DROP VIEW ohlcv')).rejects.toThrow(RefusedSqlError);
      // The views are still the datasets' after all of that.
      const n = await wh.sql('select count(*) as n from ohlcv');
      expect(n.columns[0]).toEqual(BigInt64Array.of(746n));
    } finally {
      wh.close();
    }
    expect(files(home)).toEqual(before.home);
    expect(files(outside)).toEqual(before.outside);
    expect(lakeHashes(lake)).toEqual(before.lake);
  });

  test('what the issue found is told precisely: the statement kind, the function, the path outside', async () => {
    const lines = async (sql: string) => (await mdw('query', 'sql', sql)).stderr.replace(/^mdw: query sql runs one SELECT .* the files under the lake: /, '');
    expect(await lines(`COPY (select 1 a) TO '${lake}/ohlcv' (FORMAT PARQUET, PARTITION_BY (a), OVERWRITE)`)).toBe('COPY is not one\n');
    expect(await lines(`/* a note first */\n-- and a line\nattach ':memory:' as x`)).toBe('ATTACH is not one\n');
    expect(await lines('select 1; select 2')).toBe('this is 2 statements\n');
    expect(await lines("select * from main.QUERY('select 1')")).toBe('query() is not allowed here\n');
    expect(await lines("select write_log('x')")).toBe('write_log() is not allowed here\n');
    expect(await lines("select * from read_text('/etc/hostname')")).toBe('/etc/hostname is outside the lake\n');
    // --help says what it may read.
    expect((await mdw('query', 'sql', '--help')).stdout).toContain(
      'It reads only: one SELECT (or WITH, FROM, VALUES, TABLE, DESCRIBE, SHOW, SUMMARIZE) over the dataset\nviews and files under the lake (MDW_HOME/lake',
    );
    // A query that does not parse is bad input too, told by DuckDB's parser.
    const typo = await mdw('query', 'sql', 'selec 1');
    expect([typo.code, typo.stderr]).toEqual([2, 'mdw: Parser Error: syntax error at or near "selec"\n']);
  });

  test('ordinary queries still give exact answers: aggregates, CTEs, joins of datasets, lake files, DESCRIBE', async () => {
    const csv = async (sql: string) => {
      const r = await mdw('query', 'sql', sql, '--format', 'csv');
      expect([r.code, r.stderr]).toEqual([0, '']);
      return r.stdout;
    };
    expect(await csv('select symbol, count(*) as n, min(ts) as first, max(ts) as last from ohlcv group by symbol order by symbol')).toBe(
      'symbol,n,first,last\nAAPL,246,2023-01-03T00:00:00Z,2023-12-29T00:00:00Z\nMSFT,250,2023-01-03T00:00:00Z,2023-12-29T00:00:00Z\nSPY,250,2023-01-03T00:00:00Z,2023-12-29T00:00:00Z\n',
    );
    const [d28, d29] = [fixtureRow('MSFT', '2023-12-28'), fixtureRow('MSFT', '2023-12-29')];
    expect(
      await csv(
        "with m as (select ts, close, volume from ohlcv where symbol = 'MSFT') " +
          "select b.ts, a.close as prev_close, b.close, a.volume + b.volume as volume from m a join m b on b.ts = a.ts + interval 1 day where b.ts = '2023-12-29'",
      ),
    ).toBe(`ts,prev_close,close,volume\n2023-12-29T00:00:00Z,${d28.close},${d29.close},${d28.volume + d29.volume}\n`);
    const aapl = fixtureRow('AAPL', '2023-11-10');
    expect(await csv('select o.symbol, c.ex_date, c.cash_amount, o.close from corporate_actions c join ohlcv o on o.symbol = c.symbol and o.ts = c.ex_date')).toBe(
      `symbol,ex_date,cash_amount,close\nAAPL,2023-11-10T00:00:00Z,0.24,${aapl.close}\n`,
    );
    expect(await csv(`select count(*) as n from read_parquet('${lake}/ohlcv/**/*.parquet')`)).toBe('n\n746\n');
    expect((await csv('describe ohlcv')).split('\n').slice(1, 3)).toEqual(['symbol,VARCHAR,YES,,,', 'ts,TIMESTAMP,YES,,,']);
    expect(await csv('select column_name from (describe corporate_actions) where column_name like \'%amount\'')).toBe('column_name\ncash_amount\n');
    // A closing ";" with a comment after it, and ";" inside strings and comments, as pasted from an editor.
    expect(await csv("select count(*) as n from ohlcv where symbol = 'SPY'; -- the whole year")).toBe('n\n250\n');
    expect(await csv("select ';' as a, 'it''s;' as b, $$x;y$$ as c /* ; */ ; /* done */")).toBe("a,b,c\n;,it's;,x;y\n");
    // The same through the library.
    const wh = await Warehouse.open({ home, threads: 1 });
    try {
      const r = await wh.sql("select symbol, count(*) as n from ohlcv where symbol in ('AAPL', 'SPY') group by 1 order by 1");
      expect([r.columns[0], r.columns[1]]).toEqual([['AAPL', 'SPY'], BigInt64Array.of(246n, 250n)]);
      const j = await wh.sql('select o.close from corporate_actions c join ohlcv o on o.symbol = c.symbol and o.ts = c.ex_date');
      expect(j.columns[0]).toEqual(Float64Array.of(aapl.close));
    } finally {
      wh.close();
    }
  });
});
