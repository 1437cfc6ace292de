import { ident } from '../core/sql.js';
import type { DuckTypeName, ResultColumn } from '../lake/duckdb.js';

/**
 * How each DuckDB type leaves mdw. A query's result is wrapped in one SELECT that turns each
 * column into its output form, chosen by the column's type, so that `query sql` (any SELECT) and
 * `query ohlcv` print the same values the same way.
 */
export type ValueKind =
  | 'boolean'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'float32'
  | 'float64'
  | 'decimal'
  | 'hugeint'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'timestamptz'
  | 'timestamp_ns'
  | 'text'
  | 'blob'
  | 'null'
  | 'other';

/** Every DuckDB type: a type a new DuckDB adds fails the build here until it has a kind. */
const kinds: Record<DuckTypeName, ValueKind> = {
  INVALID: 'other',
  BOOLEAN: 'boolean',
  TINYINT: 'int8',
  SMALLINT: 'int16',
  INTEGER: 'int32',
  BIGINT: 'int64',
  UTINYINT: 'uint8',
  USMALLINT: 'uint16',
  UINTEGER: 'uint32',
  UBIGINT: 'uint64',
  FLOAT: 'float32',
  DOUBLE: 'float64',
  TIMESTAMP: 'timestamp',
  DATE: 'date',
  TIME: 'time',
  INTERVAL: 'other',
  HUGEINT: 'hugeint',
  // Beyond a signed 128-bit decimal: text.
  UHUGEINT: 'other',
  VARCHAR: 'text',
  BLOB: 'blob',
  DECIMAL: 'decimal',
  TIMESTAMP_S: 'timestamp',
  TIMESTAMP_MS: 'timestamp',
  TIMESTAMP_NS: 'timestamp_ns',
  ENUM: 'text',
  LIST: 'other',
  STRUCT: 'other',
  MAP: 'other',
  ARRAY: 'other',
  UUID: 'text',
  UNION: 'other',
  BIT: 'other',
  TIME_TZ: 'other',
  TIMESTAMP_TZ: 'timestamptz',
  ANY: 'other',
  BIGNUM: 'other',
  SQLNULL: 'null',
  STRING_LITERAL: 'text',
  INTEGER_LITERAL: 'other',
  TIME_NS: 'other',
  GEOMETRY: 'other',
  VARIANT: 'other',
};

export function valueKind(column: ResultColumn): ValueKind {
  return kinds[column.type];
}

/**
 * Text styles: csv, json, and table (whose cells are the CSV's text). Times are ISO 8601 in UTC
 * with a Z (2024-01-02T00:00:00Z), with their sub-second digits (6, or 9 for TIMESTAMP_NS) only
 * when a value has some; a whole DOUBLE is written without ".0" in csv and tables (1000, not
 * 1000.0), while JSON keeps numbers as numbers.
 */
export type TextStyle = 'csv' | 'json' | 'table';

/** A microsecond timestamp as ISO 8601 text. */
function isoMicros(c: string): string {
  return `CASE WHEN epoch_us(${c}) % 1000000 = 0 THEN strftime(${c}, '%Y-%m-%dT%H:%M:%SZ') ELSE strftime(${c}, '%Y-%m-%dT%H:%M:%S.%fZ') END`;
}

/**
 * A nanosecond timestamp as ISO 8601 text, from integers: DuckDB's strftime garbles %n, and a
 * cast to microseconds truncates towards zero, which is the wrong second before 1970.
 */
function isoNanos(c: string): string {
  const frac = `((epoch_ns(${c}) % 1000000000 + 1000000000) % 1000000000)`;
  return (
    `CASE WHEN ${c} IS NULL THEN NULL ELSE strftime(make_timestamp((epoch_ns(${c}) - ${frac}) // 1000), '%Y-%m-%dT%H:%M:%S') || ` +
    `CASE WHEN ${frac} = 0 THEN 'Z' ELSE '.' || lpad(CAST(${frac} AS VARCHAR), 9, '0') || 'Z' END END`
  );
}

/**
 * DuckDB writes a whole DOUBLE as 1000.0; people and spreadsheets expect 1000. (A suffix test,
 * not a regular expression: that doubled the cost of writing a CSV of 3M rows.)
 */
function plainNumber(c: string): string {
  const text = `CAST(${c} AS VARCHAR)`;
  return `CASE WHEN ends_with(${text}, '.0') THEN left(${text}, -2) ELSE ${text} END`;
}

const textForm: Record<ValueKind, (c: string, style: TextStyle) => string> = {
  timestamp: (c) => isoMicros(c),
  timestamptz: (c) => isoMicros(`timezone('UTC', ${c})`),
  timestamp_ns: (c) => isoNanos(c),
  float32: (c, style) => (style === 'json' ? c : plainNumber(c)),
  float64: (c, style) => (style === 'json' ? c : plainNumber(c)),
  text: (c) => c,
  ...uniform(['boolean', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'decimal', 'hugeint', 'date', 'time', 'blob', 'null', 'other'], (c: string, style: TextStyle) =>
    // A table's cells are the CSV's text: DuckDB's, not JavaScript's (a DATE is not a Date, 1.50 keeps its 0).
    style === 'table' ? `CAST(${c} AS VARCHAR)` : c,
  ),
};

function uniform<K extends ValueKind, F>(keys: readonly K[], form: F): Record<K, F> {
  return Object.fromEntries(keys.map((k) => [k, form])) as Record<K, F>;
}

/** The query with each column in its text form, by position (a result may repeat a name). */
export function textQuery(sql: string, columns: readonly ResultColumn[], style: TextStyle): string {
  return wrap(sql, columns, (c, column) => textForm[valueKind(column)](c, style));
}

/**
 * The query with each column as the integers or text an Arrow column is built from: times as
 * epoch micro- or nanoseconds, dates as days, decimals as their digits.
 */
const arrowWireForm: Record<ValueKind, (c: string) => string> = {
  timestamp: (c) => `epoch_us(${c})`,
  timestamptz: (c) => `epoch_us(${c})`,
  timestamp_ns: (c) => `epoch_ns(${c})`,
  date: (c) => `date_diff('day', DATE '1970-01-01', ${c})`,
  time: (c) => `epoch_us(${c})`,
  decimal: (c) => `CAST(${c} AS VARCHAR)`,
  hugeint: (c) => `CAST(${c} AS VARCHAR)`,
  text: (c) => `CAST(${c} AS VARCHAR)`,
  other: (c) => `CAST(${c} AS VARCHAR)`,
  ...uniform(['boolean', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'float32', 'float64', 'blob', 'null'], (c: string) => c),
};

export function arrowWireQuery(sql: string, columns: readonly ResultColumn[]): string {
  return wrap(sql, columns, (c, column) => arrowWireForm[valueKind(column)](c));
}

function wrap(sql: string, columns: readonly ResultColumn[], form: (c: string, column: ResultColumn) => string): string {
  // The subquery keeps its ORDER BY: a projection over it does not reorder rows. The newline
  // ends a -- comment the query may close with.
  return `SELECT ${columns.map((column, i) => `${form(`#${i + 1}`, column)} AS ${ident(column.name)}`).join(', ')} FROM (${sql}\n)`;
}
