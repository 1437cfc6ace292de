import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExitCode } from '../../core/errors.js';
import { parseGranularity } from '../../core/granularity.js';
import { parseWindow } from '../../core/time-window.js';
import { createDatasetViews } from '../../query/dataset-views.js';
import { heldSymbols, missingSymbolNotes } from '../../query/held-symbols.js';
import { resolveBars } from '../../query/resampled-ohlcv.js';
import { calendarNamed } from '../../calendar/registry.js';
import type { AdjustBasis } from '../../curate/adjustments.js';
import { readOnlyQuery, refusingOutside } from '../../query/read-only-sql.js';
import { writeQueryResult } from '../write-result.js';
import { queryFormats, resolveFormat } from '../output.js';
import { stdoutIsTty, withContext, type GlobalOptions } from '../run-command.js';

export async function queryOhlcvCommand(opts: GlobalOptions, symbols: string[]): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty(), queryFormats);
  const granularity = parseGranularity(String(opts.granularity ?? '1d')).text;
  const window = parseWindow(opts.from as string | undefined, opts.to as string | undefined);
  return withContext(opts, 'mdw query ohlcv', async (ctx) => {
    const duck = await ctx.duck();
    const plan = await resolveBars(duck, ctx.paths.lake, {
      symbols,
      window,
      granularity,
      source: opts.source as string | undefined,
      columns: opts.columns as string[] | undefined,
      limit: opts.limit as number | undefined,
      minQuality: opts.minQuality as number | undefined,
      adjust: opts.adjust as AdjustBasis | undefined,
      gold: opts.gold === true,
    }, { calendar: opts.calendar === undefined ? undefined : calendarNamed(String(opts.calendar)), extendedHours: opts.extendedHours === true });
    if (plan.resampled) {
      ctx.logger.info(
        plan.resampled.stored
          ? `no ${granularity} bars from the vendor: read the ${granularity} bars a curate job resampled from the ${plan.resampled.from} bars stored now, on the ${plan.resampled.calendar} calendar (--calendar to change)`
          : `no ${granularity} bars stored: resampled from ${plan.resampled.from} bars on the ${plan.resampled.calendar} calendar (--calendar to change)`,
      );
    }
    if (plan.sources.length > 1 && !(opts.columns as string[] | undefined)?.includes('source')) {
      ctx.logger.info(`rows from ${plan.sources.length} sources (${plan.sources.join(', ')}), told apart by the source column; --source picks one`);
    }
    ctx.logger.debug(`query reads ${plan.files.length} partition files`, { files: plan.files.length });
    const rows = await writeQueryResult(duck, plan.sql, format, process.stdout, os.tmpdir(), plan.columns);
    if (rows === 0) {
      // Only now, when nothing came back, is the whole lake's list of symbols worth reading.
      ctx.logger.debug('no rows: reading the symbols the lake holds');
      for (const note of missingSymbolNotes('ohlcv', symbols, await heldSymbols(duck, ctx.paths.lake, 'ohlcv'))) ctx.logger.warn(note);
    }
    return ExitCode.ok;
  }, { fileLog: false });
}

export async function querySqlCommand(opts: GlobalOptions, sql: string): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty(), queryFormats);
  return withContext(opts, 'mdw query sql', async (ctx) => {
    const duck = await ctx.duck();
    const statement = await readOnlyQuery(duck, sql);
    // DuckDB writes the result itself (write-result.ts), to /dev/stdout or to a file in a folder
    // of this query's own; it may open nothing else outside the lake.
    const out = mkdtempSync(path.join(os.tmpdir(), 'mdw-query-'));
    try {
      await duck.confine({ directories: [ctx.paths.lake, out], paths: ['/dev/stdout'] });
      await createDatasetViews(duck, ctx.paths.lake);
      await refusingOutside(() => writeQueryResult(duck, statement, format, process.stdout, out));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    return ExitCode.ok;
  }, { fileLog: false });
}
