import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { copyConfigs, freshCatalog, removeDir, runMdw, tempDir, testContext, type CliResult } from '../support/helpers.js';
import { VendorSim } from '../support/vendor-sim.js';
import { calendars } from '../../src/calendar/registry.js';

/**
 * Issue 11, item 7, "the secret canary": keys of a value found nowhere else travel through a job
 * whose vendor echoes them in its pages, points next_url at another host and redirects to one.
 * After each run no file under MDW_HOME (raw pages unzipped, logs, the embedded catalog), no
 * output and no catalog row holds a key; the other host never saw one and none of its rows
 * was stored; a redirect within the vendor's own host is followed.
 */
// Characters a base64 key has, which a URL carries encoded.
const polygonKey = `canary+polygon/${randomBytes(12).toString('hex')}=`;
const alpacaKeys = { id: `canary-id-${randomBytes(8).toString('hex')}`, secret: `canary-secret-${randomBytes(12).toString('hex')}` };
const coingeckoKey = `CG-canary-${randomBytes(12).toString('hex')}`;
// Alpha Vantage's key travels in the query string, where + / = are sent encoded.
const avKey = `canary+av/${randomBytes(10).toString('hex')}=`;
const secrets = [polygonKey, alpacaKeys.id, alpacaKeys.secret, coingeckoKey, avKey].flatMap((k) => [k, encodeURIComponent(k)]);

let root: string;
let configs: string;
let sim: VendorSim;
/** Another host: its prices are 1000 above the vendor's, so a row of it would show. */
let foreign: VendorSim;
const drops: (() => Promise<void>)[] = [];
let n = 0;

beforeAll(async () => {
  root = tempDir();
  configs = copyConfigs(root);
  sim = await new VendorSim().start();
  sim.key = polygonKey;
  sim.alpacaKeys = alpacaKeys;
  sim.vendorKeys = { coingecko: coingeckoKey };
  sim.vendorKeys['alphavantage'] = avKey;
  foreign = await new VendorSim().start();
  foreign.priceShift = 1000;
  // The simulator answers in milliseconds; a timeout a loaded machine could hit would only retry.
  writeFileSync(
    path.join(configs, 'endpoints.yml'),
    'providers:\n' +
      '  polygon:\n    base_url: https://api.polygon.io\n    rpm: 60000\n    daily_budget: 100000\n    timeout_ms: 120000\n' +
      '    auth: { kind: bearer, env: POLYGON_API_KEY }\n' +
      '  alpaca:\n    base_url: https://data.alpaca.markets\n    rpm: 60000\n    daily_budget: 100000\n    timeout_ms: 120000\n' +
      '    auth: { kind: headers, env: { APCA-API-KEY-ID: ALPACA_KEY_ID, APCA-API-SECRET-KEY: ALPACA_SECRET_KEY } }\n' +
      '  coingecko:\n    base_url: https://api.coingecko.com/api/v3\n    rpm: 60000\n    daily_budget: 100000\n    timeout_ms: 120000\n' +
      '    auth: { kind: headers, env: { x-cg-demo-api-key: COINGECKO_API_KEY }, optional: true }\n' +
      '  alphavantage:\n    base_url: https://www.alphavantage.co\n    rpm: 60000\n    daily_budget: 100000\n    timeout_ms: 120000\n' +
      '    auth: { kind: query, param: apikey, env: ALPHAVANTAGE_API_KEY }\n',
  );
  writeFileSync(
    path.join(configs, 'jobs', 'cg.yml'),
    'dataset: crypto_market\ngranularity: 1h\nsource: { name: cg, adapter: coingecko, endpoint: market_chart, coins: { BTC: bitcoin, ETH: ethereum } }\nsymbols: [BTC, ETH]\nwindow: { from: 2024-03-05, to: 2024-03-09 }\ntransform: coingecko-market-chart\n',
  );
  const job = 'dataset: ohlcv\ngranularity: 1d\ncalendar: XNYS\nsymbols: [AAPL, MSFT]\n';
  writeFileSync(path.join(configs, 'jobs', 'poly.yml'), `${job}source: { name: poly, adapter: polygon }\nwindow: { from: 2023-01-01, to: 2024-12-31 }\ntransform: polygon-aggs\n`);
  writeFileSync(path.join(configs, 'jobs', 'avd.yml'), `${job}source: { name: avd, adapter: alphavantage }\nwindow: { from: 2024-01-01, to: 2024-03-28 }\ntransform: alphavantage-daily\n`);
  writeFileSync(path.join(configs, 'jobs', 'alp.yml'), `${job}source: { name: alp, adapter: alpaca }\nwindow: { from: 2024-01-01, to: 2024-06-30 }\ntransform: alpaca-bars\n`);
});

afterAll(async () => {
  await sim.stop();
  await foreign.stop();
  for (const d of drops) await d();
  removeDir(root);
});

beforeEach(() => {
  for (const s of [sim, foreign]) {
    s.requests.length = 0;
    s.nextUrlBase = null;
    s.redirect = null;
    s.echoCredentials = false;
  }
});

interface Run {
  readonly home: string;
  readonly url: string | undefined;
  readonly result: CliResult;
}

/** A fresh warehouse (its own catalog on a server), then `mdw ingest <job>` as a user runs it. */
async function ingest(job: string): Promise<Run> {
  const home = path.join(root, `home-${++n}`);
  const own = await freshCatalog();
  drops.push(own.drop);
  const env = {
    MDW_POLYGON_URL: sim.url,
    MDW_ALPACA_URL: sim.url,
    MDW_COINGECKO_URL: `${sim.url}/api/v3`,
    COINGECKO_API_KEY: coingeckoKey,
    MDW_ALPHAVANTAGE_URL: sim.url,
    ALPHAVANTAGE_API_KEY: avKey,
    POLYGON_API_KEY: polygonKey,
    ALPACA_KEY_ID: alpacaKeys.id,
    ALPACA_SECRET_KEY: alpacaKeys.secret,
    ...(own.url ? { MDW_DATABASE_URL: own.url } : {}),
  };
  expect((await runMdw(['--home', home, 'init', '--yes'], { env })).code).toBe(0);
  const result = await runMdw(['--home', home, '--config-dir', configs, 'ingest', job, '--format', 'json'], { env });
  return { home, url: own.url, result };
}

/** Every place a key could have been written: files under MDW_HOME (gunzipped), the run's output, every catalog row. */
async function leaks(run: Run): Promise<string[]> {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const bytes = readFileSync(p);
        const text = p.endsWith('.gz') ? gunzipSync(bytes).toString('latin1') : bytes.toString('latin1');
        for (const s of secrets) if (text.includes(s)) found.push(`file ${path.relative(run.home, p)}`);
      }
    }
  };
  walk(run.home);
  for (const s of secrets) if (run.result.stdout.includes(s) || run.result.stderr.includes(s)) found.push('output');
  const ctx = testContext({ home: run.home, databaseUrl: run.url, configDir: configs });
  try {
    const { sql } = await ctx.catalog();
    const tables = await sql<{ name: string }[]>`select table_name as name from information_schema.tables where table_schema = 'mdw' order by 1`;
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['ingest_run', 'ingest_log', 'raw_page', 'quarantine_record', 'validation_summary', 'lineage_item', 'batch']));
    for (const { name } of tables) {
      for (const s of secrets) {
        const [row] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql('mdw')}.${sql(name)} t where t::text like ${`%${s}%`}`;
        if (row!.n > 0) found.push(`catalog mdw.${name}`);
      }
    }
  } finally {
    await ctx.close();
  }
  return [...new Set(found)];
}

/** The closes stored for a source, and how many came from the other host (1000 above). */
async function stored(run: Run, source: string): Promise<{ rows: number; foreign: number }> {
  const dir = path.join(run.home, 'lake', 'ohlcv', `source=${source}`);
  if (!existsSync(dir)) return { rows: 0, foreign: 0 };
  const ctx = testContext({ home: run.home, databaseUrl: run.url, configDir: configs });
  try {
    const duck = await ctx.duck();
    const [r] = await duck.all<{ rows: number; foreign: number }>(`SELECT count(*) AS rows, count(*) FILTER (close >= 1000) AS foreign FROM read_parquet('${dir}/**/*.parquet')`);
    return r!;
  } finally {
    await ctx.close();
  }
}

/** Rows per rule in the batches' validation_summary of kind 'input'. */
async function inputFindings(run: Run): Promise<Record<string, number>> {
  const ctx = testContext({ home: run.home, databaseUrl: run.url, configDir: configs });
  try {
    const { sql } = await ctx.catalog();
    const rows = await sql<{ rule: string; rows: number }[]>`select rule, sum(rows)::int as rows from mdw.validation_summary where kind = 'input' group by rule order by rule`;
    return Object.fromEntries(rows.map((r) => [r.rule, r.rows]));
  } finally {
    await ctx.close();
  }
}

/** Requests the other host received that carried a key, in a header or the URL. */
function keysSentAbroad(): number {
  return foreign.requests.filter((r) => secrets.some((s) => JSON.stringify(r.headers).includes(s) || r.url.includes(s))).length;
}

describe('the secret canary', () => {
  test('polygon pages that echo the key (as sent and URL-encoded) land with it replaced, and the batch counts each', async () => {
    sim.echoCredentials = true;
    const run = await ingest('poly');
    expect([run.result.code, run.result.stderr.match(/warn: polygon .*: the response held 2 polygon keys, replaced by \*\*\* before it was landed$/gm)?.length]).toEqual([0, 12]);
    expect(await stored(run, 'poly')).toEqual({ rows: 1004, foreign: 0 });
    expect(await inputFindings(run)).toEqual({ response_secret: 24 });
    // The echo is still there, without the key.
    const page = readdirSync(path.join(run.home, 'lake/raw/source=poly/dataset=ohlcv'), { recursive: true }).find((f) => String(f).endsWith('.json.gz'))!;
    expect(JSON.parse(gunzipSync(readFileSync(path.join(run.home, 'lake/raw/source=poly/dataset=ohlcv', String(page)))).toString()).request_echo).toEqual({ authorization: 'Bearer ***', url: '?apiKey=***' });
    expect(await leaks(run)).toEqual([]);
  });

  test('alpaca pages that echo both keys land with both replaced', async () => {
    sim.echoCredentials = true;
    const run = await ingest('alp');
    expect(run.result.code).toBe(0);
    expect(await stored(run, 'alp')).toEqual({ rows: 248, foreign: 0 });
    expect(await inputFindings(run)).toEqual({ response_secret: 6 });
    expect(await leaks(run)).toEqual([]);
  });

  test('coingecko pages that echo the optional key it was sent (x-cg-demo-api-key) land with it replaced', async () => {
    sim.echoCredentials = true;
    const run = await ingest('cg');
    expect(run.result.code).toBe(0);
    expect(sim.requests.filter((r) => r.headers['x-cg-demo-api-key'] === coingeckoKey)).toHaveLength(2);
    expect(await inputFindings(run)).toEqual({ response_secret: 2 });
    expect(await leaks(run)).toEqual([]);
  });

  test('a next_url at another host is refused, naming both hosts: the other host gets no request and no row of it is stored', async () => {
    sim.nextUrlBase = foreign.url;
    const run = await ingest('poly');
    expect(run.result.code).toBe(1);
    expect(run.result.stderr).toMatch(
      new RegExp(`^mdw: polygon /v2/aggs/ticker/AAPL/[^ ]+: next_url points at ${foreign.url.replace(/\./g, '\\.')}, another host than the configured ${sim.url.replace(/\./g, '\\.')}: not followed, the key goes only there\n$`),
    );
    expect([foreign.requests.length, keysSentAbroad()]).toEqual([0, 0]);
    expect((await stored(run, 'poly')).foreign).toBe(0);
    expect(await leaks(run)).toEqual([]);
  });

  test('a redirect to another host is refused, naming both hosts, for a bearer key and for keys in headers alike', async () => {
    for (const [job, match] of [['poly', /\/v2\/aggs\//], ['alp', /\/v2\/stocks\/bars/]] as const) {
      sim.redirect = { to: foreign.url, match };
      foreign.requests.length = 0;
      const run = await ingest(job);
      expect([job, run.result.code]).toEqual([job, 1]);
      expect(run.result.stderr).toMatch(
        new RegExp(`^mdw: ${job === 'poly' ? 'polygon' : 'alpaca'} /v2/[^ ]+: HTTP 302 redirects to ${foreign.url.replace(/\./g, '\\.')}, another host than the configured ${sim.url.replace(/\./g, '\\.')}: not followed, the key goes only there\n$`),
      );
      expect([job, foreign.requests.length, keysSentAbroad()]).toEqual([job, 0, 0]);
      expect([job, (await stored(run, job)).foreign]).toEqual([job, 0]);
      expect([job, await leaks(run)]).toEqual([job, []]);
    }
  });

  test('alphavantage: the key travels only in the query as sent; pages that echo the URL land with it replaced, and no file, output or row holds it', async () => {
    sim.echoCredentials = true;
    const run = await ingest('avd');
    expect(run.result.code).toBe(0);
    // Sent, URL-encoded, in every request's query; never in a header.
    const av = sim.requests.filter((r) => r.url.startsWith('/query'));
    expect(av.map((r) => new URL(r.url, 'http://sim').searchParams.get('apikey'))).toEqual([avKey, avKey]);
    expect(av.some((r) => JSON.stringify(r.headers).includes(avKey))).toBe(false);
    const sessions = calendars.XNYS.sessions('2024-01-01', '2024-03-28').length;
    expect(await stored(run, 'avd')).toEqual({ rows: 2 * sessions, foreign: 0 });
    // Each page echoed the key once (its bars also come newest first: out_of_order, counted apart).
    expect((await inputFindings(run))['response_secret']).toBe(2);
    expect(await leaks(run)).toEqual([]);
  });

  test('alphavantage: a redirect to another host (its Location carrying the key) is refused naming hosts only, and the other host gets nothing', async () => {
    sim.redirect = { to: foreign.url, match: /^\/query/ };
    foreign.requests.length = 0;
    const run = await ingest('avd');
    expect(run.result.code).toBe(1);
    expect(run.result.stderr).toMatch(
      new RegExp(`^mdw: alphavantage /query: HTTP 302 redirects to ${foreign.url.replace(/\./g, '\\.')}, another host than the configured ${sim.url.replace(/\./g, '\\.')}: not followed, the key goes only there\n$`),
    );
    expect([foreign.requests.length, keysSentAbroad()]).toEqual([0, 0]);
    expect(await leaks(run)).toEqual([]);
  });

  test('a redirect within the vendor host is followed with the key, and echoing pages behind it are redacted too', async () => {
    sim.redirect = { to: sim.url, match: /\/v2\/aggs\// };
    sim.echoCredentials = true;
    const run = await ingest('poly');
    expect(run.result.code).toBe(0);
    // Each page asked twice: the 302, then the page at the address it names, with the key.
    expect(sim.requests.filter((r) => r.headers.authorization === `Bearer ${polygonKey}`).length).toBe(24);
    expect(sim.requests.filter((r) => r.url.includes('redirected=1')).length).toBe(12);
    expect(await stored(run, 'poly')).toEqual({ rows: 1004, foreign: 0 });
    expect(await inputFindings(run)).toEqual({ response_secret: 24 });
    expect(foreign.requests).toHaveLength(0);
    expect(await leaks(run)).toEqual([]);
  });
});
