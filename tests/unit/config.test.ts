import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadEndpoints, provider, providerAuth } from '../../src/config/endpoints.js';
import { loadJob } from '../../src/config/jobs.js';
import { vendorNames } from '../../src/sources/index.js';
import { HttpClient } from '../../src/http/http-client.js';
import { createLogger } from '../../src/core/logger.js';
import { ConfigError, UsageError } from '../../src/core/errors.js';
import { resolveSettings } from '../../src/core/settings.js';
import { copyConfigs, removeDir, runMdw, tempDir } from '../support/helpers.js';

let root: string;
let configs: string;

beforeAll(() => {
  root = tempDir();
  configs = copyConfigs(root);
});
afterAll(() => removeDir(root));

function writeJob(name: string, text: string): string {
  const file = path.join(configs, 'jobs', `${name}.yml`);
  writeFileSync(file, text);
  return file;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const good = `description: test
dataset: ohlcv
granularity: 1d
source:
  name: demo
  adapter: file
  files: [../../fixtures/csv/yahoo/*.csv]
transform: yahoo
`;

describe('job config errors name the file, line and column', () => {
  test('a valid job loads with its transform, rules and partition grain', () => {
    const job = loadJob(configs, writeJob('ok', good), {});
    expect(job.name).toBe('ok');
    expect(job.granularity.text).toBe('1d');
    expect(job.partition).toEqual({ granularities: ['1d', '1w', '1mo'], by_symbol: false, period: 'year' });
    expect(job.validation.value.rules.map((r) => r.rule)).toEqual(['required', 'ohlc_bracket', 'positive_prices', 'non_negative_volume', 'in_session']);
  });

  test('an unknown key points at that key', () => {
    const file = writeJob('typo', good.replace('  adapter: file\n', '  adapter: file\n  fils: [x]\n'));
    const err = configError(() => loadJob(configs, file, {}));
    expect(err.message).toBe(`${file}:7:3: unknown key "fils" in /source`);
    expect(err.exitCode).toBe(2);
  });

  test('a value outside its enum points at the value', () => {
    const file = writeJob('enum', good.replace('dataset: ohlcv', 'dataset: bars'));
    expect(configError(() => loadJob(configs, file, {})).message).toBe(`${file}:2:10: /dataset must be one of "ohlcv", "ohlcv_gold", "ohlcv_resampled", "corporate_actions", "crypto_market", "tickers", "adjustments"`);
  });

  test('a bad granularity, a missing key and broken YAML', () => {
    let file = writeJob('gran', good.replace('granularity: 1d', 'granularity: daily'));
    expect(configError(() => loadJob(configs, file, {})).message).toMatch(new RegExp(`^${file}:3:14: /granularity must match pattern`));
    file = writeJob('missing', good.replace('transform: yahoo\n', ''));
    expect(configError(() => loadJob(configs, file, {})).message).toBe(`${file}:1:1: / is missing the required key "transform"`);
    file = writeJob('broken', good.replace('  name: demo', '  name: [demo'));
    expect(configError(() => loadJob(configs, file, {})).message).toMatch(new RegExp(`^${file}:\\d+:\\d+: invalid YAML`));
  });

  test('a transform that does not exist, and env vars without defaults', () => {
    let file = writeJob('notf', good.replace('transform: yahoo', 'transform: nosuch'));
    expect(configError(() => loadJob(configs, file, {})).message).toBe(`${file}:8:12: no transform "nosuch" in ${path.join(configs, 'transforms')}`);
    file = writeJob('env', good.replace('../../fixtures/csv/yahoo/*.csv', "'${DATA_DIR}/x.csv'"));
    expect(configError(() => loadJob(configs, file, {})).message).toMatch(new RegExp(`^${file}:7:11: environment variable DATA_DIR is not set`));
    const job = loadJob(configs, file, { DATA_DIR: '/data' });
    expect(job.spec.source.files).toEqual(['/data/x.csv']);
  });

  test('transform semantics: a local time needs a zone, unknown columns and zones are named', () => {
    const tf = path.join(configs, 'transforms', 'bad-tz.yml');
    const transform = (zone: string, extra = '') =>
      writeFileSync(tf, `dataset: ohlcv
columns:
  ts: { from: [day, time], datetime: '%Y/%m/%d %H:%M'${zone} }
  open: { from: o }
  high: { from: h }
  low: { from: l }
  close: { from: c }
  volume: { from: v }
${extra}symbol: { from: ticker }
`);
    const file = writeJob('tz', good.replace('transform: yahoo', 'transform: bad-tz').replace('granularity: 1d', 'granularity: 1m'));
    transform('');
    expect(configError(() => loadJob(configs, file, {})).message).toBe(`${tf}:3:38: a local date-time needs an explicit timezone (e.g. timezone: America/New_York)`);
    transform(', timezone: America/New_York', '  price: { from: p }\n');
    expect(configError(() => loadJob(configs, file, {})).message).toMatch(/bad-tz.yml:9:3: "price" is not a ohlcv column/);
    transform(', timezone: America/NewYork');
    expect(configError(() => loadJob(configs, file, {})).message).toBe(`${tf}:3:66: unknown time zone "America/NewYork" (use an IANA name such as America/New_York)`);
  });

  test('a daily bar stamped at an instant says which session its stamp names, per market', () => {
    const tf = path.join(configs, 'transforms', 'stamped.yml');
    const transform = (ts: string) =>
      writeFileSync(tf, `dataset: ohlcv
read: { format: json, records: results }
columns:
  ts: ${ts}
  open: { from: o }
  high: { from: h }
  low: { from: l }
  close: { from: c }
  volume: { from: v }
symbol: { from: ticker }
`);
    const file = writeJob('stamped', good.replace('transform: yahoo', 'transform: stamped'));
    transform('{ from: t, epoch: ms }');
    expect(configError(() => loadJob(configs, file, {})).message).toBe(
      `${tf}:4:7: a 1d ts stamped at an instant needs stamp: which session (date) a stamp names, e.g. stamp: { date_in: America/New_York } for bars stamped at 00:00 New York, { date_in: UTC } for 00:00 UTC`,
    );
    // The zone of an instant's date used to be `timezone`; an instant carries its own zone.
    transform('{ from: t, epoch: ms, timezone: America/New_York }');
    expect(configError(() => loadJob(configs, file, {})).message).toMatch(/stamped.yml:4:39: an instant \(epoch ms\) carries its own zone; for daily bars, say which session a stamp names with stamp: \{ date_in: <zone> \}/);
    transform('{ from: t, epoch: ms, stamp: { date_in: America/New_York, markets: [{ symbols: "^X:", date_in: Mars/Olympus }] } }');
    expect(configError(() => loadJob(configs, file, {})).message).toMatch(/stamped.yml:4:\d+: unknown time zone "Mars\/Olympus"/);
    transform('{ from: t, epoch: ms, stamp: { date_in: UTC, markets: [{ symbols: "(?=X)", date_in: UTC }] } }');
    expect(configError(() => loadJob(configs, file, {})).message).toMatch(/stamped.yml:4:\d+: lookarounds and back-references are not supported/);
    transform('{ from: t, epoch: ms, stamp: { date_in: UTC, within_session: true } }');
    expect(configError(() => loadJob(configs, file, {})).message).toMatch(/stamped.yml:4:\d+: /);
    transform('{ from: d, date: "%Y-%m-%d", stamp: { date_in: UTC } }');
    expect(configError(() => loadJob(configs, file, {})).message).toMatch(/stamped.yml:4:\d+: stamp applies to the time column stamped at an instant \(epoch or iso\)/);
    transform('{ from: t, epoch: ms, stamp: { date_in: America/New_York, markets: [{ symbols: "^X:", date_in: UTC }, { symbols: "^C:", within_session: true }] } }');
    expect(loadJob(configs, file, {}).transform.value.columns.ts!.stamp!.markets).toEqual([
      { symbols: '^X:', date_in: 'UTC' },
      { symbols: '^C:', within_session: true },
    ]);
  });
});

describe('jobs of the event and reference datasets', () => {
  const actions = (source: string, extra = '') =>
    `dataset: corporate_actions\ngranularity: 1d\n${extra}source:\n${source}symbols: [AAPL]\nwindow: { from: 2020-01-01 }\ntransform: polygon-splits\n`;

  test('a corporate-actions job gets its own default rules and grain, and no series rules', () => {
    const job = loadJob(configs, writeJob('ca', actions('  name: poly\n  adapter: polygon\n  endpoint: splits\n')), {});
    expect(job.validation.value.dataset).toBe('corporate_actions');
    expect(job.validation.value.rules.map((r) => r.rule)).toEqual(['required', 'one_of', 'positive', 'required_when', 'required_when', 'required_when']);
    expect(job.partition).toEqual({ by_symbol: false, period: 'year' });
    expect(job.dataset.kind).toBe('events');
  });

  test('a vendor endpoint that does not fit, or is missing where the dataset has two, is named at its line', () => {
    const none = writeJob('ca-none', actions('  name: poly\n  adapter: polygon\n'));
    expect(configError(() => loadJob(configs, none, {})).message).toBe(
      `${none}:4:3: polygon serves corporate_actions from splits and dividends: name one as source.endpoint (a job each)`,
    );
    const wrong = writeJob('ca-wrong', actions('  name: poly\n  adapter: polygon\n  endpoint: aggs\n'));
    expect(configError(() => loadJob(configs, wrong, {})).message).toBe(`${wrong}:6:13: polygon serves corporate_actions from splits or dividends, not aggs`);
    const tickers = writeJob('tk-alpaca', 'dataset: tickers\ngranularity: 1d\nsource: { name: alp, adapter: alpaca }\ntransform: polygon-tickers\n');
    expect(configError(() => loadJob(configs, tickers, {})).message).toMatch(/tk-alpaca.yml:3:9: alpaca serves no tickers here \(it serves ohlcv, corporate_actions\)$/);
  });

  test('a calendar, or bar rules, on events are refused: they have no sessions or bars', () => {
    const cal = writeJob('ca-cal', actions('  name: poly\n  adapter: polygon\n  endpoint: splits\n', 'calendar: XNYS\n'));
    expect(configError(() => loadJob(configs, cal, {})).message).toBe(`${cal}:3:1: a calendar applies to bars; corporate_actions rows are not judged against sessions`);
    const rules = path.join(configs, 'validation', 'ca-bars.yml');
    writeFileSync(rules, 'dataset: corporate_actions\nrules:\n  - rule: required\n  - rule: ohlc_bracket\n');
    const file = writeJob('ca-rules', actions('  name: poly\n  adapter: polygon\n  endpoint: splits\n').replace('transform:', 'validation: ca-bars\ntransform:'));
    expect(configError(() => loadJob(configs, file, {})).message).toBe(`${rules}:4:11: ohlc_bracket checks bars; corporate_actions has none`);
    writeFileSync(rules, 'dataset: corporate_actions\nrules:\n  - rule: positive\n    columns: [cash]\n');
    expect(configError(() => loadJob(configs, file, {})).message).toBe(`${rules}:3:5: positive: "cash" is not a corporate_actions column`);
  });
});

describe('mdw jobs validate and config errors on the command line', () => {
  test('exit 2 with one clear line per invalid job; exit 0 when all are valid', async () => {
    const bad = writeJob('cli-bad', good.replace('dataset: ohlcv', 'dataset: bars'));
    const r = await runMdw(['--config-dir', configs, 'jobs', 'validate', 'cli-bad', 'demo']);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain(`invalid  ${bad}:2:10: /dataset must be one of "ohlcv", "ohlcv_gold", "ohlcv_resampled", "corporate_actions", "crypto_market", "tickers", "adjustments"`);
    expect(r.stdout).toMatch(/^ok {7}demo /m);
    const ok = await runMdw(['--config-dir', configs, 'jobs', 'validate', 'demo', 'demo-minute']);
    expect(ok.code).toBe(0);
  });

  test('mdw ingest with a broken job exits 2 naming the file and line, before touching anything', async () => {
    const home = path.join(root, 'home-untouched');
    const bad = writeJob('cli-ingest-bad', good.replace('granularity: 1d', 'granularity: 1 day'));
    const r = await runMdw(['--home', home, '--config-dir', configs, 'ingest', 'cli-ingest-bad']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^mdw: ${bad}:3:14: /granularity must match pattern`, 'm'));
    const missing = await runMdw(['--home', home, '--config-dir', configs, 'ingest', 'no-such-job']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no job named "no-such-job" in .*jobs \(jobs: .*demo/);
  });
});

describe('settings from the environment', () => {
  test('numbers are read, defaults apply, and a value that is not a number is a usage error', () => {
    const at = (env: NodeJS.ProcessEnv) => resolveSettings({ home: root, configDir: configs }, env);
    expect(at({}).chunkBytes).toBe(48 * 2 ** 20);
    expect(at({}).lockTimeoutMs).toBe(10_000);
    expect(at({ MDW_CHUNK_MB: '8', MDW_LOCK_TIMEOUT: '0', MDW_THREADS: '3' })).toMatchObject({ chunkBytes: 8 * 2 ** 20, lockTimeoutMs: 0, duckdbThreads: 3 });
    expect(() => at({ MDW_CHUNK_MB: '64MB' })).toThrow(new UsageError('MDW_CHUNK_MB=64MB is not a number of at least 1'));
    expect(() => at({ MDW_THREADS: '0' })).toThrow(new UsageError('MDW_THREADS=0 is not a number of at least 1'));
    expect(() => at({ MDW_LOCK_TIMEOUT: '-1' })).toThrow(new UsageError('MDW_LOCK_TIMEOUT=-1 is not a number of at least 0'));
  });
});

describe('configs/endpoints.yml', () => {
  test('the committed file loads; keys come from the variables it names, and a missing one is named, never a value', () => {
    const endpoints = loadEndpoints(configs, { MDW_POLYGON_URL: 'http://127.0.0.1:9' });
    expect(provider(endpoints, 'polygon')).toMatchObject({ base_url: 'http://127.0.0.1:9', rpm: 5, daily_budget: 5000 });
    expect(provider(endpoints, 'alpaca').base_url).toBe('https://data.alpaca.markets');
    expect(providerAuth(endpoints, 'alpaca', { ALPACA_KEY_ID: 'AK1', ALPACA_SECRET_KEY: 'sk-2' })).toEqual({
      headers: { 'APCA-API-KEY-ID': 'AK1', 'APCA-API-SECRET-KEY': 'sk-2' },
      secrets: ['AK1', 'sk-2'],
    });
    const missing = configError(() => providerAuth(endpoints, 'polygon', {}));
    expect(missing.message).toMatch(/endpoints\.yml:\d+:\d+: POLYGON_API_KEY is not set: export the polygon API key in it$/);
    expect(() => provider(endpoints, 'nope')).toThrow(new RegExp(`no provider "nope" in endpoints.yml \\(providers: ${vendorNames.join(', ')}\\)`));
  });

  test('MDW_<PROVIDER>_URL replaces the base_url of every provider, one added later too, and must be an http(s) URL', () => {
    const file = path.join(configs, 'endpoints.yml');
    const text = readFileSync(file, 'utf8');
    const later = '  my-vendor:\n    base_url: https://api.my-vendor.example\n    rpm: 10\n    daily_budget: 100\n    auth: { kind: bearer, env: MY_VENDOR_KEY }\n';
    writeFileSync(file, text + later);
    try {
      const urls = (env: NodeJS.ProcessEnv) => Object.fromEntries(['polygon', 'alpaca', 'my-vendor'].map((p) => [p, provider(loadEndpoints(configs, env), p).base_url]));
      expect(urls({})).toEqual({ polygon: 'https://api.polygon.io', alpaca: 'https://data.alpaca.markets', 'my-vendor': 'https://api.my-vendor.example' });
      expect(urls({ MDW_POLYGON_URL: 'http://127.0.0.1:9', MDW_ALPACA_URL: 'http://127.0.0.1:8/', MDW_MY_VENDOR_URL: 'https://mirror.example/v' })).toEqual({
        polygon: 'http://127.0.0.1:9',
        alpaca: 'http://127.0.0.1:8/',
        'my-vendor': 'https://mirror.example/v',
      });
      // An empty value is unset, as for the other MDW_ settings.
      expect(urls({ MDW_ALPACA_URL: '' }).alpaca).toBe('https://data.alpaca.markets');
      for (const bad of ['api.polygon.io', 'ftp://mirror.example', 'http//x']) {
        expect(() => loadEndpoints(configs, { MDW_POLYGON_URL: bad })).toThrow(
          new UsageError('MDW_POLYGON_URL is not an http(s) URL: it replaces the base_url of polygon in endpoints.yml, https://api.polygon.io'),
        );
      }
      expect(() => loadEndpoints(configs, { MDW_MY_VENDOR_URL: 'mirror' })).toThrow(
        new UsageError('MDW_MY_VENDOR_URL is not an http(s) URL: it replaces the base_url of my-vendor in endpoints.yml, https://api.my-vendor.example'),
      );
    } finally {
      writeFileSync(file, text);
    }
  });

  test('a key written into the file instead of a variable name is refused at its line', () => {
    const file = path.join(configs, 'endpoints.yml');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('auth: { kind: bearer, env: POLYGON_API_KEY }', 'auth: { kind: bearer, env: sk-live-123 }'));
    try {
      const err = configError(() => loadEndpoints(configs, {}));
      const line = text.split('\n').findIndex((l) => l.includes('env: POLYGON_API_KEY')) + 1;
      expect(err.message).toMatch(new RegExp(`endpoints\\.yml:${line}:32: /providers/polygon/auth/env must match pattern`));
    } finally {
      writeFileSync(file, text);
    }
  });
});

describe('the HTTP client', () => {
  test('redacts keys in URLs and texts, and resolves next pages to one canonical URL', () => {
    const logger = createLogger({ level: 'error', color: false, today: new Date() });
    const client = new HttpClient({ vendor: 'polygon', baseUrl: 'https://api.example/', rpm: 60, secrets: ['sk-SECRET-1'], logger });
    expect(client.redact('GET https://x/v2?apiKey=abc&limit=5 with sk-SECRET-1')).toBe('GET https://x/v2?apiKey=***&limit=5 with ***');
    expect(client.resolve('/v2/aggs', { limit: 5, adjusted: false }).toString()).toBe('https://api.example/v2/aggs?adjusted=false&limit=5');
    expect(client.resolve('https://api.example/v2/aggs?limit=5&adjusted=false').toString()).toBe('https://api.example/v2/aggs?adjusted=false&limit=5');
  });
});
