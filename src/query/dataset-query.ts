import { datasets, duckdbType, type DatasetName } from '../core/datasets.js';
import { UsageError } from '../core/errors.js';
import { ident, literal, pathList, timestampLiteral } from '../core/sql.js';
import type { TimeWindow } from '../core/time-window.js';
import { encodeSegment } from '../lake/layout.js';
import type { ResultColumn } from '../lake/duckdb.js';
import { allDatasetFiles } from './lake-files.js';
import { symbolVariants } from './ohlcv-query.js';

/**
 * Reads of the datasets that are not bars (corporate actions, tickers, adjustment logs): rows of
 * some symbols, in a window of the dataset's time column, from one source or all, and for
 * reference data the record of each symbol as of a date. Bars go through ohlcv-query.ts.
 */
export interface DatasetRequest {
  readonly dataset: DatasetName;
  readonly symbols?: readonly string[] | undefined;
  readonly window: TimeWindow;
  readonly source?: string | undefined;
  /** Reference data: each symbol's newest record at or before this instant. */
  readonly asOf?: Date | undefined;
  readonly limit?: number | undefined;
}

export interface DatasetPlan {
  readonly sql: string;
  readonly files: readonly string[];
  readonly columns: readonly ResultColumn[];
}

export function planDatasetQuery(lakeRoot: string, req: DatasetRequest): DatasetPlan {
  const def = datasets[req.dataset];
  if (def.kind === 'bars') throw new UsageError(`${req.dataset} holds bars: read them as ohlcv bars (mdw query ohlcv, /api/v1/historical)`);
  if (req.asOf && def.kind !== 'reference') throw new UsageError(`as_of is for reference data (versioned by date); ${req.dataset} is not`);
  const columns: ResultColumn[] = [...def.columns, { name: 'source', type: 'varchar' as const }].map((c) => ({ name: c.name, type: duckdbType[c.type] }));
  const inSource = req.source ? `/source=${encodeSegment(req.source)}/` : null;
  const files = allDatasetFiles(lakeRoot, req.dataset).filter((f) => inSource === null || f.includes(inSource));
  if (files.length === 0) {
    return { sql: `SELECT ${columns.map((c) => `CAST(NULL AS ${c.type}) AS ${ident(c.name)}`).join(', ')} WHERE false`, files, columns };
  }
  const time = ident(def.timeColumn);
  const where: string[] = [];
  if (req.symbols?.length && def.symbolColumn) where.push(`${ident(def.symbolColumn)} IN (${symbolVariants(req.symbols).map((s) => literal(s)).join(', ')})`);
  if (req.window.from) where.push(`${time} >= ${timestampLiteral(req.window.from)}`);
  if (req.window.toExclusive) where.push(`${time} < ${timestampLiteral(req.window.toExclusive)}`);
  if (req.asOf) where.push(`${time} <= ${timestampLiteral(req.asOf)}`);
  const key = def.symbolColumn ? `${ident(def.symbolColumn)}, ` : '';
  const sql =
    `SELECT ${columns.map((c) => ident(c.name)).join(', ')} FROM read_parquet(${pathList(files)}, hive_partitioning = false, union_by_name = true)` +
    (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
    (req.asOf ? ` QUALIFY row_number() OVER (PARTITION BY ${key}source ORDER BY ${time} DESC) = 1` : '') +
    ` ORDER BY ${key}${time}, source` +
    (req.limit ? ` LIMIT ${Math.floor(req.limit)}` : '');
  return { sql, files, columns };
}
