import type { CalendarName } from '../calendar/calendar.js';
import type { StampConvention } from '../calendar/session-stamp.js';
import type { ScheduleSpec } from '../cron/schedule.js';
import type { DatasetName } from '../core/datasets.js';
import type { AdapterName } from '../sources/index.js';

/** As written in configs/transforms/*.yml (schema: configs/schema/transform.schema.json). */
export interface ReadOptions {
  readonly format?: 'csv' | 'json' | 'ndjson';
  /** json: path of the array of records in each document. */
  readonly records?: string;
  readonly delimiter?: string;
  readonly header?: boolean;
  readonly columns?: readonly string[];
  readonly skip?: number;
  readonly quote?: string;
  /** json with keyed records (`a.*`): read only the lists under these keys. */
  readonly keys?: readonly string[];
}

export type Scalar = string | number | boolean | null;

export interface ColumnRule {
  readonly from: string | readonly string[];
  readonly date?: string;
  readonly datetime?: string;
  readonly epoch?: 's' | 'ms' | 'us' | 'ns';
  readonly timezone?: string;
  readonly label?: 'start' | 'end';
  readonly scale?: number;
  readonly default?: Scalar;
  /** Source text -> stored text (after joining several `from` columns with a space); others pass as they are. */
  readonly map?: Readonly<Record<string, string>>;
  /** The source may lack this field altogether (a vendor omits empty fields): NULL then. */
  readonly optional?: boolean;
  /** Text columns: stored in this case. */
  readonly case?: 'upper' | 'lower';
  /** Only records whose source fields hold one of these texts get a value; the others get NULL. */
  readonly when?: Readonly<Record<string, readonly string[]>>;
  /** Daily and longer bars stamped at an instant: which session the stamp names, per market. */
  readonly stamp?: StampRule;
}

/** A default convention, and per market (symbols matching an RE2 pattern; first match wins) its own. */
export type StampRule = StampConvention & { readonly markets?: readonly (StampConvention & { readonly symbols: string })[] };

export interface SymbolRule {
  readonly from?: string;
  readonly from_filename?: string;
  readonly value?: string;
  readonly case?: 'upper' | 'lower' | 'keep';
  readonly strip_suffix?: readonly string[];
  readonly map?: Readonly<Record<string, string>>;
}

export interface TransformRules {
  readonly description?: string;
  readonly dataset: DatasetName;
  readonly read?: ReadOptions;
  readonly columns: Readonly<Record<string, ColumnRule>>;
  readonly symbol?: SymbolRule;
  readonly price_scale?: number;
  /** What the source's prices already reflect: curate does not apply those actions again. */
  readonly adjusted_for?: readonly ('splits' | 'dividends')[];
  readonly constants?: Readonly<Record<string, Scalar>>;
  readonly nulls?: readonly string[];
  /** Records that are not rows of the dataset: source field -> texts that mark them (all must match); counted as filtered. */
  readonly skip_when?: Readonly<Record<string, readonly string[]>>;
}

export type RecordRuleKind = 'required' | 'ohlc_bracket' | 'positive_prices' | 'non_negative_volume' | 'max_move' | 'in_session' | 'positive' | 'required_when' | 'one_of';

export interface RecordRuleSpec {
  readonly rule: RecordRuleKind;
  readonly tolerance?: number;
  readonly limit?: number;
  /** positive, required_when, one_of: the columns it checks. */
  readonly columns?: readonly string[];
  /** one_of: the values those columns may hold. */
  readonly values?: readonly string[];
  /** required_when: the rows it applies to, column -> the values that select them. */
  readonly when?: Readonly<Record<string, readonly string[]>>;
}

/** Series rules: they flag rows and lower their quality score, and never drop a row. */
export interface SeriesRuleSpecs {
  readonly gap?: { readonly threshold?: number; readonly penalty?: number };
  readonly volume?: { readonly window?: number; readonly above?: number; readonly below?: number; readonly penalty?: number };
  readonly stale?: { readonly bars?: number; readonly penalty?: number };
}

/** Plausibility bounds, always enforced; each defaults per dataset (core/datasets.ts). */
export interface Bounds {
  readonly max_price?: number;
  readonly max_volume?: number;
  readonly earliest?: string;
  readonly ahead_days?: number;
}

export interface ValidationRules {
  readonly description?: string;
  readonly dataset: DatasetName;
  readonly rules: readonly RecordRuleSpec[];
  readonly series?: SeriesRuleSpecs;
  readonly quality?: { readonly threshold?: number };
  readonly bounds?: Bounds;
}

export type PartitionPeriod = 'year' | 'month' | 'day';

export interface PartitionRule {
  readonly granularities?: readonly string[];
  readonly period: PartitionPeriod;
  readonly by_symbol: boolean;
}

export interface DatasetsConfig {
  readonly datasets: Readonly<Partial<Record<DatasetName, { readonly partitions: readonly PartitionRule[] }>>>;
}

/** As written in configs/jobs/*.yml (schema: configs/schema/job.schema.json). */
export interface JobSpec {
  readonly name?: string;
  readonly description?: string;
  readonly dataset: DatasetName;
  readonly granularity: string;
  readonly calendar?: CalendarName;
  readonly extended_hours?: boolean;
  readonly source: {
    readonly name: string;
    readonly adapter: AdapterName;
    readonly files?: readonly string[];
    /** polygon: split- and dividend-adjusted prices (default false: store what traded). */
    readonly adjusted?: boolean;
    /** alpaca: raw (default), split, dividend or all. */
    readonly adjustment?: 'raw' | 'split' | 'dividend' | 'all';
    /** alpaca: sip (default), iex or otc. */
    readonly feed?: 'sip' | 'iex' | 'otc';
    /** Vendor adapters: which of the vendor's endpoints serves the dataset (the fetchers in sources/index.ts). */
    readonly endpoint?: string;
    readonly read?: ReadOptions;
    /** coingecko: symbol -> coin id (BTC: bitcoin). */
    readonly coins?: Readonly<Record<string, string>>;
    /** coingecko: the quote currency (default usd). */
    readonly vs_currency?: string;
  };
  readonly transform: string;
  readonly validation?: string;
  readonly symbols?: readonly string[];
  readonly window?: { readonly from?: string; readonly to?: string };
  /** When cron runs the job (mdw cron). */
  readonly schedule?: ScheduleSpec;
  readonly sink?: { readonly kind: 'lake' };
}
