import { processAlive } from '../core/process-alive.js';
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
  run: { readonly command: string; readonly job: string | null; readonly args: Record<string, unknown> },
  work: (runId: string) => Promise<T>,
  summary: (result: T) => { readonly message: string; readonly data: Record<string, unknown> },
): Promise<T> {
  const orphans = await failOrphanedRuns(catalog.sql, processAlive, ctx.clock.now());
  if (orphans > 0) ctx.logger.warn(`${orphans} earlier run${orphans === 1 ? '' : 's'} on this host ended without recording it; marked failed`);
  const runId = await startRun(catalog.sql, { command: run.command, job: run.job, args: run.args, at: ctx.clock.now() });
  // From here on the run row exists: nothing may leave it 'running', so its events are best effort.
  await logRunEvent(catalog.sql, runId, { level: 'info', event: 'started', message: `${run.command} ${run.job}`, data: run.args, at: ctx.clock.now() }).catch((e: unknown) =>
    ctx.logger.debug(`run ${runId}: its start could not be logged: ${errorMessage(e)}`),
  );
  let result: T;
  try {
    result = await work(runId);
  } catch (err) {
    await recordFailure(ctx, catalog, runId, err);
    throw err;
  }
  const { message, data } = summary(result);
  await logRunEvent(catalog.sql, runId, { level: 'info', event: 'finished', message, data, at: ctx.clock.now() }).catch((e: unknown) =>
    ctx.logger.debug(`run ${runId}: its end could not be logged: ${errorMessage(e)}`),
  );
  await finishRun(catalog.sql, runId, { status: 'ok', exitCode: 0, at: ctx.clock.now() });
  return result;
}

/**
 * Ends a run whose work failed, whatever else fails with it. The error event is information
 * only; an error text the catalog refuses is replaced by why it was refused. A run whose process
 * lives on must not stay 'running' (a failed event once left it so and replaced the work's error
 * with the catalog's). When the catalog takes nothing at all (a full disk), the work's error is
 * still the one reported, and the next run marks this one failed as a run that ended unrecorded.
 */
async function recordFailure(ctx: Context, catalog: Catalog, runId: string, err: unknown): Promise<void> {
  const exitCode = err instanceof MdwError ? err.exitCode : ExitCode.failed;
  const status = exitCode === ExitCode.partial ? 'partial' : 'failed';
  const message = errorMessage(err);
  try {
    await logRunEvent(catalog.sql, runId, { level: 'error', event: 'failed', message, at: ctx.clock.now() });
  } catch (e) {
    ctx.logger.debug(`run ${runId}: its failure could not be logged: ${errorMessage(e)}`);
  }
  // The error as it was; else why it could not be stored; else no text: the status matters most.
  let error: string | null = message;
  for (;;) {
    try {
      await finishRun(catalog.sql, runId, { status, exitCode, error, at: ctx.clock.now() });
      return;
    } catch (e) {
      if (error === null) {
        ctx.logger.debug(`run ${runId}: could not be marked ${status}: ${errorMessage(e)}`);
        return;
      }
      error = error === message ? `the error could not be stored: ${errorMessage(e)}` : null;
    }
  }
}
