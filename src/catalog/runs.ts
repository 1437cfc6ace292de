import os from 'node:os';
import type { Sql } from './catalog.js';

export type RunStatus = 'running' | 'ok' | 'partial' | 'failed';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A command run, as ingest_run rows record it. */
export async function startRun(
  sql: Sql,
  run: { command: string; job: string | null; args: Record<string, unknown>; at: Date },
): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into mdw.ingest_run (command, job, args, status, host, pid, started_at)
    values (${run.command}, ${run.job}, ${sql.json(run.args as never)}, 'running', ${os.hostname()}, ${process.pid}, ${run.at})
    returning id`;
  return row!.id;
}

/** Postgres text holds no NUL; a message that quotes an input's bytes may. */
const storable = (text: string) => text.replace(/\u0000/g, '\u2400');

export async function finishRun(
  sql: Sql,
  id: string,
  end: { status: Exclude<RunStatus, 'running'>; exitCode: number; error?: string | null; at: Date },
): Promise<void> {
  await sql`
    update mdw.ingest_run
    set status = ${end.status}, exit_code = ${end.exitCode}, error = ${end.error === undefined || end.error === null ? null : storable(end.error)}, finished_at = ${end.at}
    where id = ${id}`;
}

export async function logRunEvent(
  sql: Sql,
  runId: string,
  event: { level: LogLevel; event: string; message: string; data?: Record<string, unknown>; at: Date },
): Promise<void> {
  await sql`
    insert into mdw.ingest_log (run_id, at, level, event, message, data)
    values (${runId}, ${event.at}, ${event.level}, ${event.event}, ${storable(event.message)}, ${event.data ? sql.json(event.data as never) : null})`;
}

/**
 * Runs this host started that are still 'running' but whose process is gone (killed, power
 * loss) are marked failed, so that status and audit do not show them as in progress.
 */
export async function failOrphanedRuns(sql: Sql, isAlive: (pid: number) => boolean, at: Date): Promise<number> {
  const running = await sql<{ id: string; pid: number }[]>`
    select id, pid from mdw.ingest_run where status = 'running' and host = ${os.hostname()}`;
  const dead = running.filter((r) => r.pid !== process.pid && !isAlive(r.pid)).map((r) => r.id);
  if (dead.length === 0) return 0;
  await sql`
    update mdw.ingest_run
    set status = 'failed', exit_code = 1, finished_at = ${at}, error = 'the process ended without recording its end (killed or crashed)'
    where id = any(${dead})`;
  return dead.length;
}
