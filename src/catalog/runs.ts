import os from 'node:os';
import type { Sql } from './catalog.js';

export type RunStatus = 'running' | 'ok' | 'partial' | 'failed';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * Text as Postgres can store it: it refuses a NUL in text and in jsonb, and a lone UTF-16
 * surrogate, which an error quoting an input's bytes (a binary file, a cut UTF-16 one) can hold.
 * A NUL becomes ␀ (U+2400) and a lone surrogate U+FFFD, so the message still shows where they were.
 */
export function storable(text: string): string {
  return text.replace(/\u0000/g, '\u2400').replace(loneSurrogate, '\ufffd');
}

const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The same for every key and string of a value stored as jsonb, taken as JSON has it (toJSON, no undefined). */
export function storableJson(value: unknown): unknown {
  const clean = (v: unknown): unknown => {
    if (typeof v === 'string') return storable(v);
    if (Array.isArray(v)) return v.map(clean);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [storable(k), clean(x)]));
    return v;
  };
  return clean(JSON.parse(JSON.stringify(value ?? null)));
}

/** A command run, as ingest_run rows record it. */
export async function startRun(
  sql: Sql,
  run: { command: string; job: string | null; args: Record<string, unknown>; at: Date },
): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into mdw.ingest_run (command, job, args, status, host, pid, started_at)
    values (${storable(run.command)}, ${run.job === null ? null : storable(run.job)}, ${sql.json(storableJson(run.args) as never)}, 'running', ${os.hostname()}, ${process.pid}, ${run.at})
    returning id`;
  return row!.id;
}

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
    values (${runId}, ${event.at}, ${event.level}, ${storable(event.event)}, ${storable(event.message)}, ${event.data ? sql.json(storableJson(event.data) as never) : null})`;
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
