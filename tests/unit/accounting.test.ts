import { describe, expect, test } from '@jest/globals';
import { InvariantError } from '../../src/core/errors.js';
import { checkAccounted } from '../../src/load/accounting.js';
import type { LineageRow } from '../../src/load/staged-chunk.js';

const row = (input: string, pid: number | null, c: Partial<LineageRow>): LineageRow => ({ input, pid, recordsIn: 0, out: 0, deduped: 0, quarantined: 0, filtered: 0, ...c });

describe('checkAccounted', () => {
  test('every record stored, repeated, quarantined or filtered, across the partitions an input fed', () => {
    const lineage = [row('a.csv', 0, { out: 5, deduped: 1 }), row('a.csv', 1, { out: 2, filtered: 1 }), row('a.csv', null, { quarantined: 3 }), row('b.csv', null, {})];
    expect(() => checkAccounted(new Map([['a.csv', 12], ['b.csv', 0]]), lineage)).not.toThrow();
    expect(() => checkAccounted(undefined, [])).not.toThrow();
  });

  test('an input with records missing fails the batch, naming it and both counts', () => {
    const lineage = [row('a.csv', 0, { out: 5 }), row('b.csv', 0, { out: 1 }), row('c.csv', 0, { out: 9 })];
    const err = (() => {
      try {
        checkAccounted(new Map([['a.csv', 5], ['b.csv', 3], ['c.csv', 8], ['d.csv', 2]]), lineage);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(InvariantError);
    expect((err as InvariantError).exitCode).toBe(1);
    expect((err as Error).message).toBe(
      'records went missing between reading and loading, so nothing of this batch is written: b.csv: 3 records read, 1 accounted for (1 stored, 0 repeats, 0 quarantined, 0 filtered); and 2 more inputs',
    );
  });
});
