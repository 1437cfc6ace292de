import type { Catalog } from '../catalog/catalog.js';
import { failOrphanedRuns, finishRun, logRunEvent, startRun } from '../catalog/runs.js';
import type { Context } from '../context.js';
import { ExitCode, MdwError, errorMessage } from '../core/errors.js';

/**
 * Runs work that changes the warehouse as a recorded run: an ingest_run row with its start,
 * end, status and exit code, and its events in ingest_log. Runs of this host that died without
 * recording their end are marked failed first.
 */
export async function trackedRun<T>(
  ctx: Context,
  catalog: Catalog,
  run: { readonly command: string; readonly job: string; readonly args: Record<string, unknown> },
  work: (runId: string) => Promise<T>,
  summary: (result: T) => { readonly message: string; readonly data: Record<string, unknown> },
): Promise<T> {
  const orphans = await failOrphanedRuns(catalog.sql, isAlive, ctx.clock.now());
  if (orphans > 0) ctx.logger.warn(`${orphans} earlier run${orphans === 1 ? '' : 's'} on this host ended without recording it; marked failed`);
  const runId = await startRun(catalog.sql, { command: run.command, job: run.job, args: run.args, at: ctx.clock.now() });
  await logRunEvent(catalog.sql, runId, { level: 'info', event: 'started', message: `${run.command} ${run.job}`, data: run.args, at: ctx.clock.now() });
  let result: T;
  try {
    result = await work(runId);
  } catch (err) {
    const exitCode = err instanceof MdwError ? err.exitCode : ExitCode.failed;
    const message = errorMessage(err);
    await logRunEvent(catalog.sql, runId, { level: 'error', event: 'failed', message, at: ctx.clock.now() });
    await finishRun(catalog.sql, runId, { status: exitCode === ExitCode.partial ? 'partial' : 'failed', exitCode, error: message, at: ctx.clock.now() });
    throw err;
  }
  const { message, data } = summary(result);
  await logRunEvent(catalog.sql, runId, { level: 'info', event: 'finished', message, data, at: ctx.clock.now() });
  await finishRun(catalog.sql, runId, { status: 'ok', exitCode: 0, at: ctx.clock.now() });
  return result;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
