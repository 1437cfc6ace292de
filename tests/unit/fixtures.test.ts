import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { generateFixtures, plantedPerFile } from '../../src/fixtures/generate-fixtures.js';
import { repoRoot } from '../support/helpers.js';

describe('fixture generator', () => {
  test('reproduces the committed fixtures byte for byte', () => {
    const files = generateFixtures();
    expect(files.map((f) => f.path).sort()).toEqual([
      'csv/custom/minute-bars.csv',
      'csv/kaggle/ibm.us.txt',
      'csv/kaggle/ko.us.txt',
      'csv/stooq/jnj.us.txt',
      'csv/stooq/xom.us.txt',
      'csv/yahoo/AAPL.csv',
      'csv/yahoo/MSFT.csv',
      'csv/yahoo/SPY.csv',
    ]);
    for (const f of files) expect(readFileSync(path.join(repoRoot, 'fixtures', f.path), 'utf8')).toBe(f.content);
  });

  test('plants exactly the bad rows it declares in the first file of each layout', () => {
    const aapl = generateFixtures().find((f) => f.path === 'csv/yahoo/AAPL.csv')!.content.split('\n');
    const rows = aapl.slice(1).filter((l) => l !== '').map((l) => l.split(','));
    expect(rows.length).toBe(plantedPerFile.dataRows);
    const complete = rows.filter((r) => r.length === 7);
    expect(rows.length - complete.length).toBe(plantedPerFile.truncated);
    const highBelowLow = complete.filter((r) => Number(r[2]) < Number(r[3]));
    expect(highBelowLow.length).toBe(plantedPerFile.highBelowLow);
    expect(complete.filter((r) => [1, 2, 3, 4].some((i) => Number(r[i]) <= 0)).length).toBe(plantedPerFile.negativePrice);
    const byDate = new Map<string, string[]>();
    for (const r of complete) byDate.set(r[0]!, [...(byDate.get(r[0]!) ?? []), r.join(',')]);
    const repeated = [...byDate.values()].filter((v) => v.length > 1);
    expect(repeated.filter((v) => new Set(v).size > 1).length * 2).toBe(plantedPerFile.conflictingDuplicate);
    expect(repeated.filter((v) => new Set(v).size === 1).length).toBe(plantedPerFile.exactDuplicate);
    expect(aapl.filter((l) => l === '').length).toBe(2); // the planted blank line and the final newline
  });
});
