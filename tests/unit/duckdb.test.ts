import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { DuckSession } from '../../src/lake/duckdb.js';

let duck: DuckSession;
beforeAll(async () => {
  duck = await DuckSession.open({ threads: 2 });
});
afterAll(() => duck.close());

describe('typed results', () => {
  test('doubles, timestamps and text come back as typed arrays, NULLs marked', async () => {
    const r = await duck.typed(
      `SELECT * FROM (VALUES (1.5::DOUBLE, TIMESTAMP '2024-03-08 14:30:00', 'AAPL'), (NULL, NULL, 'AAPL'), (2.25, TIMESTAMP '1970-01-01 00:00:01', NULL), ` +
        `(3.0, TIMESTAMP '2024-03-08 14:31:00', ''), (4.0, TIMESTAMP '2024-03-08 14:32:00', ''), (5.0, TIMESTAMP '2024-03-08 14:33:00', 'a string longer than twelve'), ` +
        `(6.0, TIMESTAMP '2024-03-08 14:34:00', 'a string longer than twelve'), (7.0, TIMESTAMP '2024-03-08 14:35:00', 'MSFT')) t(x, ts, s)`,
    );
    expect(r.names).toEqual(['x', 'ts', 's']);
    expect(r.rowCount).toBe(8);
    expect([...(r.columns[0] as Float64Array)].map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual([1.5, 'NaN', 2.25, 3, 4, 5, 6, 7]);
    expect((r.columns[1] as BigInt64Array)[0]).toBe(BigInt(Date.parse('2024-03-08T14:30:00Z')) * 1000n);
    expect((r.columns[1] as BigInt64Array)[2]).toBe(1_000_000n);
    expect(r.columns[2]).toEqual(['AAPL', 'AAPL', null, '', '', 'a string longer than twelve', 'a string longer than twelve', 'MSFT']);
    expect(r.nulls).toEqual([new Uint8Array([0, 1, 0, 0, 0, 0, 0, 0]), new Uint8Array([0, 1, 0, 0, 0, 0, 0, 0]), new Uint8Array([0, 0, 1, 0, 0, 0, 0, 0])]);
  });

  test('results larger than one chunk are copied whole', async () => {
    const r = await duck.typed(`SELECT i::DOUBLE AS d, CASE WHEN i % 1000 = 0 THEN 'k' ELSE 's' END AS s FROM range(10000) t(i)`);
    expect(r.rowCount).toBe(10000);
    const d = r.columns[0] as Float64Array;
    expect([d[0], d[2047], d[2048], d[9999]]).toEqual([0, 2047, 2048, 9999]);
    const s = r.columns[1] as string[];
    expect([s[0], s[1], s[2000], s[2001], s[9999]]).toEqual(['k', 's', 'k', 's', 's']);
  });
});
