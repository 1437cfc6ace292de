import path from 'node:path';
import { findQuarantineRecord, listQuarantine } from '../../catalog/quarantine-catalog.js';
import { isCurateFile, loadCurateJob } from '../../config/curate.js';
import { loadJob, resolveJobFile } from '../../config/jobs.js';
import { ExitCode } from '../../core/errors.js';
import { replayQuarantine, type ReplayResult } from '../../pipeline/replay.js';
import { formatRecords, resolveFormat, type Cell } from '../output.js';
import { requireHome, stdoutIsTty, withContext, type GlobalOptions } from '../run-command.js';
import { trackedRun } from '../tracked-run.js';

/** The job whose records a list shows: an ingest job's own, or a curate job's (its loads run under its name and its bars' source). */
function quarantineOwner(configDir: string, name: string, env: NodeJS.ProcessEnv): { name: string; source: string | undefined } {
  // A curate job's outputs are stored under several sources; its name is enough.
  if (isCurateFile(resolveJobFile(configDir, name))) return { name: loadCurateJob(configDir, name, env).name, source: undefined };
  const job = loadJob(configDir, name, env);
  return { name: job.name, source: job.spec.source.name };
}

const listColumns = ['id', 'quarantined_at', 'job', 'source', 'granularity', 'input', 'record', 'line', 'rules', 'reason', 'state'];

/** `mdw quarantine list [job]`: the open records (all with --all), newest first. */
export async function quarantineListCommand(opts: GlobalOptions, jobName: string | undefined): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  return withContext(opts, 'mdw quarantine list', async (ctx) => {
    requireHome(ctx);
    const { sql } = await ctx.catalog('mdw quarantine list');
    const job = jobName ? quarantineOwner(ctx.settings.configDir, jobName, ctx.env) : null;
    const limit = (opts.limit as number | undefined) ?? (format === 'table' ? 50 : undefined);
    const { records, total } = await listQuarantine(sql, {
      job: job?.name,
      source: (opts.source as string | undefined) ?? job?.source,
      batch: opts.batch as string | undefined,
      rule: opts.rule as string | undefined,
      all: Boolean(opts.all),
      limit,
    });
    const table = format === 'table';
    const rows: Record<string, Cell>[] = records.map((r) => ({
      // A table shows what fits a terminal; machine formats get whole values.
      id: table ? r.id.slice(0, 8) : r.id,
      quarantined_at: r.created_at,
      job: r.job,
      source: r.source,
      granularity: r.granularity,
      input: r.input_uri && table ? path.basename(r.input_uri) : r.input_uri,
      record: r.record_no,
      line: r.line_no,
      rules: r.rules.join(','),
      reason: table && r.reason.length > 80 ? `${r.reason.slice(0, 77)}...` : r.reason,
      state: r.state,
    }));
    if (rows.length === 0 && table) process.stdout.write(`No ${opts.all ? '' : 'open '}quarantined records${jobName ? ` for ${jobName}` : ''}.\n`);
    else process.stdout.write(formatRecords(rows, listColumns, format));
    if (total > records.length) ctx.logger.warn(`${total - records.length} more records: raise --limit, or narrow with --rule or --batch`);
    return ExitCode.ok;
  });
}

/** `mdw quarantine show <id>`: one record whole, with its raw form. */
export async function quarantineShowCommand(opts: GlobalOptions, id: string): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  return withContext(opts, 'mdw quarantine show', async (ctx) => {
    requireHome(ctx);
    const { sql } = await ctx.catalog('mdw quarantine show');
    const r = await findQuarantineRecord(sql, id);
    const record: Record<string, Cell> = {
      id: r.id,
      state: r.state,
      job: r.job,
      dataset: r.dataset,
      source: r.source,
      granularity: r.granularity,
      batch: r.batch_id,
      quarantined_at: r.created_at,
      input: r.input_uri,
      record: r.record_no,
      line: r.line_no,
      rules: r.rules.join(','),
      reason: r.reason,
      raw: r.raw,
      replayed_by_batch: r.replay_batch_id,
      replayed_at: r.replayed_at,
      superseded_by_batch: r.superseded_by,
    };
    if (format === 'table') {
      process.stdout.write(formatRecords(Object.entries(record).map(([field, value]) => ({ field, value })), ['field', 'value'], 'table'));
    } else {
      process.stdout.write(formatRecords([record], Object.keys(record), format));
    }
    return ExitCode.ok;
  });
}

/** `mdw quarantine replay <job>`: the open records through the current rules; those that pass are loaded. */
export async function quarantineReplayCommand(opts: GlobalOptions, jobName: string): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  return withContext(opts, `mdw quarantine replay ${jobName}`, async (ctx) => {
    requireHome(ctx);
    const job = loadJob(ctx.settings.configDir, jobName, ctx.env);
    const filter = { batch: opts.batch as string | undefined, rule: opts.rule as string | undefined };
    const dryRun = Boolean(opts.dryRun);
    const result = dryRun
      ? await replayQuarantine(ctx, job, filter, { dryRun, runId: null })
      : await trackedRun(
          ctx,
          await ctx.catalog(`mdw quarantine replay ${job.name}`),
          { command: 'replay', job: job.name, args: { ...filter } },
          (runId) => replayQuarantine(ctx, job, filter, { dryRun, runId }),
          (r) => ({ message: replaySummary(r), data: { batchId: r.batchId, ...tally(r) } }),
        );
    ctx.progress.done();
    ctx.logger.info(replaySummary(result));
    const table = format === 'table';
    const rows: Record<string, Cell>[] = result.outcomes.map((o) => ({
      id: table ? o.id.slice(0, 8) : o.id,
      input: o.input && table ? path.basename(o.input) : o.input,
      record: o.record,
      outcome: o.outcome,
      reason: o.reason,
    }));
    if (rows.length === 0 && table) process.stdout.write(`No open quarantined records for ${job.name}.\n`);
    else process.stdout.write(formatRecords(rows, ['id', 'input', 'record', 'outcome', 'reason'], format));
    return ExitCode.ok;
  });
}

function tally(r: ReplayResult): Record<string, number> {
  const n: Record<string, number> = {};
  for (const o of r.outcomes) n[o.outcome] = (n[o.outcome] ?? 0) + 1;
  return n;
}

function replaySummary(r: ReplayResult): string {
  const t = tally(r);
  const parts = Object.entries(t).map(([k, v]) => `${v} ${k.replace(/_/g, ' ')}`);
  return `${r.job}${r.dryRun ? ' (dry run)' : ''}: replayed ${r.outcomes.length} quarantined records${parts.length ? `: ${parts.join(', ')}` : ''}${r.batchId ? ` (batch ${r.batchId})` : ''}`;
}
