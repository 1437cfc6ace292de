/**
 * Canonical dataset schemas. Every stage reads these; adding a dataset here without handling it
 * elsewhere fails to compile wherever a Record<DatasetName, ...> is required.
 */

export type ColumnType = 'varchar' | 'double' | 'bigint' | 'timestamp' | 'date' | 'boolean';

export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
  /** A row without it is quarantined. */
  readonly required: boolean;
  readonly description: string;
  /** Prices are scaled by price_scale and must be positive; volumes must not be negative. */
  readonly role?: 'price' | 'volume';
}

export interface DatasetDef {
  readonly name: DatasetName;
  readonly description: string;
  /** Columns a transform produces (the loader adds granularity, source and batch_id). */
  readonly columns: readonly ColumnDef[];
  /** Unique within one (source, granularity). */
  readonly key: readonly string[];
  readonly timeColumn: string;
  /** The column naming the instrument, or null for datasets without one. */
  readonly symbolColumn: string | null;
}

export type DatasetName = 'ohlcv';

export const datasets: Record<DatasetName, DatasetDef> = {
  ohlcv: {
    name: 'ohlcv',
    description: 'OHLCV bars, from ticks-aggregated seconds to months; ts is the start of the bar in UTC (daily bars: the session date at 00:00Z)',
    columns: [
      { name: 'symbol', type: 'varchar', required: true, description: 'normalised ticker' },
      { name: 'ts', type: 'timestamp', required: true, description: 'bar start in UTC (TIMESTAMP, no zone attached); the session date at 00:00 for daily and longer bars' },
      { name: 'open', type: 'double', required: true, role: 'price', description: 'first trade price' },
      { name: 'high', type: 'double', required: true, role: 'price', description: 'highest trade price' },
      { name: 'low', type: 'double', required: true, role: 'price', description: 'lowest trade price' },
      { name: 'close', type: 'double', required: true, role: 'price', description: 'last trade price' },
      { name: 'volume', type: 'double', required: true, role: 'volume', description: 'shares or units traded (fractional for crypto and some adjusted files)' },
      { name: 'vwap', type: 'double', required: false, role: 'price', description: 'volume-weighted average price, when the source has it' },
      { name: 'trades', type: 'bigint', required: false, description: 'number of trades, when the source has it' },
      { name: 'adj_close', type: 'double', required: false, role: 'price', description: 'close adjusted for splits and dividends, as the source computed it' },
    ],
    key: ['symbol', 'ts'],
    timeColumn: 'ts',
    symbolColumn: 'symbol',
  },
};

export const datasetNames = Object.keys(datasets) as DatasetName[];

/** Columns the loader adds to every stored row. */
export const lineageColumns: readonly ColumnDef[] = [
  { name: 'granularity', type: 'varchar', required: true, description: 'bar size, e.g. 1m or 1d' },
  { name: 'source', type: 'varchar', required: true, description: 'source name from the job' },
  { name: 'batch_id', type: 'varchar', required: true, description: 'the batch that last wrote this row' },
];

/** Columns the loader writes beside the data of every row, from the series rules (validate/series-rules.ts). */
export const qualityColumns: readonly ColumnDef[] = [
  { name: 'quality', type: 'double', required: false, description: 'quality score 0-1: 1 minus the penalties of the flags; validated when at least the threshold (0.85 by default)' },
  { name: 'flags', type: 'varchar', required: false, description: 'series flags, comma-separated: gap (possible split or halt), volume_spike, volume_low, stale; NULL when none' },
];

/** Columns compared to decide whether a stored row changed. */
export function valueColumns(def: DatasetDef): string[] {
  return def.columns.map((c) => c.name).filter((n) => !def.key.includes(n));
}

export const duckdbType: Record<ColumnType, string> = {
  varchar: 'VARCHAR',
  double: 'DOUBLE',
  bigint: 'BIGINT',
  timestamp: 'TIMESTAMP',
  date: 'DATE',
  boolean: 'BOOLEAN',
};
