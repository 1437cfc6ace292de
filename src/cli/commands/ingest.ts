import { failOrphanedRuns, finishRun, logRunEvent, startRun } from '../../catalog/runs.js';
import { loadJob } from '../../config/jobs.js';
import { MdwError, errorMessage, ExitCode } from '../../core/errors.js';
import { parseWindow } from '../../core/time-window.js';
import { runIngest, type IngestResult } from '../../pipeline/run-ingest.js';
import { formatRecords, resolveFormat, type Cell } from '../output.js';
import { requireHome, stdoutIsTty, withContext, type GlobalOptions } from '../run-command.js';

export async function ingestCommand(opts: GlobalOptions, jobName: string): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  return withContext(opts, `mdw ingest ${jobName}`, async (ctx) => {
    const job = loadJob(ctx.settings.configDir, jobName, ctx.env);
    if (!opts.dryRun) requireHome(ctx);
    const window = parseWindow(opts.from as string | undefined, opts.to as string | undefined);
    const symbols = (opts.symbols as string[] | undefined) ?? null;
    const dryRun = Boolean(opts.dryRun);
    let result: IngestResult;
    if (dryRun) {
      result = await runIngest(ctx, job, { window, symbols, dryRun, runId: null });
    } else {
      const catalog = await ctx.catalog(`mdw ingest ${job.name}`);
      const args = { from: opts.from ?? null, to: opts.to ?? null, symbols };
      const orphans = await failOrphanedRuns(catalog.sql, isAlive, ctx.clock.now());
      if (orphans > 0) ctx.logger.warn(`${orphans} earlier run${orphans === 1 ? '' : 's'} on this host ended without recording it; marked failed`);
      const runId = await startRun(catalog.sql, { command: 'ingest', job: job.name, args, at: ctx.clock.now() });
      await logRunEvent(catalog.sql, runId, { level: 'info', event: 'started', message: `ingest ${job.name}`, data: args, at: ctx.clock.now() });
      try {
        result = await runIngest(ctx, job, { window, symbols, dryRun, runId, full: Boolean(opts.full) });
      } catch (err) {
        const exitCode = err instanceof MdwError ? err.exitCode : ExitCode.failed;
        const message = errorMessage(err);
        await logRunEvent(catalog.sql, runId, { level: 'error', event: 'failed', message, at: ctx.clock.now() });
        await finishRun(catalog.sql, runId, { status: exitCode === ExitCode.partial ? 'partial' : 'failed', exitCode, error: message, at: ctx.clock.now() });
        throw err;
      }
      await logRunEvent(catalog.sql, runId, {
        level: 'info',
        event: 'finished',
        message: summaryLine(result),
        data: { batchIds: result.batchIds, skipped: result.skipped, ...result.counts, ...result.partitions },
        at: ctx.clock.now(),
      });
      await finishRun(catalog.sql, runId, { status: 'ok', exitCode: 0, at: ctx.clock.now() });
    }
    ctx.logger.info(summaryLine(result));
    if (result.quarantine) ctx.logger.warn(`${result.quarantine.rows} records quarantined: ${result.quarantine.files.join(', ')}`);
    process.stdout.write(render(result, format));
    return ExitCode.ok;
  });
}

function summaryLine(r: IngestResult): string {
  const c = r.counts;
  return (
    `${r.job}${r.dryRun ? ' (dry run)' : ''}: ${c.recordsIn} records from ${r.inputs - r.skipped} inputs` +
    (r.skipped ? ` (${r.skipped} unchanged, skipped)` : '') +
    '; ' +
    `${c.out} stored, ${c.deduped} already stored or repeated, ${c.quarantined} quarantined, ${c.filtered} outside the window or symbols; ` +
    `${r.partitions.written} partitions ${r.dryRun ? 'would be ' : ''}written, ${r.partitions.unchanged} unchanged`
  );
}

function render(r: IngestResult, format: ReturnType<typeof resolveFormat>): string {
  const record: Record<string, Cell> = {
    job: r.job,
    batches: r.batchIds.length,
    dry_run: r.dryRun,
    inputs: r.inputs,
    inputs_skipped: r.skipped,
    records_in: r.counts.recordsIn,
    stored: r.counts.out,
    deduped: r.counts.deduped,
    quarantined: r.counts.quarantined,
    filtered: r.counts.filtered,
    partitions_written: r.partitions.written,
    partitions_unchanged: r.partitions.unchanged,
    quarantine_files: r.quarantine?.files.join(' ') ?? null,
  };
  if (format === 'table') {
    return formatRecords(Object.entries(record).map(([field, value]) => ({ field, value })), ['field', 'value'], 'table');
  }
  return formatRecords([record], Object.keys(record), format);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
