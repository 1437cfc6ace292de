import { datasetNames, datasets, duckdbType, kindOf, lineageColumns, qualityColumns } from '../core/datasets.js';
import { ident, pathList } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { allDatasetFiles } from './lake-files.js';

/**
 * A view per dataset (ohlcv, ...) over all of its files as they are now, for ad-hoc SQL. An
 * empty dataset is an empty view with the canonical columns, so queries still bind.
 */
export async function createDatasetViews(duck: DuckSession, lakeRoot: string): Promise<void> {
  for (const name of datasetNames) {
    const files = allDatasetFiles(lakeRoot, name);
    const columns = [...datasets[name].columns, ...lineageColumns, ...(kindOf(datasets[name]).scored ? qualityColumns : [])];
    const body = files.length
      ? `SELECT * FROM read_parquet(${pathList(files)}, union_by_name = true, hive_partitioning = false)`
      : `SELECT ${columns.map((c) => `CAST(NULL AS ${duckdbType[c.type]}) AS ${ident(c.name)}`).join(', ')} WHERE false`;
    await duck.run(`CREATE OR REPLACE VIEW ${ident(name)} AS ${body}`);
  }
}
