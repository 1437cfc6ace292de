import { acceptBackfillHole, runBackfill, type BackfillResult } from '../../backfill/run-backfill.js';
import { queueStatus } from '../../catalog/backfill-catalog.js';
import { loadBackfillConfig } from '../../config/backfill.js';
import { BudgetExhaustedError } from '../../http/http-client.js';
import { ExitCode, UsageError } from '../../core/errors.js';
import { formatRecords, resolveFormat, type Cell } from '../output.js';
import { requireHome, stdoutIsTty, withContext, type GlobalOptions } from '../run-command.js';
import { trackedRun } from '../tracked-run.js';

const isoDate = /^\d{4}-\d{2}-\d{2}$/;

function dateOption(name: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const text = String(value);
  const t = Date.parse(`${text}T00:00:00Z`);
  if (!isoDate.test(text) || Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== text) throw new UsageError(`${name} ${text} is not a date (YYYY-MM-DD)`);
  return text;
}

/** `mdw backfill [targets...]`: plan, queue and fill the holes of the targets in configs/backfill.yml. */
export async function backfillCommand(opts: GlobalOptions, targets: string[]): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  return withContext(opts, 'mdw backfill', async (ctx) => {
    const dryRun = Boolean(opts.dryRun);
    if (!dryRun) requireHome(ctx);
    const maxRequests = opts.maxRequests === undefined ? null : Number(opts.maxRequests);
    const options = {
      targets,
      symbols: (opts.symbols as string[] | undefined) ?? null,
      from: dateOption('--from', opts.from),
      to: dateOption('--to', opts.to),
      vendor: (opts.vendor as string | undefined) ?? null,
      maxRequests,
      dryRun,
    };
    let result: BackfillResult;
    if (dryRun) result = await runBackfill(ctx, { ...options, runId: null });
    else {
      const catalog = await ctx.catalog('mdw backfill');
      result = await trackedRun(
        ctx,
        catalog,
        { command: 'backfill', job: null, args: { targets, symbols: options.symbols, from: options.from, to: options.to, vendor: options.vendor, maxRequests } },
        (runId) => runBackfill(ctx, { ...options, runId }),
        (r) => ({ message: summary(r), data: { requests: r.requests, stopped: r.stopped, ...counts(r) } }),
      );
    }
    ctx.progress.done();
    ctx.logger.info(summary(result));
    process.stdout.write(render(result, format));
    if (result.stopped === 'budget') {
      // The budgets are spent: the next run resumes where this one stopped (exit 3, as ingest).
      throw new BudgetExhaustedError('backfill: every vendor the queued chunks allow has spent its budget for today; the next run resumes the queue', 'backfill');
    }
    return ExitCode.ok;
  });
}

function counts(r: BackfillResult): Record<'done' | 'empty' | 'failed' | 'queued', number> {
  const out = { done: 0, empty: 0, failed: 0, queued: 0 };
  for (const o of r.outcomes) out[o.outcome]++;
  return out;
}

function summary(r: BackfillResult): string {
  const planned = r.plans.reduce((n, p) => n + p.chunks.length, 0);
  if (r.dryRun) {
    const requests = r.plans.reduce((n, p) => n + p.byVendor.reduce((m, v) => m + v.requests, 0), 0);
    return `backfill (dry run): ${planned} chunks to fill, ${requests} requests; nothing was fetched or queued`;
  }
  const c = counts(r);
  const why = { empty: 'the queue is empty', budget: "today's budgets are spent; the next run resumes", max_requests: '--max-requests reached; the next run resumes' }[r.stopped];
  return `backfill: ${planned} chunks planned (${r.queued} new); ${c.done} filled, ${c.empty} answered with no data, ${c.failed} failed; ${r.requests} requests; ${why}`;
}

function render(r: BackfillResult, format: ReturnType<typeof resolveFormat>): string {
  if (r.dryRun) {
    const rows: Record<string, Cell>[] = r.plans.flatMap((p): Record<string, Cell>[] =>
      p.byVendor.length === 0
        ? [{ target: p.target, symbols: p.symbols, vendor: null, chunks: 0, requests: 0, budget: null, used_today: null, cost: null }]
        : p.byVendor.map((v) => ({
            target: p.target,
            symbols: p.symbols,
            vendor: v.vendor,
            chunks: v.chunks,
            requests: v.requests,
            budget: v.budget,
            used_today: v.usedToday,
            cost: v.cost ? `${v.cost.amount.toFixed(2)} ${v.cost.currency}` : null,
          })),
    );
    return formatRecords(rows, ['target', 'symbols', 'vendor', 'chunks', 'requests', 'budget', 'used_today', 'cost'], format);
  }
  const rows: Record<string, Cell>[] = r.outcomes.map((o) => ({
    target: o.chunk.target,
    symbol: o.chunk.symbol,
    from: o.chunk.from,
    to: o.chunk.to,
    sessions: o.chunk.sessions,
    outcome: o.outcome,
    vendor: o.vendor,
    detail: o.detail,
  }));
  return formatRecords(rows, ['target', 'symbol', 'from', 'to', 'sessions', 'outcome', 'vendor', 'detail'], format);
}

/** `mdw backfill status [targets...]`: the queue per target. */
export async function backfillStatusCommand(opts: GlobalOptions, targets: string[]): Promise<number> {
  const format = resolveFormat(opts.format, stdoutIsTty());
  return withContext(opts, 'mdw backfill status', async (ctx) => {
    const catalog = await ctx.catalog('mdw backfill status');
    const status = await queueStatus(catalog.sql, targets.length ? targets : undefined, ctx.clock.now());
    const config = loadBackfillConfig(ctx.settings.configDir, ctx.env);
    // A chunk is about one request (more where a vendor pages): days at the budgets backfill may spend each day.
    const daysLeft = (target: string, left: number): number | null => {
      const perDay = (config.vendors.get(target) ?? []).reduce((n, v) => n + (config.budgets[v.vendor] ?? 0), 0);
      return left === 0 ? 0 : perDay > 0 ? Math.ceil(left / perDay) : null;
    };
    const rows: Record<string, Cell>[] = status.map((s) => ({
      target: s.target,
      queued: s.counts.queued,
      leased: s.counts.leased,
      done: s.counts.done,
      empty: s.counts.empty,
      failed: s.counts.failed,
      expired_leases: s.expiredLeases,
      days_to_finish: daysLeft(s.target, s.counts.queued + s.counts.leased),
      oldest_failure: s.oldestFailure ? `${s.oldestFailure.symbol} ${s.oldestFailure.from}..${s.oldestFailure.to} (${s.oldestFailure.attempts} attempts): ${s.oldestFailure.error ?? ''}` : null,
    }));
    if (rows.length === 0 && format === 'table') process.stdout.write('The backfill queue is empty: run `mdw backfill` (targets in configs/backfill.yml).\n');
    else process.stdout.write(formatRecords(rows, ['target', 'queued', 'leased', 'done', 'empty', 'failed', 'expired_leases', 'days_to_finish', 'oldest_failure'], format));
    return ExitCode.ok;
  });
}

/** `mdw backfill accept <target> <symbol> <from> <to> --reason`: a hole known and explained. */
export async function backfillAcceptCommand(opts: GlobalOptions, target: string, symbol: string, from: string, to: string): Promise<number> {
  return withContext(opts, 'mdw backfill accept', async (ctx) => {
    const reason = String(opts.reason ?? '').trim();
    if (!reason) throw new UsageError('say why the hole is accepted: --reason "..." (a halt, a listing that began later, ...)');
    const lo = dateOption('from', from)!;
    const hi = dateOption('to', to)!;
    if (lo > hi) throw new UsageError(`from ${lo} is after to ${hi}`);
    await acceptBackfillHole(ctx, { target, symbol, from: lo, to: hi, reason });
    ctx.logger.info(`backfill: ${target} ${symbol} ${lo}..${hi} is a known hole (${reason}); it is not planned again, and the audit no longer counts it RED`);
    return ExitCode.ok;
  });
}
