import { describe, expect, test } from '@jest/globals';
import { ApiError, negotiateFormat, parseApiWindow, parseAsOf, parseBarsRequest, parseSymbol, parseSymbols } from '../../src/serve/api-request.js';

/** The HTTP API's parameters become typed values, or a 400 naming the parameter. */
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return { status: err.status, parameter: err.parameter, message: err.message };
    throw err;
  }
  throw new Error('not refused');
};

describe('API request parameters', () => {
  test('symbols: the vendors\' alphabet passes; quotes, slashes, spaces, NUL and .. do not', () => {
    for (const s of ['AAPL', 'BRK.B', 'X:BTCUSD', '^GSPC', 'EURUSD=X', 'BTC-USD', 'BF_B', 'aapl']) expect(parseSymbol(s, 'symbol')).toBe(s);
    for (const s of ["AAPL'", 'A/B', '../etc', 'A B', 'AAPL\u0000', 'A..B', '', 'X'.repeat(33), '-A', "'; drop table x; --"]) {
      expect(refusal(() => parseSymbol(s, 'symbol'))).toMatchObject({ status: 400, parameter: 'symbol' });
    }
    expect(refusal(() => parseSymbol('AAPL\u0000', 'symbol')).message).toBe('symbol "AAPL\\u0000" is not a symbol: 1-32 letters, digits and . : = _ ^ - (e.g. AAPL, BRK.B, X:BTCUSD)');
    expect(parseSymbols(' AAPL, MSFT ,AAPL', 'symbols')).toEqual(['AAPL', 'MSFT']);
    expect(refusal(() => parseSymbols('AAPL,,', 'symbols'))).toMatchObject({ status: 400, parameter: 'symbols' });
  });

  test('start and end are the CLI\'s --from and --to, named as the API names them', () => {
    expect(parseApiWindow({ start: '2024-01-01', end: '2024-01-31' })).toEqual({ from: new Date('2024-01-01T00:00:00Z'), toExclusive: new Date('2024-02-01T00:00:00Z') });
    expect(refusal(() => parseApiWindow({ start: '2024-02-30' }))).toEqual({ status: 400, parameter: 'start', message: 'start "2024-02-30" is not a real date' });
    expect(refusal(() => parseApiWindow({ end: 'tomorrow' }))).toMatchObject({ status: 400, parameter: 'end' });
    expect(refusal(() => parseApiWindow({ start: '2024-02-01', end: '2024-01-01' }))).toEqual({ status: 400, parameter: 'end', message: 'start 2024-02-01 is after end 2024-01-01' });
    expect(parseAsOf('2024-03-01', 'as_of')).toEqual(new Date('2024-03-01T23:59:59.999Z'));
  });

  test('bar parameters: defaults, validated_only, and each refusal names its parameter', () => {
    const { request, extendedHours } = parseBarsRequest({ validated_only: 'true', columns: 'ts,close' }, ['AAPL']);
    expect({ ...request, window: undefined }).toEqual({
      symbols: ['AAPL'],
      window: undefined,
      granularity: '1d',
      source: undefined,
      columns: ['ts', 'close'],
      limit: undefined,
      minQuality: 0.85,
      adjust: undefined,
      gold: false,
    });
    expect(extendedHours).toBe(false);
    expect(parseBarsRequest({ min_quality: '0.9', validated_only: '1' }, ['A']).request.minQuality).toBe(0.9);
    const cases: [Record<string, string>, string][] = [
      [{ granularity: '5x' }, 'granularity'],
      [{ adjust: 'both' }, 'adjust'],
      [{ gold: 'yes' }, 'gold'],
      [{ min_quality: '1.5' }, 'min_quality'],
      [{ limit: '0' }, 'limit'],
      [{ columns: 'close);--' }, 'columns'],
      [{ calendar: 'LSE' }, 'calendar'],
      [{ source: "x'" }, 'source'],
    ];
    for (const [query, parameter] of cases) expect(refusal(() => parseBarsRequest(query, ['A']))).toMatchObject({ status: 400, parameter });
  });

  test('format: ?format= first, else the best Accept type mdw writes, else JSON', () => {
    expect(negotiateFormat({}, undefined)).toBe('json');
    expect(negotiateFormat({}, '*/*')).toBe('json');
    expect(negotiateFormat({}, 'text/csv')).toBe('csv');
    expect(negotiateFormat({}, 'text/html, application/vnd.apache.arrow.stream;q=0.9, text/csv;q=0.5')).toBe('arrow');
    expect(negotiateFormat({}, 'application/json;q=0.1, application/x-ndjson')).toBe('ndjson');
    expect(negotiateFormat({}, 'application/vnd.apache.parquet;q=0, text/csv;q=0.2')).toBe('csv');
    expect(negotiateFormat({ format: 'parquet' }, 'text/csv')).toBe('parquet');
    expect(refusal(() => negotiateFormat({ format: 'xml' }, undefined))).toMatchObject({ status: 400, parameter: 'format' });
  });
});
