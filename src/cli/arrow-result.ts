import type { DataType, Vector } from 'apache-arrow';
import type { DuckSession, ResultColumn } from '../lake/duckdb.js';
import { arrowWireQuery, valueKind, type ValueKind } from '../query/result-forms.js';

type Arrow = typeof import('apache-arrow');

/** An Arrow column: its type, and how it is built from the values of its wire form. */
interface ArrowColumn {
  readonly type: DataType;
  build(values: readonly unknown[]): Vector;
}

/**
 * Arrow types by kind of value. Times keep their precision and are in UTC (microseconds, or
 * nanoseconds for TIMESTAMP_NS), dates are dates, DECIMAL (and HUGEINT, as DuckDB's own Arrow
 * export does) is a 128-bit decimal, so no value is rounded through a float. Lists, structs,
 * maps, intervals and the rarer types are their DuckDB text.
 */
const arrowColumns: Record<ValueKind, (arrow: Arrow, column: ResultColumn) => ArrowColumn> = {
  boolean: (a) => built(a, new a.Bool()),
  int8: (a) => built(a, new a.Int8()),
  int16: (a) => built(a, new a.Int16()),
  int32: (a) => built(a, new a.Int32()),
  int64: (a) => built(a, new a.Int64()),
  uint8: (a) => built(a, new a.Uint8()),
  uint16: (a) => built(a, new a.Uint16()),
  uint32: (a) => built(a, new a.Uint32()),
  uint64: (a) => built(a, new a.Uint64()),
  float32: (a) => built(a, new a.Float32()),
  float64: (a) => built(a, new a.Float64()),
  decimal: (a, c) => decimal(a, new a.Decimal(c.scale ?? 0, c.width ?? 38, 128), c.scale ?? 0),
  hugeint: (a) => decimal(a, new a.Decimal(0, 38, 128), 0),
  date: (a) => fixed(a, new a.DateDay(), (n) => new Int32Array(n), (data, i, v) => (data[i] = Number(v))),
  time: (a) => fixed(a, new a.TimeMicrosecond(), (n) => new BigInt64Array(n), (data, i, v) => (data[i] = BigInt(v as bigint))),
  timestamp: (a) => fixed(a, new a.TimestampMicrosecond('UTC'), (n) => new BigInt64Array(n), (data, i, v) => (data[i] = BigInt(v as bigint))),
  timestamptz: (a) => fixed(a, new a.TimestampMicrosecond('UTC'), (n) => new BigInt64Array(n), (data, i, v) => (data[i] = BigInt(v as bigint))),
  timestamp_ns: (a) => fixed(a, new a.TimestampNanosecond('UTC'), (n) => new BigInt64Array(n), (data, i, v) => (data[i] = BigInt(v as bigint))),
  text: (a) => built(a, new a.Utf8()),
  blob: (a) => built(a, new a.Binary()),
  null: (a) => built(a, new a.Null()),
  other: (a) => built(a, new a.Utf8()),
};

/** A query's result as an Arrow IPC stream. */
export async function arrowStream(duck: DuckSession, sql: string, columns: readonly ResultColumn[]): Promise<{ bytes: Uint8Array; rows: number }> {
  const arrow = await import('apache-arrow');
  const result = await duck.columns(arrowWireQuery(sql, columns));
  const vectors: Record<string, Vector> = {};
  columns.forEach((column, i) => {
    // Arrow names must differ: a repeated name gets _1, _2 ..., as DuckDB names them in a subquery.
    let name = column.name;
    for (let n = 1; name in vectors; n++) name = `${column.name}_${n}`;
    vectors[name] = arrowColumns[valueKind(column)](arrow, column).build(result.columns[i]!);
  });
  return { bytes: arrow.tableToIPC(new arrow.Table(vectors), 'stream'), rows: result.rowCount };
}

function built(arrow: Arrow, type: DataType): ArrowColumn {
  return { type, build: (values) => arrow.vectorFromArray(values as unknown[], type) };
}

/** A fixed-width column written straight into its buffer, with a validity bitmap for NULLs. */
function fixed<T extends Int32Array | BigInt64Array | Uint32Array>(
  arrow: Arrow,
  type: DataType,
  alloc: (n: number) => T,
  set: (data: T, i: number, value: unknown) => void,
): ArrowColumn {
  return {
    type,
    build(values) {
      const data = alloc(values.length);
      const validity = new Uint8Array((values.length + 7) >> 3);
      let nulls = 0;
      values.forEach((v, i) => {
        if (v === null || v === undefined) nulls++;
        else {
          validity[i >> 3] = validity[i >> 3]! | (1 << (i & 7));
          set(data, i, v);
        }
      });
      return arrow.makeVector(arrow.makeData({ type, length: values.length, nullCount: nulls, nullBitmap: nulls > 0 ? validity : null, data } as never));
    },
  };
}

/** A decimal from its text (1.50 at scale 2 is 150), as four little-endian 32-bit words. */
function decimal(arrow: Arrow, type: DataType, scale: number): ArrowColumn {
  return fixed(arrow, type, (n) => new Uint32Array(n * 4), (data, i, v) => {
    const [whole, fraction = ''] = String(v).split('.');
    const unscaled = BigInt(`${whole}${fraction.padEnd(scale, '0')}`);
    for (let w = 0; w < 4; w++) data[i * 4 + w] = Number(BigInt.asUintN(32, unscaled >> BigInt(32 * w)));
  });
}
