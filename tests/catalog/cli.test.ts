import { loadMigrations } from '../../src/catalog/migrate.js';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { DuckSession } from '../../src/lake/duckdb.js';
import { screen } from '../support/terminal.js';
import { Warehouse } from '../../src/index.js';
import { freshCatalog, removeDir, repoRoot, runMdw, tempDir, testContext } from '../support/helpers.js';

let root: string;
let home: string;
let url: string | undefined;
let drop: () => Promise<void>;
const mdw = (...args: string[]) => runMdw(['--home', home, ...args], { env: url ? { MDW_DATABASE_URL: url } : {} });

/** The fixture row of a symbol on a day, as the numbers a query must return. */
function fixtureRow(symbol: string, day: string) {
  const line = readFileSync(path.join(repoRoot, 'fixtures/csv/yahoo', `${symbol}.csv`), 'utf8').split('\n').find((l) => l.startsWith(`${day},`))!;
  const [, open, high, low, close, , volume] = line.split(',').map(Number);
  return { open, high, low, close, volume };
}

beforeAll(async () => {
  root = tempDir();
  home = path.join(root, 'warehouse');
  ({ url, drop } = await freshCatalog());
});
afterAll(async () => {
  await drop();
  removeDir(root);
});

describe('the mdw command line, end to end', () => {
  test('commands that need a warehouse say so when there is none, and create nothing', async () => {
    for (const args of [['ingest', 'demo'], ['status'], ['db', 'migrate']]) {
      const r = await mdw(...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`mdw: no warehouse at ${home}: create it with \`mdw init\`, or point MDW_HOME (or --home) at yours\n`);
    }
    expect(existsSync(home)).toBe(false);
    // A dry run needs no warehouse: it only reads.
    const dry = await mdw('ingest', 'demo', '--dry-run', '--format', 'json');
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)[0]).toMatchObject({ dry_run: true, stored: 746, quarantined: 5 });
    expect(existsSync(path.join(home, 'catalog'))).toBe(false);
  });

  test('init creates the warehouse and the catalog schema', async () => {
    const r = await mdw('init', '--yes');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`warehouse  ${home}`);
    expect(r.stdout).toMatch(new RegExp(`catalog {4}(embedded PGlite at .*/catalog|Postgres server from MDW_DATABASE_URL) \\(schema mdw, ${loadMigrations().length} migrations applied\\)`));
    for (const dir of ['lake', 'quarantine', 'logs', 'tmp', 'run']) expect(existsSync(path.join(home, dir))).toBe(true);
    const status = await mdw('db', 'status', '--format', 'csv');
    expect(status.stdout.split('\n')[1]).toMatch(/^1,001_catalog,\d{4}-\d\d-\d\dT/);
  });

  test('ingest prints a summary: csv when piped, and logs to stderr', async () => {
    const r = await mdw('ingest', 'demo');
    expect(r.code).toBe(0);
    const [header, row] = r.stdout.trim().split('\n');
    expect(header).toBe('job,batches,dry_run,inputs,inputs_skipped,records_in,stored,deduped,quarantined,filtered,partitions_written,partitions_unchanged,quarantine_files');
    expect(row).toMatch(/^demo,1,false,3,0,752,746,1,5,0,1,0,.*\.ndjson$/);
    expect(r.stderr).toMatch(/demo: 752 records from 3 inputs; 746 stored, 1 already stored or repeated, 5 quarantined/);
    expect(r.stderr).toMatch(/5 records quarantined \(.*quarantine\/ohlcv\/source=demo\/.*\.ndjson\); see them with `mdw quarantine list demo`/);
    // JSON lines land in the log file too.
    const logs = readFileSync(path.join(home, 'logs', `mdw-${new Date().toISOString().slice(0, 10)}.log`), 'utf8');
    expect(logs).toMatch(/"message":"demo: 752 records/);
    // The run and its start and finish events are in the catalog.
    const ctx = testContext({ home, databaseUrl: url });
    try {
      const { sql } = await ctx.catalog();
      const [run] = await sql<{ id: string; command: string; job: string; status: string; exit_code: number }[]>`
        select id, command, job, status, exit_code from mdw.ingest_run`;
      expect(run).toMatchObject({ command: 'ingest', job: 'demo', status: 'ok', exit_code: 0 });
      const events = await sql<{ event: string; message: string }[]>`select event, message from mdw.ingest_log where run_id = ${run!.id} order by at, event desc`;
      expect(events.map((e) => e.event)).toEqual(['started', 'finished']);
      expect(events[1]!.message).toMatch(/^demo: 752 records from 3 inputs; 746 stored/);
    } finally {
      await ctx.close();
    }
  });

  test('query ohlcv returns the stored bars, in every format', async () => {
    const csv = await mdw('query', 'ohlcv', 'AAPL', 'msft', '--from', '2023-12-28', '--to', '2023-12-29');
    expect(csv.code).toBe(0);
    const a = fixtureRow('AAPL', '2023-12-28');
    const m = fixtureRow('MSFT', '2023-12-29');
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('symbol,ts,open,high,low,close,volume');
    expect(lines).toHaveLength(5);
    // Numbers as DuckDB writes them, a whole volume without .0.
    expect(lines[1]).toBe(`AAPL,2023-12-28T00:00:00Z,${a.open},${a.high},${a.low},${a.close},${a.volume}`);
    expect(lines[4]).toBe(`MSFT,2023-12-29T00:00:00Z,${m.open},${m.high},${m.low},${m.close},${m.volume}`);

    const json = JSON.parse((await mdw('query', 'ohlcv', 'MSFT', '--from', '2023-12-29', '--format', 'json')).stdout) as Record<string, unknown>[];
    expect(json).toEqual([{ symbol: 'MSFT', ts: '2023-12-29T00:00:00Z', ...m }]);
    const nd = (await mdw('query', 'ohlcv', 'MSFT', '--from', '2023-12-28', '--format', 'ndjson', '--columns', 'ts,close,adj_close')).stdout.trim().split('\n');
    expect(nd.map((l) => Object.keys(JSON.parse(l) as object))).toEqual([['ts', 'close', 'adj_close'], ['ts', 'close', 'adj_close']]);

    const arrow = await runBinary(['query', 'ohlcv', 'MSFT', '--from', '2023-12-29', '--format', 'arrow']);
    const table = tableFromIPC(arrow);
    expect(table.numRows).toBe(1);
    expect(table.getChild('close')!.get(0)).toBe(m.close);
    expect(String(table.getChild('ts')!.type)).toBe('Timestamp<MICROSECOND, UTC>');
    expect(table.getChild('ts')!.data[0]!.values[0]).toBe(BigInt(Date.parse('2023-12-29T00:00:00Z')) * 1000n);

    const pq = path.join(root, 'out.parquet');
    writeFileSync(pq, await runBinary(['query', 'ohlcv', 'AAPL', '--format', 'parquet']));
    const duck = await DuckSession.open({ threads: 1 });
    try {
      expect(await duck.all(`SELECT count(*) AS n, min(ts) = TIMESTAMP '2023-01-03' AS first FROM read_parquet('${pq}')`)).toEqual([{ n: 246, first: true }]);
    } finally {
      duck.close();
    }
  });

  test('calendar commands print sessions in UTC and the holidays, without a warehouse', async () => {
    const s = await mdw('calendar', 'sessions', 'XNYS', '--from', '2024-11-27', '--to', '2024-12-02');
    expect(s.code).toBe(0);
    expect(s.stdout).toBe(
      'date,open_utc,close_utc,early_close\n' +
        '2024-11-27,2024-11-27T14:30:00Z,2024-11-27T21:00:00Z,false\n' +
        '2024-11-29,2024-11-29T14:30:00Z,2024-11-29T18:00:00Z,true\n' +
        '2024-12-02,2024-12-02T14:30:00Z,2024-12-02T21:00:00Z,false\n',
    );
    const h = await mdw('calendar', 'holidays', 'xnys', '--from', '2025-01-01', '--to', '2025-01-31', '--format', 'json');
    expect(JSON.parse(h.stdout)).toEqual([
      { date: '2025-01-01', name: "New Year's Day" },
      { date: '2025-01-09', name: 'National Day of Mourning for Jimmy Carter' },
      { date: '2025-01-20', name: 'Martin Luther King Jr. Day' },
    ]);
    const bars = await mdw('calendar', 'sessions', 'XNYS', '--from', '2024-07-03', '--to', '2024-07-05', '-g', '5m', '--format', 'csv');
    expect(bars.stdout).toBe(
      'date,open_utc,close_utc,early_close,bars,first_bar,last_bar\n' +
        '2024-07-03,2024-07-03T13:30:00Z,2024-07-03T17:00:00Z,true,42,2024-07-03T13:30:00Z,2024-07-03T16:55:00Z\n' +
        '2024-07-05,2024-07-05T13:30:00Z,2024-07-05T20:00:00Z,false,78,2024-07-05T13:30:00Z,2024-07-05T19:55:00Z\n',
    );
    const bad = await mdw('calendar', 'sessions', 'LSE');
    expect([bad.code, bad.stderr]).toEqual([2, 'mdw: no calendar "LSE": choose one of XNYS, 24/7, 24/5\n']);
    const order = await mdw('calendar', 'sessions', 'XNYS', '--from', '2024-02-01', '--to', '2024-01-01');
    expect([order.code, order.stderr]).toEqual([2, 'mdw: --from 2024-02-01 is after --to 2024-01-01\n']);
  });

  test('query reads the lake without the catalog, and says when there is nothing', async () => {
    const none = await mdw('query', 'ohlcv', 'NOPE', '--from', '2023-01-01');
    expect(none.code).toBe(0);
    expect(none.stdout.trim()).toBe('symbol,ts,open,high,low,close,volume');
    expect(none.stderr).toBe('warn: NOPE: the lake has no ohlcv data for it (any source or granularity); none of its 3 symbols is near it (mdw status lists them)\n');
    const minute = await mdw('query', 'ohlcv', 'AAPL', '-g', '1m');
    expect(minute.code).toBe(0);
    expect(minute.stderr).toBe('warn: AAPL: no rows match the query; the lake holds it as 1d from demo\n');
  });

  test('query sql runs over views named after the datasets', async () => {
    const r = await mdw('query', 'sql', 'select symbol, count(*) as n from ohlcv group by symbol order by symbol');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('symbol,n\nAAPL,246\nMSFT,250\nSPY,250\n');
    const d = await mdw('query', 'sql', 'describe ohlcv', '--format', 'json');
    expect((JSON.parse(d.stdout) as { column_name: string }[]).map((c) => c.column_name)).toEqual([
      'symbol', 'ts', 'open', 'high', 'low', 'close', 'volume', 'vwap', 'trades', 'adj_close', 'quote_volume', 'granularity', 'source', 'batch_id', 'quality', 'flags',
    ]);
    const bad = await mdw('query', 'sql', 'select nope from ohlcv');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^mdw: Binder Error: Referenced column "nope" not found/m);
  });

  test('query sql and query ohlcv write each value by its column type: times in one ISO 8601 UTC form, whole numbers without .0', async () => {
    const m = fixtureRow('MSFT', '2023-12-29');
    const both = async (...format: string[]) => {
      const ohlcv = await mdw('query', 'ohlcv', 'MSFT', '--from', '2023-12-29', '--columns', 'ts,volume', ...format);
      const sql = await mdw('query', 'sql', "select ts, volume from ohlcv where symbol = 'MSFT' and ts >= '2023-12-29'", ...format);
      expect(sql.stdout).toBe(ohlcv.stdout);
      return ohlcv.stdout;
    };
    expect(await both()).toBe(`ts,volume\n2023-12-29T00:00:00Z,${m.volume}\n`);
    expect(JSON.parse(await both('--format', 'json'))).toEqual([{ ts: '2023-12-29T00:00:00Z', volume: m.volume }]);
    expect(JSON.parse(await both('--format', 'ndjson'))).toEqual({ ts: '2023-12-29T00:00:00Z', volume: m.volume });
    expect(cells(await both('--format', 'table'))).toEqual([['ts', 'volume'], ['2023-12-29T00:00:00Z', String(m.volume)]]);

    const select =
      "select TIMESTAMP '2024-01-02' as t, TIMESTAMP '2024-01-02 09:30:00.25' as t_frac, TIMESTAMPTZ '2024-01-02 09:30:00+02' as tz, " +
      "TIMESTAMP_NS '2024-01-02 09:30:00.123456789' as ns, TIMESTAMP_NS '1969-12-31 23:59:59.5' as ns_old, DATE '2024-01-02' as d, " +
      '1.50::DECIMAL(10,2) as price, 1000.0::DOUBLE as whole, 0.5::DOUBLE as half, true as b, 7::TINYINT as i8, 70000 as i32, 5000000000 as i64, NULL::TIMESTAMP as nothing';
    const text = ['2024-01-02T00:00:00Z', '2024-01-02T09:30:00.250000Z', '2024-01-02T07:30:00Z', '2024-01-02T09:30:00.123456789Z', '1969-12-31T23:59:59.500000000Z', '2024-01-02'];
    const names = ['t', 't_frac', 'tz', 'ns', 'ns_old', 'd', 'price', 'whole', 'half', 'b', 'i8', 'i32', 'i64', 'nothing'];
    expect((await mdw('query', 'sql', 'select 1.0::DOUBLE as one -- a note that ends the query')).stdout).toBe('one\n1\n');
    const csv = await mdw('query', 'sql', select);
    expect(csv.stdout).toBe(`${names.join(',')}\n${text.join(',')},1.50,1000,0.5,true,7,70000,5000000000,\n`);
    const json = { ...Object.fromEntries(text.map((t, i) => [names[i], t])), price: 1.5, whole: 1000, half: 0.5, b: true, i8: 7, i32: 70000, i64: 5000000000, nothing: null };
    expect(JSON.parse((await mdw('query', 'sql', select, '--format', 'json')).stdout)).toEqual([json]);
    expect(JSON.parse((await mdw('query', 'sql', select, '--format', 'ndjson')).stdout)).toEqual(json);
    expect(cells((await mdw('query', 'sql', select, '--format', 'table')).stdout)).toEqual([names, [...text, '1.50', '1000', '0.5', 'true', '7', '70000', '5000000000', '']]);

    // Arrow keeps the types: microseconds (nanoseconds for TIMESTAMP_NS) in UTC, a date, a decimal, bool and sized ints.
    const arrow = tableFromIPC(await runBinary(['query', 'sql', select, '--format', 'arrow']));
    expect(arrow.schema.fields.map((f) => `${f.name} ${String(f.type)}`)).toEqual([
      't Timestamp<MICROSECOND, UTC>',
      't_frac Timestamp<MICROSECOND, UTC>',
      'tz Timestamp<MICROSECOND, UTC>',
      'ns Timestamp<NANOSECOND, UTC>',
      'ns_old Timestamp<NANOSECOND, UTC>',
      'd Date32<DAY>',
      'price Decimal[10e+2]',
      'whole Float64',
      'half Float64',
      'b Bool',
      'i8 Int8',
      'i32 Int32',
      'i64 Int64',
      'nothing Timestamp<MICROSECOND, UTC>',
    ]);
    const raw = (name: string) => arrow.getChild(name)!.data[0]!.values[0];
    const micros = (iso: string) => BigInt(Date.parse(iso)) * 1000n;
    expect([raw('t'), raw('t_frac'), raw('tz')]).toEqual([micros('2024-01-02T00:00:00Z'), micros('2024-01-02T09:30:00.250Z'), micros('2024-01-02T07:30:00Z')]);
    expect([raw('ns'), raw('ns_old')]).toEqual([micros('2024-01-02T09:30:00Z') * 1000n + 123456789n, -500000000n]);
    expect(raw('d')).toBe(19724); // days since 1970-01-01
    expect(String(arrow.getChild('price')!.get(0))).toBe('150'); // 1.50 at scale 2
    expect(['whole', 'half', 'b', 'i8', 'i32', 'i64', 'nothing'].map((n) => arrow.getChild(n)!.get(0))).toEqual([1000, 0.5, true, 7, 70000, 5000000000n, null]);
  });

  test('status lists rows, first and last bar, last run and lag per symbol', async () => {
    const r = await mdw('status');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('dataset,source,granularity,symbol,rows,first_ts,last_ts,lag,last_run,run_status,last_backfill,backfill_outcome,score,sessions_behind');
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 7).join(','))).toEqual([
      'ohlcv,demo,1d,AAPL,246,2023-01-03T00:00:00Z,2023-12-29T00:00:00Z',
      'ohlcv,demo,1d,MSFT,250,2023-01-03T00:00:00Z,2023-12-29T00:00:00Z',
      'ohlcv,demo,1d,SPY,250,2023-01-03T00:00:00Z,2023-12-29T00:00:00Z',
    ]);
    expect(lines[1]!.split(',')[9]).toBe('ok');
    // The validation score of the last batch, rounded to 4 places: AAPL's planted bad rows count against it.
    expect(lines.slice(1).map((l) => l.split(',')[12])).toEqual(['0.9841', '1', '1']);
    expect(Number(lines[1]!.split(',')[13])).toBeGreaterThan(700);
    expect(lines[1]!.split(',')[7]).toMatch(/^\d+d \d+h$/);
  });

  test('a job file given by path loads corporate actions; status shows them without a lag, which only bars have', async () => {
    const dividends = [{ cash_amount: 0.24, dividend_type: 'CD', ex_dividend_date: '2023-11-10', ticker: 'AAPL' }];
    writeFileSync(path.join(root, 'dividends.json'), JSON.stringify({ results: dividends, status: 'OK' }));
    writeFileSync(
      path.join(root, 'dividends.yml'),
      `dataset: corporate_actions\ngranularity: 1d\nsource: { name: saved-dividends, adapter: file, files: [dividends.json] }\ntransform: polygon-dividends\n`,
    );
    expect((await mdw('ingest', path.join(root, 'dividends.yml'))).code).toBe(0);
    const r = await mdw('status', '--dataset', 'corporate_actions');
    expect(r.stdout.trim().split('\n').slice(1).map((l) => l.split(',').slice(0, 8).join(','))).toEqual([
      'corporate_actions,saved-dividends,1d,AAPL,1,2023-11-10T00:00:00Z,2023-11-10T00:00:00Z,',
    ]);
    const q = await mdw('query', 'sql', 'select symbol, ex_date, action, cash_amount from corporate_actions', '--format', 'csv');
    expect(q.stdout).toBe('symbol,ex_date,action,cash_amount\nAAPL,2023-11-10T00:00:00Z,cash_dividend,0.24\n');
  });

  test('jobs list shows every job with its dataset, source and transform', async () => {
    const r = await mdw('jobs', 'list', '--format', 'json');
    const jobs = JSON.parse(r.stdout) as { job: string; transform: string; status: string }[];
    expect(jobs.find((j) => j.job === 'demo')).toMatchObject({ transform: 'yahoo', status: 'ok' });
    expect(jobs.map((j) => j.job)).toEqual(expect.arrayContaining(['demo', 'demo-kaggle', 'demo-stooq', 'demo-minute', 'kaggle-stocks']));
  });

  test('a reader that closes the pipe early is not a failure', async () => {
    const { spawnSync } = await import('node:child_process');
    const env = { ...process.env, MDW_HOME: home, NODE_OPTIONS: '', ...(url ? { MDW_DATABASE_URL: url } : {}) };
    for (const cmd of [`query sql "select * from ohlcv, range(50)"`, 'query ohlcv AAPL MSFT SPY --format json']) {
      const r = spawnSync('bash', ['-o', 'pipefail', '-c', `${path.join(repoRoot, 'bin/mdw')} ${cmd} | head -c 100 >/dev/null`], { env, encoding: 'utf8' });
      expect([r.status, r.stderr]).toEqual([0, '']);
    }
  });

  test('usage mistakes exit 2 with a message; --help teaches', async () => {
    expect((await mdw('query', 'ohlcv', 'AAPL', '--format', 'xml')).code).toBe(2);
    const from = await mdw('query', 'ohlcv', 'AAPL', '--from', '2023-13-01');
    expect(from.code).toBe(2);
    expect(from.stderr).toMatch(/--from "2023-13-01" is not a real date/);
    expect((await mdw('ingest')).code).toBe(2);
    expect((await mdw('frobnicate')).code).toBe(2);
    const g = await mdw('query', 'ohlcv', 'AAPL', '-g', 'daily');
    expect(g.code).toBe(2);
    expect(g.stderr).toMatch(/granularity "daily" is not of the form/);
    const long = await mdw('query', 'ohlcv', 'AAPL', '-g', '99999999999999999999d');
    expect([long.code, long.stderr.split('\n')[0]]).toEqual([2, 'mdw: granularity "99999999999999999999d" is longer than a bar can be (at most 86400s, 1440m, 24h, 366d, 53w, 12mo)']);
    // A list of nothing would mean every symbol to the ingest.
    const none = await mdw('ingest', 'demo', '--symbols', ',,,');
    expect([none.code, none.stderr.split('\n')[0]]).toEqual([2, "error: option '--symbols <list>' argument ',,,' is invalid. expected a comma-separated list with at least one item, e.g. AAPL,MSFT"]);
    const help = await mdw('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes: 0 ok, 1 failed, 2 bad usage or config, 3 partial, 4 another run holds the lock/);
    const ingestHelp = await mdw('ingest', '--help');
    expect(ingestHelp.stdout).toMatch(/--dry-run/);
    expect(ingestHelp.stdout).toMatch(/mdw ingest demo --from 2020-01-01 --symbols AAPL,MSFT --dry-run/);
  });

  test('progress: on a terminal a spinner on stderr that leaves nothing behind, done or failed; piped, debug lines', async () => {
    const { spawnSync } = await import('node:child_process');
    const env: NodeJS.ProcessEnv = { ...process.env, MDW_HOME: home, NODE_OPTIONS: '', ...(url ? { MDW_DATABASE_URL: url } : {}) };
    if (!url) delete env.MDW_DATABASE_URL;
    // A person's terminal, whatever runs the tests: a CI runner sets CI=true, which is tried last.
    delete env.CI;
    // script(1) gives the command a terminal for stdin, stdout and stderr; stty gives it a size.
    const onTerminal = (command: string, extra: NodeJS.ProcessEnv = {}) => {
      const r = spawnSync('script', ['-qec', `stty cols 160 rows 50; ${path.join(repoRoot, 'bin', 'mdw')} ${command}`, '/dev/null'], { env: { ...env, ...extra }, encoding: 'utf8' });
      return { code: r.status, ...screen(r.stdout) };
    };
    const out = path.join(root, 'ingest.csv');
    const ok = onTerminal(`-v ingest demo --full --format csv > ${out}`);
    expect([ok.code, ok.cursorVisible]).toEqual([0, true]);
    // Only whole log lines are left: no step of the progress, no spinner.
    expect(ok.lines.filter((l) => !/^(debug|info|warn): /.test(l))).toEqual([]);
    expect(ok.lines.filter((l) => /reading 3 inputs|writing \d+ of \d+ partitions/.test(l))).toEqual([]);
    expect(ok.lines.slice(-2).map((l) => l.slice(0, 60))).toEqual([
      'info: demo: 752 records from 3 inputs; 0 stored, 747 already',
      'warn: 5 records quarantined (' + path.join(home, 'quarantine/ohlcv/source=demo/').slice(0, 31),
    ]);
    // stdout, a file here, holds the result alone.
    expect(readFileSync(out, 'utf8')).toMatch(/^job,batches,[a-z_,]+\ndemo,1,false,3,0,752,0,747,5,0,0,1,\S+\.ndjson\n$/);

    const dir = path.join(root, 'bad-layout');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'ZZZB.csv'), 'a,b\n1,2\n');
    writeFileSync(path.join(dir, 'bad.yml'), 'dataset: ohlcv\ngranularity: 1d\nsource: { name: bad, adapter: file, files: [ZZZB.csv] }\ntransform: yahoo\n');
    const failed = onTerminal(`ingest ${path.join(dir, 'bad.yml')}`);
    expect([failed.code, failed.cursorVisible, failed.lines]).toEqual([
      2,
      true,
      [`mdw: ${path.join(dir, 'ZZZB.csv')}: ZZZB.csv has no column "Date", "Open", "High", "Low", "Close", "Adj Close", "Volume" that transform "yahoo" reads (its columns: a, b). Is it in another layout?`],
    ]);

    const piped = await mdw('-v', 'ingest', 'demo', '--full', '--format', 'json');
    expect([piped.code, piped.stderr.includes('\x1b'), piped.stderr.split('\n').filter((l) => /reading 3 inputs|partitions$/.test(l))]).toEqual([
      0,
      false,
      ['debug: demo: reading 3 inputs', 'debug: demo: 752 records; writing 0 of 1 partitions'],
    ]);

    // A CI runner keeps what its terminal shows as a log: steps are debug lines there too, and
    // no spinner frame is left in it.
    const ci = onTerminal(`-v ingest demo --full --format csv > ${out}`, { CI: 'true' });
    expect([ci.code, ci.cursorVisible, ci.lines.filter((l) => /reading 3 inputs|partitions$/.test(l)), ci.lines.filter((l) => !/^(debug|info|warn): /.test(l))]).toEqual([
      0,
      true,
      ['debug: demo: reading 3 inputs', 'debug: demo: 752 records; writing 0 of 1 partitions'],
      [],
    ]);
  });

  test('a job given by path: the quarantine hint ingest prints is a command that lists the record', async () => {
    const { spawnSync } = await import('node:child_process');
    const env: NodeJS.ProcessEnv = { ...process.env, MDW_HOME: home, NODE_OPTIONS: '', ...(url ? { MDW_DATABASE_URL: url } : {}) };
    if (!url) delete env.MDW_DATABASE_URL;
    // The hint is run as printed, by a shell in the same folder, with mdw on the PATH.
    const bin = path.join(root, 'bin');
    mkdirSync(bin);
    symlinkSync(path.join(repoRoot, 'bin', 'mdw'), path.join(bin, 'mdw'));
    // As typed in the job's folder, and as an absolute path from another folder.
    for (const [folder, relative] of [['here', true], ['there', false]] as const) {
      const dir = path.join(root, folder);
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'ZZZT.csv'), 'Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,10,11,9,10.5,10.5,1000\n2024-01-03,10,9,11,10.5,10.5,1000\n');
      writeFileSync(path.join(dir, 'my-job.yml'), `dataset: ohlcv\ngranularity: 1d\nsource: { name: ${folder}, adapter: file, files: [ZZZT.csv] }\ntransform: yahoo\n`);
      const [cwd, arg] = relative ? [dir, './my-job.yml'] : [repoRoot, path.join(dir, 'my-job.yml')];
      const ingest = await runMdw(['--home', home, 'ingest', arg], { cwd, env: url ? { MDW_DATABASE_URL: url } : {} });
      expect(ingest.code).toBe(0);
      const hint = /see them with `([^`]+)`/.exec(ingest.stderr)?.[1];
      expect(hint).toBe(`mdw quarantine list ${arg}`);
      const r = spawnSync('bash', ['-c', `${hint} --format json`], { cwd, env: { ...env, PATH: `${bin}:${env.PATH}` }, encoding: 'utf8' });
      expect([r.status, r.stderr]).toEqual([0, '']);
      const records = JSON.parse(r.stdout) as Record<string, unknown>[];
      expect(records.map(({ id: _id, quarantined_at: _at, ...rest }) => rest)).toEqual([
        {
          job: 'my-job',
          source: folder,
          granularity: '1d',
          input: path.join(dir, 'ZZZT.csv'),
          record: 2,
          line: null,
          rules: 'ohlc_bracket',
          reason: 'ohlc_bracket: open 10.0 high 9.0 low 11.0 close 10.5: high < low, high < max(open, close), low > min(open, close)',
          state: 'open',
        },
      ]);
    }
  });
});

describe('queries over several sources', () => {
  let home2: string;
  let url2: string | undefined;
  let drop2: () => Promise<void>;
  const mdw2 = (...args: string[]) => runMdw(['--home', home2, ...args], { env: url2 ? { MDW_DATABASE_URL: url2 } : {} });

  beforeAll(async () => {
    home2 = path.join(root, 'two-sources');
    ({ url: url2, drop: drop2 } = await freshCatalog());
    expect((await mdw2('init', '--yes')).code).toBe(0);
    expect((await mdw2('ingest', 'demo')).code).toBe(0);
    // A second source of MSFT for two sessions, its volumes told apart from the demo's.
    const dir = path.join(root, 'mirror');
    mkdirSync(dir);
    const days = ['2023-12-28', '2023-12-29'].map((d) => ({ d, ...fixtureRow('MSFT', d) }));
    writeFileSync(path.join(dir, 'MSFT.csv'), ['Date,Open,High,Low,Close,Adj Close,Volume', ...days.map((r) => `${r.d},${r.open},${r.high},${r.low},${r.close},${r.close},1234`)].join('\n') + '\n');
    writeFileSync(path.join(dir, 'mirror.yml'), 'dataset: ohlcv\ngranularity: 1d\nsource: { name: mirror, adapter: file, files: [MSFT.csv] }\ntransform: yahoo\n');
    expect((await mdw2('ingest', path.join(dir, 'mirror.yml'))).code).toBe(0);
  });
  afterAll(async () => drop2());

  test('bars of one symbol from two sources come side by side with a source column, in the CLI and the library', async () => {
    const m = ['2023-12-28', '2023-12-29'].map((d) => fixtureRow('MSFT', d));
    const bar = (i: number, volume: number, source: string) => `MSFT,${['2023-12-28', '2023-12-29'][i]}T00:00:00Z,${m[i]!.open},${m[i]!.high},${m[i]!.low},${m[i]!.close},${volume},${source}`;
    const both = await mdw2('query', 'ohlcv', 'MSFT', '--from', '2023-12-28', '--to', '2023-12-29');
    expect(both.code).toBe(0);
    expect(both.stdout).toBe(
      ['symbol,ts,open,high,low,close,volume,source', bar(0, m[0]!.volume!, 'demo'), bar(0, 1234, 'mirror'), bar(1, m[1]!.volume!, 'demo'), bar(1, 1234, 'mirror')].join('\n') + '\n',
    );
    expect(both.stderr).toBe('info: rows from 2 sources (demo, mirror), told apart by the source column; --source picks one\n');
    // Asked for, the column stays where it was asked; one source needs none.
    expect((await mdw2('query', 'ohlcv', 'MSFT', '--from', '2023-12-29', '--columns', 'source,volume')).stdout).toBe(`source,volume\ndemo,${m[1]!.volume}\nmirror,1234\n`);
    expect((await mdw2('query', 'ohlcv', 'MSFT', '--from', '2023-12-29', '--columns', 'ts,volume', '--source', 'mirror')).stdout).toBe('ts,volume\n2023-12-29T00:00:00Z,1234\n');
    // The mirror's 2023 file holds no AAPL: AAPL is read from the demo alone, without the column.
    const aapl = await mdw2('query', 'ohlcv', 'AAPL', '--from', '2023-12-29');
    expect([aapl.stdout.split('\n')[0], aapl.stderr]).toEqual(['symbol,ts,open,high,low,close,volume', '']);

    const wh = await Warehouse.open({ home: home2, threads: 1 });
    try {
      const bars = await wh.ohlcv({ symbols: ['MSFT'], from: '2023-12-28', to: '2023-12-29', columns: ['ts', 'volume'] });
      expect([bars.names, bars.columns[1], bars.columns[2]]).toEqual([['ts', 'volume', 'source'], new Float64Array([m[0]!.volume!, 1234, m[1]!.volume!, 1234]), ['demo', 'mirror', 'demo', 'mirror']]);
      const one = await wh.ohlcv({ symbols: ['MSFT'], from: '2023-12-28', to: '2023-12-29', columns: ['ts', 'volume'], source: 'mirror' });
      expect([one.names, one.columns[1]]).toEqual([['ts', 'volume'], new Float64Array([1234, 1234])]);
    } finally {
      wh.close();
    }
  });

  test('a query that returns nothing names the asked symbols the lake lacks, with the nearest it holds; the output stays empty', async () => {
    const header = 'symbol,ts,open,high,low,close,volume\n';
    const typo = await mdw2('query', 'ohlcv', 'MSTF');
    expect([typo.code, typo.stdout, typo.stderr]).toEqual([0, header, 'warn: MSTF: the lake has no ohlcv data for it (any source or granularity); nearest: MSFT\n']);
    const two = await mdw2('query', 'ohlcv', 'APPL', 'msft', '-g', '1m');
    expect([two.code, two.stdout]).toEqual([0, header]);
    expect(two.stderr.split('\n')).toEqual([
      'warn: APPL: the lake has no ohlcv data for it (any source or granularity); nearest: AAPL',
      'warn: msft: no rows match the query; the lake holds it as 1d from demo, 1d from mirror',
      '',
    ]);
    const far = await mdw2('query', 'ohlcv', 'ZZZZ', '--format', 'json');
    expect([far.code, JSON.parse(far.stdout), far.stderr]).toEqual([
      0,
      [],
      'warn: ZZZZ: the lake has no ohlcv data for it (any source or granularity); none of its 3 symbols is near it (mdw status lists them)\n',
    ]);
    // The lake's symbols are read only when a query comes back empty.
    const read = /no rows: reading the symbols the lake holds/;
    expect(read.test((await mdw2('-v', 'query', 'ohlcv', 'MSTF')).stderr)).toBe(true);
    const found = await mdw2('-v', 'query', 'ohlcv', 'AAPL', 'MSTF', '--from', '2023-12-29');
    expect([found.stdout.split('\n').length, read.test(found.stderr)]).toEqual([3, false]);
  });
});

/** The cells of a table as printed for a terminal, row by row. */
function cells(table: string): string[][] {
  return table
    .split('\n')
    .filter((l) => l.startsWith('│'))
    .map((l) => l.split('│').slice(1, -1).map((c) => c.trim()));
}

/** Arrow and Parquet are binary: collect stdout as bytes. */
async function runBinary(args: string[]): Promise<Uint8Array> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const env = { ...process.env, NODE_OPTIONS: '', ...(url ? { MDW_DATABASE_URL: url } : {}) };
    if (!url) delete env.MDW_DATABASE_URL;
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'mdw'), '--home', home, ...args], { env });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.on('error', reject);
    child.on('close', () => resolve(new Uint8Array(Buffer.concat(chunks))));
  });
}
