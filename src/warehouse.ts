import { homePaths, resolveSettings } from './core/settings.js';
import { parseWindow } from './core/time-window.js';
import { DuckSession, type TypedColumns } from './lake/duckdb.js';
import { createDatasetViews } from './query/dataset-views.js';
import { resolveBars } from './query/resampled-ohlcv.js';
import { calendarNamed } from './calendar/registry.js';
import type { AdjustBasis } from './curate/adjustments.js';
import { readOnlyQuery, refusingOutside } from './query/read-only-sql.js';

export interface OhlcvQuery {
  readonly symbols: readonly string[];
  /** A date (YYYY-MM-DD, inclusive) or an ISO date-time with offset. */
  readonly from?: string;
  readonly to?: string;
  /**
   * Default 1d. A size the lake does not store is resampled from the finest stored one that
   * divides it (1m -> 1h, 1d -> 1w ...); 1d, 1w and 1mo then have a `partial` column.
   */
  readonly granularity?: string;
  /** The trading calendar resampled bars follow (XNYS, 24/7, 24/5); default XNYS. */
  readonly calendar?: string;
  /** Resampled intraday bars keep the pre- and post-market. */
  readonly extendedHours?: boolean;
  /** One source. Without it, bars of several sources come with a source column, ordered by symbol, ts, source. */
  readonly source?: string;
  readonly columns?: readonly string[];
  /** none (default): as stored; splits, or all (splits and dividends): by the source's adjustment log (mdw curate). */
  readonly adjust?: AdjustBasis;
  /** The gold series (mdw curate) instead of the vendors' bars; `source` then names the gold series. */
  readonly gold?: boolean;
}

/**
 * The library API: the same reads as `mdw query`, in-process, with results as typed arrays.
 * Open once and query many times; reads never need the catalog.
 *
 *   const wh = await Warehouse.open({ home: '/srv/mdw/warehouse' });
 *   const bars = await wh.ohlcv({ symbols: ['AAPL'], from: '2024-01-02', to: '2024-01-31', granularity: '1m' });
 *   const close = bars.columns[bars.names.indexOf('close')] as Float64Array;
 */
export class Warehouse {
  private constructor(
    readonly home: string,
    private readonly lake: string,
    private readonly duck: DuckSession,
  ) {}

  static async open(options: { home?: string; env?: NodeJS.ProcessEnv; threads?: number } = {}): Promise<Warehouse> {
    const settings = resolveSettings({ home: options.home }, options.env ?? process.env);
    const paths = homePaths(settings.home);
    const duck = await DuckSession.open({ threads: options.threads ?? settings.duckdbThreads, memoryLimit: settings.duckdbMemoryLimit, tempDir: paths.tmp });
    try {
      // sql() runs the caller's SQL on this session: it reads the lake and nothing else.
      await duck.confine({ directories: [paths.lake] });
    } catch (err) {
      duck.close();
      throw err;
    }
    return new Warehouse(settings.home, paths.lake, duck);
  }

  /** Bars of one or more symbols; ts is microseconds since the epoch (UTC) in a BigInt64Array. */
  async ohlcv(query: OhlcvQuery): Promise<TypedColumns> {
    const plan = await resolveBars(this.duck, this.lake, {
      symbols: query.symbols,
      window: parseWindow(query.from, query.to),
      granularity: query.granularity ?? '1d',
      source: query.source,
      columns: query.columns,
      adjust: query.adjust,
      gold: query.gold,
    }, { calendar: query.calendar === undefined ? undefined : calendarNamed(query.calendar), extendedHours: query.extendedHours });
    return this.duck.typed(plan.sql);
  }

  /**
   * One SELECT (or DESCRIBE, SHOW, SUMMARIZE) over views named after the datasets, built over the
   * files as they are now; it may read files under the lake and nothing else. Anything else
   * throws a RefusedSqlError (code sql_refused) before it runs.
   */
  async sql(query: string): Promise<TypedColumns> {
    const statement = await readOnlyQuery(this.duck, query);
    await createDatasetViews(this.duck, this.lake);
    return refusingOutside(() => this.duck.typed(statement));
  }

  close(): void {
    this.duck.close();
  }
}

