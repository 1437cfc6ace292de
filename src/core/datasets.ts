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
  /** What the stages do with its rows (see `kinds`). */
  readonly kind: DatasetKind;
  /**
   * Bars: the columns the series rules read (gap, volume, stale). Null for kinds that are not
   * scored as a series.
   */
  readonly series: SeriesColumns | null;
  /** Built by `mdw curate` from other datasets, never fetched: it lives under lake/curated/. */
  readonly curated?: boolean;
  /** The validation rules a job uses when it names none (configs/validation/<name>.yml). */
  readonly defaultValidation: string;
  /**
   * Values no real row holds, whatever the validation rules say (a validation file's bounds:
   * may move them): a high of 1e308 or a volume of 1e23 is a bad print or a broken file.
   */
  readonly plausible: Plausible;
}

export interface Plausible {
  /** The largest price a row may hold (BRK.A trades near 1e6; a bolivar price near 1e8), or null. */
  readonly maxPrice: number | null;
  /** The largest volume (meme tokens trade up to ~1e15 units a day), or null. */
  readonly maxVolume: number | null;
  /** The earliest time a row may have (year 0000 and negative years are misread dates). */
  readonly earliest: string;
  /** Days after today a row's time may lie: dividends are declared months ahead. */
  readonly aheadDays: number;
}

/** For datasets without prices or volumes: times only. */
const timesOnly: Plausible = { maxPrice: null, maxVolume: null, earliest: '1700-01-01', aheadDays: 366 };

/** The columns of a dataset the series rules read: a bar's prices and its volume. */
export interface SeriesColumns {
  readonly open: string;
  readonly high: string;
  readonly low: string;
  readonly close: string;
  readonly volume: string;
}

/**
 * How the stages treat a dataset's rows. A new dataset picks a kind; a new kind is one entry
 * here, and the compiler then asks every stage that reads `kinds` what it does with it.
 */
export type DatasetKind = 'bars' | 'events' | 'reference' | 'ticks' | 'vintaged';

export interface KindBehaviour {
  readonly description: string;
  /** Series rules (gap, volume, stale) score the rows, and quality and flags are stored beside them. */
  readonly scored: boolean;
  /** Rows belong to sessions of a trading calendar: in_session checks them, a job may name a calendar. */
  readonly sessions: boolean;
  /** The audit counts rows per session against what the calendar expects, and compares sources. */
  readonly completeness: boolean;
  /** The reader checks input order (repeats, bars earlier than the one before). */
  readonly ordered: boolean;
  /** How far the newest row trails now says how stale the data is (`mdw status` lag). */
  readonly lags: boolean;
}

/** Records judged one by one (record rules and integrity), with no session, series or lag. */
const records = { scored: false, sessions: false, completeness: false, ordered: false, lags: false } as const;

export const kinds: Record<DatasetKind, KindBehaviour> = {
  bars: {
    description: 'bars of a trading calendar: series rules, in_session, completeness and agreement between sources',
    scored: true,
    sessions: true,
    completeness: true,
    ordered: true,
    lags: true,
  },
  events: { ...records, description: 'dated events (corporate actions): record rules and integrity' },
  reference: { ...records, description: 'reference records versioned by as-of (tickers; later listings and instrument definitions)' },
  ticks: { ...records, sessions: true, ordered: true, lags: true, description: 'trades and quotes: nanosecond times, in_session, no completeness by bar' },
  vintaged: { ...records, description: 'series with a value per realtime interval (econ series and their vintages)' },
};

/** The behaviour of a dataset's kind. */
export function kindOf(def: DatasetDef): KindBehaviour {
  return kinds[def.kind];
}

export type DatasetName = 'ohlcv' | 'ohlcv_gold' | 'ohlcv_resampled' | 'corporate_actions' | 'tickers' | 'adjustments' | 'crypto_market';

/** The columns of a bar, as every bars dataset stores them. */
const barColumns: readonly ColumnDef[] = [
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
];

export const datasets: Record<DatasetName, DatasetDef> = {
  ohlcv: {
    name: 'ohlcv',
    description: 'OHLCV bars, from ticks-aggregated seconds to months; ts is the start of the bar in UTC (daily bars: the session date at 00:00Z)',
    columns: [...barColumns, { name: 'quote_volume', type: 'double', required: false, role: 'volume', description: 'crypto: volume in the quote asset (USDT of BTCUSDT), when the source has it' }],
    key: ['symbol', 'ts'],
    timeColumn: 'ts',
    symbolColumn: 'symbol',
    kind: 'bars',
    series: { open: 'open', high: 'high', low: 'low', close: 'close', volume: 'volume' },
    defaultValidation: 'default',
    plausible: { ...timesOnly, maxPrice: 1e9, maxVolume: 1e16 },
  },
  ohlcv_gold: {
    name: 'ohlcv_gold',
    description:
      'one series of bars per symbol chosen row by row from the sources of a gold curate job: each bar is one source\'s, by priority and quality, never an average, with its provenance',
    columns: [
      ...barColumns,
      { name: 'gold_source', type: 'varchar', required: true, description: 'the source this bar was taken from' },
      { name: 'sources', type: 'bigint', required: true, description: 'how many of the gold sources had a bar at this time' },
      { name: 'disagree', type: 'boolean', required: true, description: "whether another source's close differs from this bar's by more than the job's tolerance" },
      { name: 'spread', type: 'double', required: false, description: 'the largest relative difference of another source\'s close from this bar\'s (null with one source)' },
    ],
    key: ['symbol', 'ts'],
    timeColumn: 'ts',
    symbolColumn: 'symbol',
    kind: 'bars',
    series: { open: 'open', high: 'high', low: 'low', close: 'close', volume: 'volume' },
    curated: true,
    defaultValidation: 'gold',
    plausible: { ...timesOnly, maxPrice: 1e9, maxVolume: 1e16 },
  },
  ohlcv_resampled: {
    name: 'ohlcv_resampled',
    description:
      "bars of a source resampled by a curate job to the larger sizes it lists, on the source job's trading calendar (what mdw query ohlcv -g computes on the fly, stored): mdw query ohlcv reads them when the source stores no bars of that size",
    columns: [
      ...barColumns,
      { name: 'resampled_from', type: 'varchar', required: true, description: 'the stored bar size these bars were built from, e.g. 1m' },
      { name: 'partial', type: 'boolean', required: false, description: '1d, 1w and 1mo bars: fewer source bars (or sessions) than the calendar holds in the period; null for intraday bars' },
    ],
    key: ['symbol', 'ts'],
    timeColumn: 'ts',
    symbolColumn: 'symbol',
    kind: 'bars',
    series: { open: 'open', high: 'high', low: 'low', close: 'close', volume: 'volume' },
    curated: true,
    defaultValidation: 'resampled',
    plausible: { ...timesOnly, maxPrice: 1e9, maxVolume: 1e16 },
  },
  corporate_actions: {
    name: 'corporate_actions',
    description: 'splits and dividends, one row per (symbol, ex_date, action); ex_date is the first session traded without the entitlement, at 00:00Z',
    columns: [
      { name: 'symbol', type: 'varchar', required: true, description: 'ticker as the vendor names it on the ex-date' },
      { name: 'ex_date', type: 'timestamp', required: true, description: 'ex-date (splits: execution date) at 00:00, a session date' },
      {
        name: 'action',
        type: 'varchar',
        required: true,
        description: 'split (forward or reverse: compare split_from and split_to), cash_dividend, special_dividend, lt_capital_gain, st_capital_gain or stock_dividend',
      },
      { name: 'split_from', type: 'double', required: false, description: 'split: shares held before (a 4-for-1 split is 1 -> 4; a 1-for-50 reverse split is 50 -> 1)' },
      { name: 'split_to', type: 'double', required: false, description: 'split: shares held after' },
      { name: 'cash_amount', type: 'double', required: false, description: 'cash dividend per share, in currency' },
      { name: 'stock_rate', type: 'double', required: false, description: 'stock dividend: new shares per share held (0.05 = 5%)' },
      { name: 'currency', type: 'varchar', required: false, description: 'currency of cash_amount (ISO 4217, upper case), when the vendor says' },
      { name: 'declaration_date', type: 'date', required: false, description: 'date the action was declared' },
      { name: 'record_date', type: 'date', required: false, description: 'holders of record on this date are entitled' },
      { name: 'pay_date', type: 'date', required: false, description: 'date the cash or shares are paid' },
      { name: 'frequency', type: 'bigint', required: false, description: 'dividends a year (0 one-off, 1, 2, 4, 12), when the vendor says' },
      { name: 'vendor_id', type: 'varchar', required: false, description: "the vendor's id of the action, when it has one" },
    ],
    key: ['symbol', 'ex_date', 'action'],
    timeColumn: 'ex_date',
    symbolColumn: 'symbol',
    kind: 'events',
    series: null,
    defaultValidation: 'corporate-actions',
    plausible: timesOnly,
  },
  crypto_market: {
    name: 'crypto_market',
    description:
      "a coin's market data as an aggregator samples it (CoinGecko's market_chart): price, market cap and the 24-hour rolling volume at each sample time; samples are not bars (no open or close), and the last one of an answer is its 'now'",
    columns: [
      { name: 'symbol', type: 'varchar', required: true, description: "the job's symbol for the coin (BTC for CoinGecko's bitcoin)" },
      { name: 'ts', type: 'timestamp', required: true, description: 'the sample time in UTC, as sent (hourly samples are not on the hour; daily ones at 00:00)' },
      { name: 'price', type: 'double', required: true, role: 'price', description: "price in the job's vs_currency" },
      { name: 'market_cap', type: 'double', required: false, description: "market capitalisation in the job's vs_currency (0 where the aggregator has no supply figure)" },
      { name: 'total_volume', type: 'double', required: false, role: 'volume', description: "traded value over the 24 hours before ts, in the job's vs_currency (rolling: not the volume of a bar)" },
    ],
    key: ['symbol', 'ts'],
    timeColumn: 'ts',
    symbolColumn: 'symbol',
    kind: 'events',
    series: null,
    defaultValidation: 'crypto-market',
    plausible: { ...timesOnly, maxPrice: 1e9, maxVolume: 1e16, aheadDays: 1 },
  },
  tickers: {
    name: 'tickers',
    description: "reference tickers: one row per symbol and as_of, the vendor's record of the listing as of that date (keeps delisted names, for universes without survivorship bias)",
    columns: [
      { name: 'symbol', type: 'varchar', required: true, description: 'ticker as the vendor names it (X:BTCUSD for crypto at Polygon)' },
      { name: 'as_of', type: 'timestamp', required: true, description: "the date the vendor's record describes, at 00:00 (Polygon: last_updated_utc)" },
      { name: 'name', type: 'varchar', required: false, description: 'issuer or instrument name' },
      { name: 'market', type: 'varchar', required: false, description: 'stocks, crypto, fx, otc or indices' },
      { name: 'locale', type: 'varchar', required: false, description: 'us or global' },
      { name: 'primary_exchange', type: 'varchar', required: false, description: 'MIC of the primary listing, e.g. XNYS, XNAS' },
      { name: 'type', type: 'varchar', required: false, description: "the vendor's security type, e.g. CS (common stock), ETF, ADRC" },
      { name: 'active', type: 'boolean', required: true, description: 'listed and trading as of as_of' },
      { name: 'currency', type: 'varchar', required: false, description: 'trading currency (ISO 4217, upper case)' },
      { name: 'cik', type: 'varchar', required: false, description: 'SEC central index key, with its leading zeros' },
      { name: 'composite_figi', type: 'varchar', required: false, description: 'OpenFIGI composite id' },
      { name: 'share_class_figi', type: 'varchar', required: false, description: 'OpenFIGI share class id' },
      { name: 'listed_at', type: 'timestamp', required: false, description: 'the date it was first listed (IPO), where the vendor says (Alpha Vantage ipoDate, FMP ipoDate); the backfill plans nothing before it' },
      { name: 'delisted_at', type: 'timestamp', required: false, description: 'when it was delisted (UTC), for inactive tickers' },
      { name: 'last_updated', type: 'timestamp', required: false, description: "the vendor's last update of the record (UTC)" },
    ],
    key: ['symbol', 'as_of'],
    timeColumn: 'as_of',
    symbolColumn: 'symbol',
    kind: 'reference',
    series: null,
    defaultValidation: 'tickers',
    plausible: timesOnly,
  },
  adjustments: {
    name: 'adjustments',
    description:
      "the adjustment log of a bars source, built by mdw curate: one row per corporate action with the factors it applies to that source's prices before its ex-date, and the action and close behind them",
    columns: [
      { name: 'symbol', type: 'varchar', required: true, description: 'ticker, as the bars name it' },
      { name: 'ex_date', type: 'timestamp', required: true, description: 'the ex-date at 00:00: bars before it are adjusted by the factors' },
      { name: 'action', type: 'varchar', required: true, description: 'split, stock_dividend, cash_dividend, special_dividend, lt_capital_gain or st_capital_gain' },
      { name: 'action_source', type: 'varchar', required: true, description: 'the corporate_actions source the action came from' },
      { name: 'action_batch', type: 'varchar', required: false, description: 'the batch that loaded the action' },
      { name: 'ratio', type: 'double', required: false, description: 'splits and stock dividends: shares after per share before (split_to / split_from; 1 + stock_rate)' },
      { name: 'cash_amount', type: 'double', required: false, description: "dividends: cash per share in the bars' basis (carried over the later splits where the action source's basis and the bars' differ)" },
      { name: 'session_before', type: 'timestamp', required: false, description: "dividends: the last bar before the ex-date in the bars source" },
      { name: 'close_before', type: 'double', required: false, description: "dividends: that bar's close, which the factor divides the cash by" },
      { name: 'split_factor', type: 'double', required: true, description: "multiplies prices before the ex-date for splits: 1 / ratio, 1 for dividends, and 1 for a source whose prices already reflect splits" },
      { name: 'dividend_factor', type: 'double', required: true, description: 'multiplies prices before the ex-date for the dividend: 1 - cash_amount / close_before; 1 for splits' },
      { name: 'withdrawn', type: 'boolean', required: false, description: 'true when the action is gone from its sources: kept with factors of 1, so that it adjusts nothing' },
    ],
    key: ['symbol', 'ex_date', 'action'],
    timeColumn: 'ex_date',
    symbolColumn: 'symbol',
    kind: 'events',
    series: null,
    curated: true,
    defaultValidation: 'adjustments',
    plausible: timesOnly,
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

export const duckdbType = {
  varchar: 'VARCHAR',
  double: 'DOUBLE',
  bigint: 'BIGINT',
  timestamp: 'TIMESTAMP',
  date: 'DATE',
  boolean: 'BOOLEAN',
} as const satisfies Record<ColumnType, string>;
