import { loadCurateJob } from '../../config/curate.js';
import { listJobFiles } from '../../config/jobs.js';
import { isCurateFile } from '../../config/curate.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { parseWindow } from '../../core/time-window.js';
import { adjustmentChanges } from '../../catalog/curate-catalog.js';
import { explainAdjustment } from '../../curate/explain.js';
import { runCurate, type CurateResult } from '../../curate/run-curate.js';
import { formatRecords, resolveFormat } from '../output.js';
import { requireHome, stdoutIsTty, withContext, type GlobalOptions } from '../run-command.js';
import { trackedRun } from '../tracked-run.js';
import path from 'node:path';

/** `mdw curate [jobs...]`: runs the named curate jobs, or every curate job in configs/jobs. */
export async function curateCommand(opts: GlobalOptions, names: string[]): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  return withContext(opts, 'mdw curate', async (ctx) => {
    requireHome(ctx);
    const configDir = ctx.settings.configDir;
    const all = names.length > 0 ? names : listJobFiles(configDir).filter(isCurateFile).map((f) => path.basename(f).replace(/\.ya?ml$/, ''));
    if (all.length === 0) throw new UsageError(`no curate jobs (kind: curate) in ${path.join(configDir, 'jobs')}`);
    const jobs = all.map((n) => loadCurateJob(configDir, n, ctx.env));
    const symbols = (opts.symbols as string[] | undefined) ?? null;
    const dryRun = Boolean(opts.dryRun);
    const results: CurateResult[] = [];
    for (const job of jobs) {
      const done = dryRun
        ? await runCurate(ctx, job, { symbols, dryRun, runId: null })
        : await trackedRun(
            ctx,
            await ctx.catalog(`mdw curate ${job.name}`),
            { command: 'curate', job: job.name, args: { symbols } },
            (runId) => runCurate(ctx, job, { symbols, dryRun, runId }),
            (rs) => ({ message: rs.map((r) => summary(r, dryRun)).join('; '), data: Object.fromEntries(rs.map((r) => [outputName(r), { rows: r.rows, changed: r.changed }])) }),
          );
      for (const r of done) ctx.logger.info(summary(r, dryRun));
      results.push(...done);
    }
    ctx.progress.done();
    process.stdout.write(
      formatRecords(
        results.map((r) => ({
          job: r.job,
          output: outputName(r),
          dry_run: dryRun,
          units: r.units,
          rows: r.rows,
          changed: r.changed,
          stored: r.load?.counts.out ?? 0,
          quarantined: r.load?.counts.quarantined ?? 0,
          partitions_written: r.load?.partitions.written ?? 0,
        })),
        ['job', 'output', 'dry_run', 'units', 'rows', 'changed', 'stored', 'quarantined', 'partitions_written'],
        format,
      ),
    );
    const quarantined = results.reduce((n, r) => n + (r.load?.counts.quarantined ?? 0), 0);
    if (quarantined > 0) ctx.logger.warn(`${quarantined} curated rows quarantined (an adjustment row is then not applied); see \`mdw quarantine list <curate job>\``);
    return ExitCode.ok;
  });
}

/** An output as the table names it: resampled bars with their size (resampled 1h). */
const outputName = (r: CurateResult) => (r.granularity ? `${r.output} ${r.granularity}` : r.output);

function summary(r: CurateResult, dryRun: boolean): string {
  const what =
    r.output === 'adjustments'
      ? `${r.rows} actions adjust ${r.units} symbols; ${r.changed} symbols' logs ${dryRun ? 'would change' : 'changed'}`
      : r.output === 'resampled'
        ? `${r.changed} of ${r.units} symbols' bars ${dryRun ? 'would be' : 'were'} resampled again${dryRun ? '' : ` (${r.rows} bars)`}`
        : `${r.changed} of ${r.units} partitions ${dryRun ? 'would be' : 'were'} chosen again${dryRun ? '' : ` (${r.rows} bars)`}`;
  return (
    `${r.job} ${outputName(r)}${dryRun ? ' (dry run)' : ''}: ${what}` +
    (r.load ? `; ${r.load.counts.out} rows stored, ${r.load.counts.quarantined} quarantined, ${r.load.partitions.written} partitions written` : '')
  );
}

/** `mdw curate explain <symbol> <date>`: the actions behind an adjusted price, and its factors. */
export async function curateExplainCommand(opts: GlobalOptions, symbol: string, date: string): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  const at = parseWindow(date, undefined).from!;
  return withContext(
    opts,
    'mdw curate explain',
    async (ctx) => {
      const duck = await ctx.duck();
      const explained = await explainAdjustment(duck, ctx.paths.lake, { symbol, at, source: opts.source as string | undefined, granularity: String(opts.granularity ?? '1d') });
      process.stdout.write(formatRecords(explained.chain, ['ex_date', 'action', 'action_source', 'action_batch', 'ratio', 'cash_amount', 'session_before', 'close_before', 'split_factor', 'dividend_factor', 'withdrawn', 'split_cum', 'all_cum'], format));
      ctx.logger.info(explained.summary);
      // How the chain's factors came to be what they are: each change curate made to them.
      const { sql } = await ctx.catalog('mdw curate explain');
      const day = at.toISOString().slice(0, 10);
      const short = (id: string | null) => (id ? id.slice(0, 8) : '-');
      for (const c of (await adjustmentChanges(sql, { source: explained.source, symbol: explained.symbol, granularity: explained.granularity })).filter((c) => c.exDate > day)) {
        ctx.logger.info(
          `history: ${c.exDate} ${c.action} ${c.change} on ${c.changedAt.toISOString().slice(0, 10)} by ${c.job} (batch ${short(c.curateBatch)}): ` +
            `factor ${c.oldFactor ?? '-'} -> ${c.newFactor ?? '-'}, cash ${c.oldCash ?? '-'} -> ${c.newCash ?? '-'}, action batch ${short(c.oldActionBatch)} -> ${short(c.newActionBatch)}`,
        );
      }
      return ExitCode.ok;
    },
    { fileLog: false },
  );
}
