import { jobArgument, loadJob } from '../../config/jobs.js';
import { ExitCode } from '../../core/errors.js';
import { parseWindow } from '../../core/time-window.js';
import { runIngest, type IngestResult } from '../../pipeline/run-ingest.js';
import { formatRecords, resolveFormat, type Cell } from '../output.js';
import { requireHome, stdoutIsTty, withContext, type GlobalOptions } from '../run-command.js';
import { trackedRun } from '../tracked-run.js';

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
      result = await trackedRun(
        ctx,
        catalog,
        { command: 'ingest', job: job.name, args },
        (runId) => runIngest(ctx, job, { window, symbols, dryRun, runId, full: Boolean(opts.full), refetch: Boolean(opts.refetch) }),
        (r) => ({ message: summaryLine(r), data: { batchIds: r.batchIds, skipped: r.skipped, ...r.counts, ...r.partitions } }),
      );
    }
    ctx.progress.done();
    ctx.logger.info(summaryLine(result));
    if (result.quarantine) {
      const files = result.quarantine.files;
      const where = files.length === 1 ? files[0]! : `${files.length} files under ${commonDir(files)}`;
      ctx.logger.warn(`${result.quarantine.rows} records quarantined (${where}); see them with \`mdw quarantine list ${jobArgument(ctx.settings.configDir, job)}\``);
    }
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

/** The deepest folder that holds every one of these files. */
function commonDir(files: readonly string[]): string {
  const parts = files.map((f) => f.split('/').slice(0, -1));
  const first = parts[0] ?? [];
  let n = first.length;
  for (const p of parts) while (n > 0 && p.slice(0, n).join('/') !== first.slice(0, n).join('/')) n--;
  return first.slice(0, n).join('/') || '/';
}
