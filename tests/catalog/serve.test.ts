import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import SwaggerParser from '@apidevtools/swagger-parser';
import autocannon from 'autocannon';
import { calendars } from '../../src/calendar/registry.js';
import { createApiServer, type ApiServer } from '../../src/serve/api-server.js';
import { DuckSession } from '../../src/lake/duckdb.js';
import { copyConfigs, freshCatalog, lakeHashes, removeDir, repoRoot, runMdw, tempDir, testContext } from '../support/helpers.js';
import type { Context } from '../../src/context.js';

/**
 * mdw serve over real HTTP on loopback: every route's values against `mdw query` (or `mdw status`,
 * `mdw audit`) of the same warehouse, its refusals, the token, and the OpenAPI document.
 */
const server = Boolean(process.env.MDW_TEST_DATABASE_URL);
let root: string;
let home: string;
let configs: string;
let url: string | undefined;
let drop: () => Promise<void>;
let ctx: Context;
let api: ApiServer;
let base: string;
const env = () => (url ? { MDW_DATABASE_URL: url } : {});
const mdw = (...args: string[]) => runMdw(['--home', home, '--config-dir', configs, ...args], { env: env() });
const get = (route: string, headers: Record<string, string> = {}) => fetch(`${base}${route}`, { headers });

/** Splits of ACME in a zipline csvdir file (date,open,high,low,close,volume,dividend,split), written here. */
function writeSplits(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'ACME.csv'),
    'date,open,high,low,close,volume,dividend,split\n2024-03-01,10,11,9,10,1000,0.0,1.0\n2024-03-04,10,11,9,10,1000,0.0,4.0\n2024-03-05,10,11,9,10,1000,0.0,1.0\n2024-06-03,10,11,9,10,1000,0.0,2.0\n',
  );
  writeFileSync(
    path.join(configs, 'jobs', 'acme-splits.yml'),
    `dataset: corporate_actions\ngranularity: 1d\nsource: { name: testca, adapter: file, files: ['${dir}/*.csv'] }\ntransform: zipline-csvdir-splits\n`,
  );
}

/** Two versions of ACME's listing record and one of ZZZ, as a file job of tickers (a transform written here). */
function writeListings(dir: string): void {
  const records = [
    { symbol: 'ACME', asOf: '2024-01-02', name: 'Acme Corp', active: true },
    { symbol: 'ACME', asOf: '2024-06-03', name: 'Acme Corp', active: false },
    { symbol: 'ZZZ', asOf: '2024-03-01', name: 'Zzz Inc', active: true },
  ];
  writeFileSync(path.join(dir, 'listings.json'), JSON.stringify(records));
  writeFileSync(
    path.join(configs, 'transforms', 'test-listings.yml'),
    "dataset: tickers\nread: { format: json, records: $ }\ncolumns:\n  as_of: { from: asOf, date: '%Y-%m-%d' }\n  name: { from: name }\n  active: { from: active }\nsymbol: { from: symbol, case: keep }\n",
  );
  writeFileSync(path.join(configs, 'jobs', 'test-listings.yml'), `dataset: tickers\ngranularity: 1d\nsource: { name: listings, adapter: file, files: [${path.join(dir, 'listings.json')}] }\ntransform: test-listings\n`);
}

beforeAll(async () => {
  root = tempDir('mdw-serve-');
  home = path.join(root, 'warehouse');
  configs = copyConfigs(root);
  ({ url, drop } = await freshCatalog());
  expect((await mdw('init', '--yes')).code).toBe(0);
  writeSplits(path.join(root, 'splits'));
  writeListings(root);
  for (const job of ['demo', 'demo-minute', 'acme-splits', 'test-listings']) expect((await mdw('ingest', job)).code).toBe(0);
  expect((await mdw('audit', 'demo', '--format', 'json')).code).toBe(0);
  ctx = testContext({ home, databaseUrl: url, configDir: configs });
  api = await createApiServer({ settings: ctx.settings, paths: ctx.paths, logger: ctx.logger, clock: ctx.clock, duck: await ctx.duck(), connections: 2 });
  base = await api.listen('127.0.0.1', 0);
});

afterAll(async () => {
  await api?.close();
  await ctx?.close();
  await drop();
  removeDir(root);
});

describe(`mdw serve (${server ? 'Postgres server' : 'embedded catalog'})`, () => {
  test('/historical answers what mdw query ohlcv prints, in every format', async () => {
    const q = 'start=2023-12-20&end=2023-12-29';
    const cli = (format: string) => mdw('query', 'ohlcv', 'AAPL', '--from', '2023-12-20', '--to', '2023-12-29', '--format', format);
    const json = await get(`/api/v1/historical/AAPL?${q}`);
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(json.headers.get('x-mdw-rows')).toBe('7');
    const rows = (await json.json()) as Record<string, unknown>[];
    expect(rows).toEqual(JSON.parse((await cli('json')).stdout));
    expect(rows[0]).toEqual({ symbol: 'AAPL', ts: '2023-12-20T00:00:00Z', open: 44.84, high: 46.18, low: 44.63, close: 45.42, volume: 1804987 });

    const csv = await get(`/api/v1/historical/AAPL?${q}`, { accept: 'text/csv' });
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(await csv.text()).toBe((await cli('csv')).stdout);
    const ndjson = await get(`/api/v1/historical/AAPL?${q}&format=ndjson`);
    expect(await ndjson.text()).toBe((await cli('ndjson')).stdout);

    const arrow = await get(`/api/v1/historical/AAPL?${q}`, { accept: 'application/vnd.apache.arrow.stream' });
    expect(arrow.headers.get('content-type')).toBe('application/vnd.apache.arrow.stream');
    const table = tableFromIPC(new Uint8Array(await arrow.arrayBuffer()));
    expect(table.numRows).toBe(7);
    expect(String(table.schema.fields.find((f) => f.name === 'ts')!.type)).toBe('Timestamp<MICROSECOND, UTC>');
    expect(table.getChild('close')!.toArray()).toEqual(Float64Array.from(rows.map((r) => r.close as number)));

    // Parquet: what DuckDB reads back from the answer is the CLI's rows.
    const parquet = Buffer.from(await (await get(`/api/v1/historical/AAPL?${q}&format=parquet`)).arrayBuffer());
    const file = path.join(root, 'answer.parquet');
    writeFileSync(file, parquet);
    const duck = await DuckSession.open({ threads: 1 });
    try {
      const back = await duck.all<{ ts: string; close: number }>(`SELECT strftime(ts, '%Y-%m-%dT%H:%M:%SZ') AS ts, close FROM read_parquet('${file}')`);
      expect(back).toEqual(rows.map((r) => ({ ts: r.ts, close: r.close })));
    } finally {
      duck.close();
    }
  });

  test('/historical takes the CLI\'s parameters: columns, limit, min_quality, validated_only, resampling', async () => {
    const cols = await (await get('/api/v1/historical/AAPL?start=2023-06-01&end=2023-06-30&columns=ts,close,quality&validated_only=true')).json();
    expect(cols).toEqual(JSON.parse((await mdw('query', 'ohlcv', 'AAPL', '--from', '2023-06-01', '--to', '2023-06-30', '--columns', 'ts,close,quality', '--min-quality', '0.85', '--format', 'json')).stdout));
    expect((cols as unknown[]).length).toBeGreaterThan(10);
    const limited = (await (await get('/api/v1/historical/MSFT?limit=3&columns=ts')).json()) as unknown[];
    expect(limited).toEqual([{ ts: '2023-01-03T00:00:00Z' }, { ts: '2023-01-04T00:00:00Z' }, { ts: '2023-01-05T00:00:00Z' }]);

    // Hourly bars of the stored minutes, on XNYS sessions, as the CLI computes them.
    const hourly = await get('/api/v1/historical/ACME?granularity=1h&start=2024-03-08&end=2024-03-08&format=csv');
    expect(hourly.headers.get('x-mdw-resampled-from')).toBe('1m XNYS');
    const cliHourly = await mdw('query', 'ohlcv', 'ACME', '-g', '1h', '--from', '2024-03-08', '--to', '2024-03-08', '--format', 'csv');
    expect(await hourly.text()).toBe(cliHourly.stdout);
    expect(cliHourly.stdout.split('\n')[1]).toMatch(/^ACME,2024-03-08T14:00:00Z,/);
  });

  test('/prices answers several symbols as mdw query ohlcv A B, and 404 names a symbol the lake lacks', async () => {
    const r = await get('/api/v1/prices?symbols=AAPL,MSFT&start=2023-12-27&end=2023-12-28&format=csv');
    expect(r.status).toBe(200);
    const csv = await r.text();
    expect(csv).toBe((await mdw('query', 'ohlcv', 'AAPL', 'MSFT', '--from', '2023-12-27', '--to', '2023-12-28', '--format', 'csv')).stdout);
    expect(csv.split('\n').filter(Boolean).map((l) => l.split(',').slice(0, 2).join(','))).toEqual([
      'symbol,ts',
      'AAPL,2023-12-27T00:00:00Z',
      'AAPL,2023-12-28T00:00:00Z',
      'MSFT,2023-12-27T00:00:00Z',
      'MSFT,2023-12-28T00:00:00Z',
    ]);
    const missing = await get('/api/v1/prices?symbols=AAPL,MSTF');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: 'the lake has no ohlcv bars of MSTF (nearest: MSFT)',
      parameter: 'symbols',
      missing: [{ symbol: 'MSTF', nearest: ['MSFT'] }],
    });
    const one = await get('/api/v1/historical/AAPX');
    expect(one.status).toBe(404);
    expect(((await one.json()) as { missing: unknown }).missing).toEqual([{ symbol: 'AAPX', nearest: ['AAPL'] }]);
    // A held symbol with nothing in the window is an empty answer, not a 404.
    const empty = await get('/api/v1/historical/AAPL?start=2020-01-01&end=2020-01-31&format=csv');
    expect([empty.status, await empty.text()]).toEqual([200, 'symbol,ts,open,high,low,close,volume\n']);
  });

  test('bad parameters get 400 naming the parameter, never a stack, and change nothing', async () => {
    const before = lakeHashes(ctx.paths.lake);
    const cases: [string, string][] = [
      ["/api/v1/historical/AAPL';%20drop%20table%20x;--", 'symbol'],
      ['/api/v1/historical/..%2F..%2Fetc%2Fpasswd', 'symbol'],
      ['/api/v1/historical/AAPL%00', 'symbol'],
      ["/api/v1/historical/AAPL?start=2024-01-01';drop", 'start'],
      ['/api/v1/historical/AAPL?end=2024-02-30', 'end'],
      ['/api/v1/historical/AAPL?start=2024-02-01&end=2024-01-01', 'end'],
      ['/api/v1/historical/AAPL?granularity=1x', 'granularity'],
      ['/api/v1/historical/AAPL?source=..%2Fdemo', 'source'],
      ['/api/v1/historical/AAPL?columns=close);drop', 'columns'],
      ['/api/v1/historical/AAPL?columns=ts,nope', 'columns'],
      ['/api/v1/historical/AAPL?adjust=both', 'adjust'],
      ['/api/v1/historical/AAPL?adjust=splits', 'adjust'],
      ['/api/v1/historical/AAPL?min_quality=2', 'min_quality'],
      ['/api/v1/historical/AAPL?limit=-1', 'limit'],
      ['/api/v1/historical/AAPL?format=xml', 'format'],
      ['/api/v1/historical/AAPL?strat=2024-01-01', 'strat'],
      ['/api/v1/prices', 'symbols'],
      ['/api/v1/prices?symbols=AAPL,%27%3B%20drop', 'symbols'],
      ['/api/v1/tickers?as_of=yesterday', 'as_of'],
    ];
    for (const [route, parameter] of cases) {
      const r = await get(route);
      const body = (await r.json()) as { error: string; parameter: string };
      expect({ route, status: r.status, parameter: body.parameter }).toEqual({ route, status: 400, parameter });
      expect(body.error).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
    }
    expect(((await (await get('/api/v1/historical/AAPL?adjust=splits')).json()) as { error: string }).error).toBe(
      'adjust: demo has no adjustment log (lake/curated/adjustments/source=demo): run `mdw curate` with a curate job whose bars are demo\'s (see `mdw curate --help`), or leave adjust out',
    );
    expect(lakeHashes(ctx.paths.lake)).toEqual(before);
    expect((await get('/api/v1/historical/AAPL?start=2023-12-29&format=csv')).status).toBe(200);
  });

  test('/status is mdw status plus validation rates and staleness; /health reports the last runs', async () => {
    const status = (await (await get('/api/v1/status?dataset=ohlcv')).json()) as {
      series: Record<string, unknown>[];
      validation: Record<string, unknown>[];
      stale: Record<string, unknown>[];
    };
    const cli = JSON.parse((await mdw('status', '--dataset', 'ohlcv', '--format', 'json')).stdout) as Record<string, unknown>[];
    const key = (r: Record<string, unknown>) => `${r.source}/${r.granularity}/${r.symbol}:${r.rows}`;
    expect(status.series.map(key)).toEqual(cli.map(key));
    expect(status.series.find((s) => s.symbol === 'AAPL')).toMatchObject({ dataset: 'ohlcv', source: 'demo', granularity: '1d', rows: 246, first_ts: '2023-01-03T00:00:00.000Z', last_ts: '2023-12-29T00:00:00.000Z' });
    const demo = status.validation.find((v) => v.source === 'demo')!;
    const counted = JSON.parse((await mdw('query', 'sql', "select count(*) as rows, count(*) filter (where quality >= 0.85) as validated from ohlcv where source = 'demo'", '--format', 'json')).stdout)[0];
    expect(demo).toMatchObject({ dataset: 'ohlcv', granularity: '1d', rows: counted.rows, validated: counted.validated, threshold: 0.85 });
    expect(status.stale.map((s) => s.symbol)).toEqual(status.series.filter((s) => (s.sessions_behind as number) > 0).map((s) => s.symbol));

    const health = await get('/health');
    expect(health.status).toBe(200);
    const h = (await health.json()) as { status: string; lake: unknown; catalog: { ok: boolean }; jobs: { job: string; status: string }[] };
    expect([h.status, h.lake, h.catalog.ok]).toEqual(['ok', { ok: true }, true]);
    expect(h.jobs.map((j) => `${j.job}:${j.status}`).sort()).toEqual(['acme-splits:ok', 'demo-minute:ok', 'demo:ok', 'test-listings:ok']);
  });

  test('/audit is the ledger the last mdw audit wrote; the dataset routes read corporate actions and tickers as of a date', async () => {
    const audit = (await (await get('/api/v1/audit?source=demo')).json()) as { summary: Record<string, unknown>[]; holes: Record<string, unknown>[] };
    const ledger = JSON.parse((await mdw('audit', 'demo', '--section', 'ledger', '--format', 'json')).stdout) as Record<string, unknown>[];
    const sessions = (status: string) => ledger.filter((l) => l.status === status).reduce((n, l) => n + (l.sessions as number), 0);
    expect(audit.summary).toHaveLength(1);
    expect(audit.summary[0]).toMatchObject({ dataset: 'ohlcv', source: 'demo', granularity: '1d', green: sessions('GREEN'), amber: sessions('AMBER'), red: sessions('RED') });
    expect(audit.holes.map((h) => `${h.symbol} ${h.status} ${h.first_session}..${h.last_session}`)).toEqual(
      ledger.filter((l) => l.status === 'AMBER' || l.status === 'RED').map((l) => `${l.symbol} ${l.status} ${l.first_session}..${l.last_session}`),
    );
    expect(audit.holes.length).toBeGreaterThan(0);

    const actions = (await (await get('/api/v1/corporate_actions?symbols=ACME&start=2024-01-01')).json()) as Record<string, unknown>[];
    expect(actions.map((a) => [a.symbol, a.ex_date, a.action, a.split_from, a.split_to, a.source])).toEqual([
      ['ACME', '2024-03-04T00:00:00Z', 'split', 1, 4, 'testca'],
      ['ACME', '2024-06-03T00:00:00Z', 'split', 1, 2, 'testca'],
    ]);
    const sql = JSON.parse((await mdw('query', 'sql', "select ex_date, split_to from corporate_actions where symbol = 'ACME' order by ex_date", '--format', 'json')).stdout);
    expect(actions.map((a) => ({ ex_date: a.ex_date, split_to: a.split_to }))).toEqual(sql);
    const windowed = (await (await get('/api/v1/corporate_actions?symbols=ACME&end=2024-05-31&format=csv')).text()).split('\n');
    expect(windowed.filter(Boolean)).toHaveLength(2);

    // Tickers as of a date: each symbol's newest record on or before it.
    const asOf = async (date: string) =>
      ((await (await get(`/api/v1/tickers?as_of=${date}`)).json()) as Record<string, unknown>[]).map((t) => `${t.symbol} ${t.as_of} ${t.active}`);
    expect(await asOf('2024-01-01')).toEqual([]);
    expect(await asOf('2024-03-01')).toEqual(['ACME 2024-01-02T00:00:00Z true', 'ZZZ 2024-03-01T00:00:00Z true']);
    expect(await asOf('2024-06-03')).toEqual(['ACME 2024-06-03T00:00:00Z false', 'ZZZ 2024-03-01T00:00:00Z true']);
    expect((await (await get('/api/v1/tickers?symbols=ACME&format=csv')).text()).split('\n').filter(Boolean)).toHaveLength(3);
  });

  test('the OpenAPI document validates and lists every route and parameter; /docs shows them', async () => {
    const doc = (await (await get('/openapi.json')).json()) as { paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>> };
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
    expect(Object.keys(doc.paths).sort()).toEqual(
      ['/health', '/api/v1/status', '/api/v1/historical/{symbol}', '/api/v1/prices', '/api/v1/audit', '/api/v1/corporate_actions', '/api/v1/crypto_market', '/api/v1/tickers', '/api/v1/adjustments', '/openapi.json', '/docs'].sort(),
    );
    const names = (route: string) => (doc.paths[route]!.get!.parameters ?? []).map((p) => `${p.in}:${p.name}`).sort();
    const bar = ['start', 'end', 'granularity', 'source', 'adjust', 'gold', 'min_quality', 'validated_only', 'columns', 'limit', 'calendar', 'extended_hours', 'format'].map((n) => `query:${n}`);
    expect(names('/api/v1/historical/{symbol}')).toEqual([...bar, 'path:symbol'].sort());
    expect(names('/api/v1/prices')).toEqual([...bar, 'query:symbols'].sort());
    expect(names('/api/v1/tickers')).toEqual(['as_of', 'end', 'format', 'limit', 'source', 'start', 'symbols'].map((n) => `query:${n}`));
    const page = await (await get('/docs')).text();
    for (const route of Object.keys(doc.paths)) expect(page).toContain(`GET ${route}`);
    expect(page).toContain('validated_only');
  });

  test('mdw serve as a process: a token guards every route but /health, and SIGTERM stops it cleanly', async () => {
    const token = 'tok-' + Math.random().toString(36).slice(2);
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'mdw'), '--home', home, 'serve', '--port', '0'], {
      env: { ...process.env, NODE_OPTIONS: '', MDW_API_TOKEN: token, ...env() },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const address = await new Promise<string>((resolve, reject) => {
      const look = () => {
        const m = /listening on (http:\/\/[^\s]+)/.exec(stderr);
        if (m) resolve(m[1]!);
      };
      child.stderr.on('data', look);
      child.on('close', () => reject(new Error(`mdw serve exited: ${stderr}`)));
    });
    try {
      const route = `${address}/api/v1/historical/AAPL?start=2023-12-29`;
      const none = await fetch(route);
      expect([none.status, none.headers.get('www-authenticate')]).toEqual([401, 'Bearer realm="mdw"']);
      expect((await none.json()) as unknown).toEqual({ error: 'this server wants Authorization: Bearer <MDW_API_TOKEN>' });
      const wrong = await fetch(route, { headers: { authorization: `Bearer ${token}x` } });
      expect(wrong.status).toBe(401);
      expect((await fetch(`${address}/openapi.json`)).status).toBe(401);
      const right = await fetch(route, { headers: { authorization: `Bearer ${token}` } });
      expect(right.status).toBe(200);
      expect(((await right.json()) as { close: number }[])[0]!.close).toBe(45.65);
      expect((await fetch(`${address}/health`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain('GET /api/v1/historical/AAPL?start=2023-12-29 401');
    expect(stderr).toContain('GET /api/v1/historical/AAPL?start=2023-12-29 200');
    expect(stderr).not.toContain(token);
  });
});

describe('mdw serve under load while an ingest rewrites partitions', () => {
  const days = calendars.XNYS.sessions('2018-01-01', '2023-12-31').map((s) => s.date);
  const symbols = 3;
  /** Daily bars of M0..M2; every volume carries the variant (a rewrite of every partition). */
  const writeMoving = (dir: string, variant: number) => {
    mkdirSync(dir, { recursive: true });
    for (let k = 0; k < symbols; k++) {
      const lines = days.map((d, i) => {
        const p = (30 + k + Math.cos(i / 30) * 4).toFixed(2);
        return `${d},${p},${(Number(p) + 1).toFixed(2)},${(Number(p) - 1).toFixed(2)},${p},${p},${1000 * variant + ((i + k) % 700)}`;
      });
      writeFileSync(path.join(dir, `M${k}.csv`), ['Date,Open,High,Low,Close,Adj Close,Volume', ...lines].join('\n') + '\n');
    }
  };

  test('200 concurrent connections get whole answers: no error, no half-written or doubled partition', async () => {
    const dir = path.join(root, 'moving');
    writeMoving(dir, 1);
    writeFileSync(path.join(configs, 'jobs', 'moving.yml'), `dataset: ohlcv\ngranularity: 1d\ncalendar: XNYS\nsource: { name: moving, adapter: file, files: ['${dir}/*.csv'] }\ntransform: yahoo\n`);
    expect((await mdw('ingest', 'moving')).code).toBe(0);
    const problems: string[] = [];
    let answers = 0;
    let duringWrites = 0;
    let writing = true;
    /** One answer: every session once, in order, and each year (one partition file) of one variant. */
    const check = (status: number, body: string) => {
      answers++;
      if (writing) duringWrites++;
      if (status !== 200) return void problems.push(`status ${status}: ${body.slice(0, 200)}`);
      const lines = body.split('\n').filter(Boolean).slice(1);
      const ts = lines.map((l) => l.split(',')[0]!.slice(0, 10));
      if (ts.join() !== days.join()) return void problems.push(`${lines.length} rows, not the ${days.length} sessions once each`);
      const variants = new Map<string, Set<number>>();
      for (const l of lines) {
        const [t, v] = l.split(',');
        const year = t!.slice(0, 4);
        variants.set(year, (variants.get(year) ?? new Set()).add(Math.floor(Number(v) / 1000)));
      }
      for (const [year, v] of variants) if (v.size !== 1) problems.push(`${year} mixes variants ${[...v].join(',')}`);
    };
    const load = autocannon({
      url: base,
      connections: 200,
      duration: 3600,
      // A loaded machine answers slowly; no answer is abandoned for it.
      timeout: 600,
      requests: [{ method: 'GET', path: '/api/v1/historical/M1?source=moving&columns=ts,volume&format=csv', onResponse: (status, body) => check(status, String(body)) }],
    });
    const rewrites = 3;
    try {
      // Answers flow before the first rewrite starts, so the rewrites happen under load.
      while (answers < 50) await new Promise((r) => setTimeout(r, 50));
      for (let i = 0; i < rewrites; i++) {
        writeMoving(dir, 2 + i);
        const r = await mdw('ingest', 'moving', '--format', 'json');
        expect(r.code).toBe(0);
        expect(JSON.parse(r.stdout)[0]).toMatchObject({ stored: symbols * days.length });
      }
    } finally {
      writing = false;
      load.stop();
    }
    const result = await load;
    console.info(`serve under load: ${answers} answers (${duringWrites} during ${rewrites} rewrites of every partition), ${problems.length} wrong`);
    expect({ errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx, problems: problems.slice(0, 5) }).toEqual({ errors: 0, timeouts: 0, non2xx: 0, problems: [] });
    expect(duringWrites).toBeGreaterThan(rewrites);
    // The last answer is the last rewrite's.
    const last = await (await get('/api/v1/historical/M1?source=moving&columns=volume&limit=1&format=csv')).text();
    expect(Math.floor(Number(last.split('\n')[1]) / 1000)).toBe(1 + rewrites);
  });
});
