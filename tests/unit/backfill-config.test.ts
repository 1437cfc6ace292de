import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadBackfillConfig, readUniverseFile } from '../../src/config/backfill.js';
import { ConfigError } from '../../src/core/errors.js';
import { configDir, copyConfigs, removeDir, tempDir } from '../support/helpers.js';

let root: string;
let configs: string;
let file: string;

beforeAll(() => {
  root = tempDir();
  configs = copyConfigs(root);
  file = path.join(configs, 'backfill.yml');
});
afterAll(() => removeDir(root));

// Line numbers below are this text's.
const base = `budgets:
  polygon: 100
targets:
  t:
    dataset: ohlcv
    granularity: 1d
    calendar: XNYS
    universe: { symbols: [AAPL] }
    earliest: 2020-01-02
    chunk_sessions: 10
    vendors:
      - { vendor: polygon, job: polygon-daily }
      - { vendor: alpaca, job: alpaca-daily }
`;

/** The message of the ConfigError that loading `text` as backfill.yml throws. */
function errorOf(text: string): string {
  writeFileSync(file, text);
  try {
    loadBackfillConfig(configs, {});
  } catch (err) {
    if (err instanceof ConfigError) return err.message.replace(`${file}:`, 'backfill.yml:');
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('configs/backfill.yml as shipped', () => {
  test('equities-daily: ohlcv 1d on XNYS for three symbols from 2015, polygon first, then alpaca and finnhub', () => {
    const config = loadBackfillConfig(configDir, {});
    expect(config.targets).toEqual([
      {
        name: 'equities-daily',
        dataset: 'ohlcv',
        granularity: { text: '1d', count: 1, unit: 'd' },
        calendar: 'XNYS',
        universe: { kind: 'symbols', symbols: ['AAPL', 'MSFT', 'SPY'] },
        earliest: '2015-01-02',
        chunkSessions: 252,
        priority: 1,
        vendors: [
          { vendor: 'polygon', job: 'polygon-daily' },
          { vendor: 'alpaca', job: 'alpaca-daily' },
          { vendor: 'finnhub', job: 'finnhub-daily' },
        ],
      },
    ]);
    const vendors = config.vendors.get('equities-daily')!;
    expect(vendors.map((v) => [v.vendor, v.job.name, v.job.spec.source.name, v.job.transform.value.dataset, `${v.fetcher.vendor}/${v.fetcher.endpoint}`])).toEqual([
      ['polygon', 'polygon-daily', 'polygon', 'ohlcv', 'polygon/aggs'],
      ['alpaca', 'alpaca-daily', 'alpaca', 'ohlcv', 'alpaca/bars'],
      ['finnhub', 'finnhub-daily', 'finnhub', 'ohlcv', 'finnhub/candles'],
    ]);
    // Backfill's share of each vendor's day, below endpoints.yml's daily_budget (5000, 50000, 86400).
    expect(config.budgets).toEqual({ polygon: 3000, alpaca: 30000, finnhub: 40000 });
  });

  test('a vendor without a budgets: entry may spend its whole daily_budget; targets run by priority', () => {
    writeFileSync(
      file,
      base.replace('budgets:\n  polygon: 100\n', '') +
        `  first:
    dataset: ohlcv
    granularity: 1d
    calendar: XNYS
    universe: { file: universe.txt }
    earliest: 2020-01-02
    chunk_sessions: 5
    priority: 0
    vendors: [{ vendor: finnhub, job: finnhub-daily }]
`,
    );
    writeFileSync(path.join(configs, 'universe.txt'), '# large caps\nAAPL\n\nMSFT  # software\n');
    const config = loadBackfillConfig(configs, {});
    expect(config.targets.map((t) => [t.name, t.priority, t.universe])).toEqual([
      ['first', 0, { kind: 'file', file: 'universe.txt' }],
      ['t', 1, { kind: 'symbols', symbols: ['AAPL'] }],
    ]);
    expect(config.budgets).toEqual({ polygon: 5000, alpaca: 50000, finnhub: 86400 });
    expect(readUniverseFile(configs, 'universe.txt')).toEqual(['AAPL', 'MSFT']);
  });

  test('a tickers universe keeps its source and date', () => {
    writeFileSync(file, base.replace('universe: { symbols: [AAPL] }', 'universe: { tickers: { source: polygon, as_of: 2026-01-02 } }'));
    expect(loadBackfillConfig(configs, {}).targets[0]!.universe).toEqual({ kind: 'tickers', source: 'polygon', asOf: '2026-01-02' });
  });
});

describe('backfill.yml errors name the file and line', () => {
  test('an unknown vendor', () => {
    expect(errorOf(base.replace('vendor: alpaca', 'vendor: yahoo'))).toBe('backfill.yml:13:19: unknown vendor "yahoo" (vendors: polygon, alpaca, finnhub, binance, coingecko, alphavantage)');
  });

  test('a vendor named twice', () => {
    expect(errorOf(base.replace('vendor: alpaca, job: alpaca-daily', 'vendor: polygon, job: polygon-daily'))).toBe('backfill.yml:13:19: polygon is allowed twice in target t');
  });

  test('a vendor whose job fetches through another vendor', () => {
    expect(errorOf(base.replace('job: alpaca-daily', 'job: polygon-daily'))).toBe(
      "backfill.yml:13:32: job polygon-daily fetches through polygon, not alpaca, so it cannot load alpaca's share of target t",
    );
  });

  test('a vendor whose job loads another dataset', () => {
    expect(errorOf(base.replace('job: polygon-daily', 'job: polygon-splits'))).toBe(
      "backfill.yml:12:33: job polygon-splits loads dataset corporate_actions, not ohlcv, so it cannot load polygon's share of target t",
    );
  });

  test('a vendor whose job loads another bar size', () => {
    expect(errorOf(base.replace('job: polygon-daily', 'job: polygon-hourly'))).toBe(
      "backfill.yml:12:33: job polygon-hourly loads 1h bars, not 1d, so it cannot load polygon's share of target t",
    );
  });

  test('a job that does not exist', () => {
    expect(errorOf(base.replace('job: alpaca-daily', 'job: alpaca-weekly'))).toMatch(/^backfill\.yml:13:32: no job named "alpaca-weekly" in .*jobs \(jobs: /);
  });

  test('a vendor with no fetcher for the bar size', () => {
    const text = base.replace('granularity: 1d', 'granularity: 2d').replace(/ {6}- \{ vendor: polygon.*\n {6}- \{ vendor: alpaca.*\n/, '      - { vendor: finnhub, job: finnhub-daily }\n');
    expect(errorOf(text)).toBe("backfill.yml:12:19: finnhub's candles endpoint serves 1m, 5m, 15m, 30m, 60m, 1h, 1d, 1w, 1mo bars, not 2d");
  });

  test('a vendor with no fetcher for the dataset', () => {
    const text = base.replace('dataset: ohlcv', 'dataset: tickers').replace('vendor: polygon, job: polygon-daily', 'vendor: finnhub, job: finnhub-daily');
    expect(errorOf(text)).toBe('backfill.yml:12:19: finnhub serves no tickers (it serves ohlcv, corporate_actions)');
  });

  test('a dataset not in src/core/datasets.ts (its names come from the code)', () => {
    expect(errorOf(base.replace('dataset: ohlcv', 'dataset: bars'))).toBe('backfill.yml:5:14: /targets/t/dataset must be one of "ohlcv", "ohlcv_gold", "ohlcv_resampled", "corporate_actions", "crypto_market", "tickers", "adjustments"');
  });

  test('a universe of two kinds', () => {
    expect(errorOf(base.replace('{ symbols: [AAPL] }', '{ symbols: [AAPL], file: u.txt }'))).toBe('backfill.yml:8:15: /targets/t/universe must NOT have more than 1 properties');
  });

  test('a universe file that is not there', () => {
    expect(errorOf(base.replace('{ symbols: [AAPL] }', '{ file: missing.txt }'))).toBe(`backfill.yml:8:23: no file missing.txt in ${configs}`);
  });

  test('an earliest date that is no date', () => {
    expect(errorOf(base.replace('2020-01-02', '2020-02-30'))).toBe('backfill.yml:9:15: 2020-02-30 is not a date');
  });

  test('a budget above the daily_budget of endpoints.yml', () => {
    expect(errorOf(base.replace('polygon: 100', 'polygon: 9000'))).toBe("backfill.yml:2:12: 9000 requests a day is more than polygon's daily_budget in endpoints.yml (5000)");
  });

  test('a budget for an unknown vendor', () => {
    expect(errorOf(base.replace('polygon: 100', 'stooq: 100'))).toBe('backfill.yml:2:3: unknown vendor "stooq" (vendors: polygon, alpaca, finnhub, binance, coingecko, alphavantage)');
  });
});
