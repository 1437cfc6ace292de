import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adjustedBarsSql, cumulativeFactorsSql } from '../../src/curate/adjustments.js';
import { DuckSession } from '../../src/lake/duckdb.js';

/**
 * Which bars an ex-date adjusts, in DuckDB: a 2-for-1 split of TST with ex-date 2024-01-09
 * (a Tuesday in winter: New York is UTC-5) over daily and minute bars.
 */
let duck: DuckSession;
let dir: string;
let log: string;

beforeAll(async () => {
  duck = await DuckSession.open({ threads: 1 });
  dir = mkdtempSync(path.join(os.tmpdir(), 'mdw-adjust-'));
  log = path.join(dir, 'log.parquet');
  await duck.run(
    `COPY (SELECT 'TST' AS symbol, TIMESTAMP '2024-01-09 00:00:00' AS ex_date, 0.5::DOUBLE AS split_factor, 1.0::DOUBLE AS dividend_factor) TO '${log}' (FORMAT PARQUET)`,
  );
});

afterAll(() => {
  duck.close();
  rmSync(dir, { recursive: true, force: true });
});

const closes = async (bars: readonly string[], intraday: boolean) => {
  const values = bars.map((ts) => `('TST', TIMESTAMP '${ts}', 100.0)`).join(', ');
  const rows = await duck.all<{ ts: Date; close: number }>(
    adjustedBarsSql(`SELECT * FROM (VALUES ${values}) t(symbol, ts, close)`, cumulativeFactorsSql([log], null, intraday), 'splits', ['ts', 'close']),
  );
  return rows.map((r) => [r.ts.toISOString().slice(0, 16), r.close]);
};

describe('the bars an ex-date adjusts', () => {
  test('daily bars: those of sessions before the ex-date, not the ex-date itself', async () => {
    expect(await closes(['2024-01-08 00:00:00', '2024-01-09 00:00:00'], false)).toEqual([
      ['2024-01-08T00:00', 50],
      ['2024-01-09T00:00', 100],
    ]);
  });

  test("intraday bars: the session before's post-market after 00:00Z too; the ex-date's pre-market and session not", async () => {
    expect(await closes(['2024-01-08 20:55:00', '2024-01-09 00:30:00', '2024-01-09 09:00:00', '2024-01-09 14:30:00'], true)).toEqual([
      ['2024-01-08T20:55', 50], // 15:55 New York on the 8th
      ['2024-01-09T00:30', 50], // 19:30 New York on the 8th: post-market of the session before
      ['2024-01-09T09:00', 100], // 04:00 New York on the 9th: the ex-date's pre-market
      ['2024-01-09T14:30', 100],
    ]);
  });
});
