import os from 'node:os';
import { datasetNames, datasets, duckdbType } from '../../core/datasets.js';
import { ExitCode } from '../../core/errors.js';
import { parseGranularity } from '../../core/granularity.js';
import { ident, pathList } from '../../core/sql.js';
import { parseWindow } from '../../core/time-window.js';
import { allDatasetFiles } from '../../query/lake-files.js';
import { resolveOhlcvQuery } from '../../query/ohlcv-query.js';
import { writeQueryResult } from '../write-result.js';
import { formatRecords, queryFormats, resolveFormat, type Cell } from '../output.js';
import { stdoutIsTty, withContext, type GlobalOptions } from '../run-command.js';

export async function queryOhlcvCommand(opts: GlobalOptions, symbols: string[]): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty(), queryFormats);
  const granularity = parseGranularity(String(opts.granularity ?? '1d')).text;
  const window = parseWindow(opts.from as string | undefined, opts.to as string | undefined);
  return withContext(opts, 'mdw query ohlcv', async (ctx) => {
    const duck = await ctx.duck();
    const plan = await resolveOhlcvQuery(duck, ctx.paths.lake, {
      // As typed and in capitals: `aapl` finds AAPL, and a symbol stored in lower case is found too.
      symbols: [...new Set(symbols.flatMap((s) => [s, s.toUpperCase()]))],
      window,
      granularity,
      source: opts.source as string | undefined,
      columns: opts.columns as string[] | undefined,
      isoTimes: format !== 'arrow' && format !== 'parquet',
      limit: opts.limit as number | undefined,
    });
    if (plan.files.length === 0) {
      ctx.logger.warn(`no ${granularity} ohlcv data for ${symbols.join(', ')}${opts.source ? ` from ${String(opts.source)}` : ''} in ${ctx.paths.lake}`);
    }
    ctx.logger.debug(`query reads ${plan.files.length} partition files`, { files: plan.files.length });
    await writeQueryResult(duck, plan.sql, format, process.stdout, os.tmpdir());
    return ExitCode.ok;
  }, { fileLog: false });
}

export async function querySqlCommand(opts: GlobalOptions, sql: string): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty(), queryFormats);
  return withContext(opts, 'mdw query sql', async (ctx) => {
    const duck = await ctx.duck();
    for (const name of datasetNames) {
      const files = allDatasetFiles(ctx.paths.lake, name);
      const def = datasets[name];
      const body = files.length
        ? `SELECT * FROM read_parquet(${pathList(files)}, union_by_name = true, hive_partitioning = false)`
        : `SELECT ${[...def.columns.map((c) => `CAST(NULL AS ${duckdbType[c.type]}) AS ${ident(c.name)}`), `CAST(NULL AS VARCHAR) AS granularity`, `CAST(NULL AS VARCHAR) AS source`, `CAST(NULL AS VARCHAR) AS batch_id`].join(', ')} WHERE false`;
      await duck.run(`CREATE OR REPLACE VIEW ${ident(name)} AS ${body}`);
    }
    const statement = sql.trim().replace(/;+\s*$/, '');
    if (/^(select|with|from|values|table|\()/i.test(statement)) {
      await writeQueryResult(duck, statement, format, process.stdout, os.tmpdir());
    } else {
      // DESCRIBE, SHOW, SUMMARIZE ... cannot sit inside COPY; they are small, so rows are fine.
      const result = await duck.columns(statement);
      const rows: Record<string, Cell>[] = [];
      for (let r = 0; r < result.rowCount; r++) {
        rows.push(Object.fromEntries(result.names.map((n, i) => [n, result.columns[i]![r] as Cell])));
      }
      process.stdout.write(formatRecords(rows, result.names, format === 'arrow' || format === 'parquet' ? 'csv' : format));
    }
    return ExitCode.ok;
  }, { fileLog: false });
}

