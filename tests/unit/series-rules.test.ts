import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { datasets, type DatasetDef } from '../../src/core/datasets.js';
import { DuckSession } from '../../src/lake/duckdb.js';
import { barColumns, compileSeriesRules, seriesSettings } from '../../src/validate/series-rules.js';

let duck: DuckSession;
beforeAll(async () => {
  duck = await DuckSession.open({ threads: 2 });
});
afterAll(() => duck.close());

// Six daily bars of one symbol: the fourth opens 50% above the close before it (a gap), the
// sixth trades 40 times the volume before it.
const bars = `(VALUES ('X', TIMESTAMP '2024-01-02', 10.0, 10.5, 9.5, 10.0, 100.0), ('X', TIMESTAMP '2024-01-03', 10.0, 10.5, 9.5, 10.0, 110.0), ` +
  `('X', TIMESTAMP '2024-01-04', 10.0, 10.5, 9.5, 10.0, 90.0), ('X', TIMESTAMP '2024-01-05', 15.0, 15.5, 14.5, 15.0, 100.0), ` +
  `('X', TIMESTAMP '2024-01-08', 15.0, 15.5, 14.5, 15.0, 105.0), ('X', TIMESTAMP '2024-01-09', 15.0, 15.5, 14.5, 15.0, 4000.0))`;

async function flagsOf(def: DatasetDef, names: readonly string[]): Promise<{ flags: string | null; quality: number }[]> {
  const settings = seriesSettings({ dataset: 'ohlcv', rules: [], series: { volume: { window: 4 } } });
  const rules = compileSeriesRules(settings, true).over(barColumns(def));
  return duck.all(
    `SELECT ${rules.flags} AS flags, ${rules.quality} AS quality FROM (SELECT *, ${rules.helpers} FROM ${bars} t(${names.map((n) => `"${n}"`).join(', ')}) ` +
      `WINDOW ${rules.windows}) ORDER BY 2, flags`,
  );
}

describe('series rules', () => {
  test('read the bar columns the dataset definition names, not fixed ones', async () => {
    const ohlcv = datasets.ohlcv;
    const renamed: DatasetDef = {
      ...ohlcv,
      timeColumn: 'bar_start',
      symbolColumn: 'ticker',
      series: { open: 'o', high: 'h', low: 'l', close: 'c', volume: 'v' },
    };
    const canonical = await flagsOf(ohlcv, ['symbol', 'ts', 'open', 'high', 'low', 'close', 'volume']);
    expect(canonical.map((r) => r.flags).filter((f) => f !== null).sort()).toEqual(['gap', 'volume_spike']);
    expect(await flagsOf(renamed, ['ticker', 'bar_start', 'o', 'h', 'l', 'c', 'v'])).toEqual(canonical);
  });

  test('a dataset that is not scored has no bar columns', () => {
    expect(() => barColumns(datasets.corporate_actions)).toThrow(/names no series columns/);
  });
});
