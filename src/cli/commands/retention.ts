import path from 'node:path';
import { retiredPartitions, type RetiredRow } from '../../catalog/retention-catalog.js';
import { loadRetentionConfig, retentionFile } from '../../config/retention.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { runRetention, type RetentionReport } from '../../retention/run-retention.js';
import { formatRecords, resolveFormat } from '../output.js';
import { requireHome, stdoutIsTty, withContext, type GlobalOptions } from '../run-command.js';
import { trackedRun } from '../tracked-run.js';

const lineColumns = ['policy', 'dataset', 'source', 'granularity', 'action', 'cut', 'partitions', 'rows', 'bytes'] as const;

/** `mdw retention`: applies configs/retention.yml (or --config), or with --dry-run prints what it would do. */
export async function retentionCommand(opts: GlobalOptions): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  return withContext(opts, 'mdw retention', async (ctx) => {
    requireHome(ctx);
    const file = opts.config ? path.resolve(String(opts.config)) : retentionFile(ctx.settings.configDir);
    const config = loadRetentionConfig(file, ctx.env, { required: Boolean(opts.config) });
    const options = { dryRun: Boolean(opts.dryRun), compact: Boolean(opts.compact), purgeAfterMs: opts.purgeAfter as number, runId: null };
    const catalog = await ctx.catalog('mdw retention');
    const report = options.dryRun
      ? await runRetention(ctx, config, options)
      : await trackedRun(
          ctx,
          catalog,
          { command: 'retention', job: null, args: { config: file, compact: options.compact, purgeAfterMs: options.purgeAfterMs } },
          (runId) => runRetention(ctx, config, { ...options, runId }),
          (r) => ({ message: summary(r), data: { lines: r.lines } }),
        );
    ctx.progress.done();
    if (config.policies.length === 0) ctx.logger.warn(`no retention policies in ${file}: nothing is retired`);
    ctx.logger.info(summary(report));
    process.stdout.write(formatRecords(report.lines.map((l) => ({ ...l })), lineColumns, format));
    return ExitCode.ok;
  });
}

function summary(r: RetentionReport): string {
  const sum = (action: string, key: 'partitions' | 'rows' | 'bytes') => r.lines.filter((l) => l.action === action).reduce((n, l) => n + l[key], 0);
  const verb = r.dryRun ? 'would be' : 'were';
  return (
    `retention${r.dryRun ? ' (dry run, nothing changed)' : ''}: ${sum('delete', 'partitions')} partitions ${verb} moved to the trash, ${sum('archive', 'partitions')} archived, ` +
    `${sum('rewrite', 'partitions')} rewritten without ${sum('rewrite', 'rows')} older rows, ${sum('purge', 'partitions')} purged from the trash, ` +
    `${sum('merge', 'partitions')} merged into the next grain up, ${sum('compact', 'partitions')} compacted` +
    (r.skipped.length ? `; ${r.skipped.length} series skipped (see the warnings)` : '')
  );
}

const states: readonly RetiredRow['state'][] = ['trash', 'archived', 'purged'];

/** `mdw retention list`: the tombstones: what retention moved out of the lake, and where it is. */
export async function retentionListCommand(opts: GlobalOptions): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  const state = (opts.state as string | undefined) ?? null;
  if (state !== null && !states.includes(state as RetiredRow['state'])) throw new UsageError(`--state ${state}: choose one of ${states.join(', ')}`);
  return withContext(opts, 'mdw retention list', async (ctx) => {
    requireHome(ctx);
    const { sql } = await ctx.catalog('mdw retention list');
    const rows = await retiredPartitions(sql, state as RetiredRow['state'] | null);
    process.stdout.write(
      formatRecords(
        rows.map((r) => ({
          state: r.state,
          policy: r.policy,
          dataset: r.dataset,
          source: r.source,
          granularity: r.granularity,
          symbol: r.symbol,
          period: r.period,
          rows: r.rows,
          bytes: r.bytes,
          retired_at: r.retiredAt.toISOString(),
          kept: r.state === 'purged' ? null : path.join(ctx.settings.home, r.keptUri),
        })),
        ['state', 'policy', 'dataset', 'source', 'granularity', 'symbol', 'period', 'rows', 'bytes', 'retired_at', 'kept'],
        format,
      ),
    );
    return ExitCode.ok;
  });
}
