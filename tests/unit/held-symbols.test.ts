import { describe, expect, test } from '@jest/globals';
import { editDistance, missingSymbolNotes, nearestSymbols } from '../../src/query/held-symbols.js';

describe('symbols near one the lake lacks', () => {
  test('edit distance counts a swap of neighbours as one edit', () => {
    expect([editDistance('APPL', 'AAPL'), editDistance('MSTF', 'MSFT'), editDistance('GOOG', 'GOOGL'), editDistance('SPY', 'QQQ'), editDistance('', 'ABC')]).toEqual([1, 1, 1, 3, 3]);
  });

  test('the nearest are within a few edits or share the start, fewest edits first, then the longest common start', () => {
    const held = ['AAPL', 'MSFT', 'SPY', 'BRK.A', 'BRK.B', 'BR', 'GOOGL', 'GOOG', 'IBM'];
    expect(nearestSymbols('APPL', held)).toEqual(['AAPL']);
    expect(nearestSymbols('goog', held)).toEqual(['GOOG', 'GOOGL']);
    expect(nearestSymbols('BRK', held)).toEqual(['BR', 'BRK.A', 'BRK.B']);
    expect(nearestSymbols('XYZW', held)).toEqual([]);
    expect(nearestSymbols('B', ['B1', 'B2', 'B3', 'B4', 'B5', 'B6'], 3)).toEqual(['B1', 'B2', 'B3']);
  });

  test('each asked symbol gets one note: held elsewhere, near others, or none near', () => {
    const held = new Map([
      ['AAPL', [{ source: 'demo', granularity: '1d' }]],
      ['MSFT', [{ source: 'demo', granularity: '1d' }, { source: 'polygon', granularity: '1m' }]],
    ]);
    expect(missingSymbolNotes('ohlcv', ['msft', 'APPL', 'QQQQ', 'APPL'], held)).toEqual([
      'msft: no rows match the query; the lake holds it as 1d from demo, 1m from polygon',
      'APPL: the lake has no ohlcv data for it (any source or granularity); nearest: AAPL',
      'QQQQ: the lake has no ohlcv data for it (any source or granularity); none of its 2 symbols is near it (mdw status lists them)',
    ]);
    expect(missingSymbolNotes('ohlcv', ['AAPL'], new Map())).toEqual(['AAPL: the lake has no ohlcv data for it (any source or granularity); it holds no ohlcv data at all']);
  });
});
