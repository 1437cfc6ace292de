import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { ExtractRequest, InputRef, RawBatch } from '../sources/source.js';
import type { SummaryWrite } from '../catalog/lake-catalog.js';
import type { Job } from '../config/jobs.js';
import type { Context } from '../context.js';
import { SourceError } from '../core/errors.js';
import { ident, stringList, timestampLiteral } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { periodSql, type SeriesGrain } from '../load/periods.js';
import { checkedTable } from '../load/staged-chunk.js';
import { quarantinedStates, stateIs, stateSql } from '../core/row-state.js';
import { compileTransform, producedColumns, resolveFoldsSql } from '../transform/compile-transform.js';
import { compileRecordRules } from '../validate/record-rules.js';
import { applySessionRule } from '../validate/session-rule.js';

/**
 * A chunk read into `checked`: the raw batch it came from (its scratch files are still there,
 * and its rejects relation), the job, and what the read found. The next stage (writeChunk)
 * stages it and releases it; whoever stops before that calls releaseChunk.
 */
export interface ReadChunk extends RawBatch {
  readonly job: Job;
  /** Where the chunk's landed pages contradicted their requests, per rule (kind 'input'). */
  readonly responses: readonly SummaryWrite[];
  readonly timings: Record<string, number>;
}

/**
 * Hands over the raw records of a chunk's inputs as a relation: an adapter's extract (see
 * extractFrom), or records staged by hand, as replays do. Called once, when the read starts.
 */
export type Extract = (inputs: readonly InputRef[]) => Promise<RawBatch>;

/**
 * Extracts a chunk's raw records and runs them through the transform and the record rules
 * into the table `checked`, in read order, each row with its partition period and `_state`:
 * 'ok', 'bad' (quarantine) or 'filtered' (outside the window or the symbols). One pass.
 * `request` gives the job and the run's scope (window, symbols); `grain` the partition periods.
 * On failure the reader's scratch files are removed; on success they belong to the ReadChunk.
 */
export async function readChecked(
  ctx: Context,
  duck: DuckSession,
  request: ExtractRequest,
  inputs: readonly InputRef[],
  grain: SeriesGrain,
  extract: Extract,
): Promise<ReadChunk> {
  const started = performance.now();
  const { job } = request;
  const def = job.dataset;
  const columns = producedColumns(job.transform.value, def);
  const inScope = scopeSql(def.timeColumn, def.symbolColumn, request);
  const known = [def.timeColumn, def.symbolColumn].filter((c): c is string => c !== null).map((c) => `${ident(c)} IS NOT NULL`);
  const symbol = def.symbolColumn ? ident(def.symbolColumn) : null;
  const period = periodSql(grain, ident(def.timeColumn), symbol);
  const rules = compileRecordRules({ rules: job.validation.value, dataset: def, columns, now: ctx.clock.now() });
  const read = async (raw: RawBatch) => {
    for (const statement of raw.prepare) await duck.run(statement);
    // Rows keep read order as their rowid (re-established by _rn where a join shuffled it).
    // _rules and _detail are text, filled in below for the few failed rows only: an update of
    // text keeps a row in place, while DuckDB moves a row whose list changes.
    await duck.run(
      `CREATE OR REPLACE TABLE ${checkedTable} AS ` +
        `SELECT * EXCLUDE (_raw), ${period} AS _period, NULL::VARCHAR AS _rules, NULL::VARCHAR AS _detail, ` +
        `CASE WHEN ${stateIs('bad')} THEN to_json(_raw) END AS _raw_json FROM (` +
        `SELECT * EXCLUDE (_skip), CASE WHEN _skip OR (${[...known, `NOT (${inScope})`].join(' AND ')}) THEN ${stateSql('filtered')} WHEN ${rules.failed} THEN ${stateSql('bad')} ELSE ${stateSql('ok')} END AS _state ` +
        `FROM (${transformSql(job, raw)}))${raw.numbered ? ' ORDER BY _rn' : ''}`,
    );
    await duck.run(rules.explain(checkedTable, stateIs('bad')));
    if (!job.calendar || !job.validation.value.rules.some((r) => r.rule === 'in_session')) return 0;
    const { outsideHours } = await applySessionRule(duck, checkedTable, { calendar: job.calendar, granularity: job.granularity, extended: job.spec.extended_hours ?? false });
    return outsideHours;
  };
  const raw = await extract(inputs);
  try {
    ctx.progress.step(`${job.name}: reading ${inputs.length} input${inputs.length === 1 ? '' : 's'}`);
    await afterRead(ctx, duck, raw, job, grain, await read(raw));
    return { ...raw, job, responses: responseFindings(inputs), timings: { 'read, transform, validate': Math.round(performance.now() - started) } };
  } catch (err) {
    removeScratch(raw);
    throw err;
  }
}

/** What follows the read of a chunk into `checked`: folds, and checks of what was read. */
async function afterRead(ctx: Context, duck: DuckSession, raw: RawBatch, job: Job, grain: SeriesGrain, outsideHours: number): Promise<void> {
  const def = job.dataset;
  if (outsideHours > 0) {
    ctx.logger.info(
      `${job.name}: ${outsideHours} bar${outsideHours === 1 ? ' lies' : 's lie'} in the pre- or post-market, outside the job's regular hours: left out (extended_hours: true keeps them)`,
    );
  }
  if (def.symbolColumn) {
    const nameless = await duck.all<{ f: string; n: number }>(
      `SELECT _file AS f, count(*) AS n FROM ${checkedTable} GROUP BY _file HAVING count(${ident(def.symbolColumn)}) = 0 ORDER BY 1`,
    );
    for (const { f, n } of nameless) ctx.logger.warn(`no symbol could be read for any of the ${n} records of ${f}: check the transform's symbol rule`);
  }
  const [folds] = await duck.all<{ n: number }>(`SELECT count(*) AS n FROM ${checkedTable} WHERE _fold`);
  if (folds!.n > 0) {
    await duck.run(resolveFoldsSql(checkedTable, def, [`_period = ${periodSql(grain, `(${ident(def.timeColumn)} - INTERVAL 1 HOUR)`, def.symbolColumn ? ident(def.symbolColumn) : null)}`]));
    ctx.logger.info(`${folds!.n} local times fell in the repeated hour of an autumn clock change; the first of each is read as daylight time`);
  }
  const stray = await duck.all<{ f: string }>(`SELECT DISTINCT _file AS f FROM ${checkedTable} WHERE _file NOT IN (SELECT unnest(${stringList(raw.inputs)}))`);
  if (stray.length > 0) throw new SourceError(`the reader returned rows of files the job did not name: ${stray.map((r) => r.f).join(', ')}`);
}

/** Removes the files a reader wrote for a chunk. */
export function removeScratch(raw: RawBatch): void {
  for (const dir of raw.scratch ?? []) rmSync(dir, { recursive: true, force: true });
}

/** The records of pages that contradicted their requests, per rule. */
function responseFindings(inputs: readonly InputRef[]): SummaryWrite[] {
  const rows = new Map<string, number>();
  for (const f of inputs.flatMap((i) => i.findings ?? [])) rows.set(f.rule, (rows.get(f.rule) ?? 0) + f.rows);
  return [...rows].map(([rule, n]) => ({ kind: 'input', rule, rows: n }));
}

function transformSql(job: Job, raw: RawBatch): string {
  return compileTransform({
    rules: job.transform.value,
    dataset: job.dataset,
    granularity: job.granularity,
    calendar: job.calendar,
    sourceColumns: raw.columns,
    from: raw.relation,
    numbered: raw.numbered,
  });
}

function scopeSql(ts: string, symbol: string | null, request: ExtractRequest): string {
  const terms: string[] = [];
  if (request.from) terms.push(`${ident(ts)} >= ${timestampLiteral(request.from)}`);
  if (request.toExclusive) terms.push(`${ident(ts)} < ${timestampLiteral(request.toExclusive)}`);
  if (request.symbols && symbol) terms.push(`${ident(symbol)} IN (SELECT unnest(${stringList(request.symbols)}))`);
  return terms.length ? terms.join(' AND ') : 'TRUE';
}

/**
 * Rows that disagree on one key, or fall outside the calendar's sessions, are only found after
 * the transform, when their raw form is no longer kept (keeping it for every row would double a
 * chunk in memory). For those few rows their inputs are read again, so the quarantine shows
 * them as the source had them.
 */
export async function keepRawOfLateRejects(duck: DuckSession, raw: ReadChunk, job: Job): Promise<void> {
  const def = job.dataset;
  const late = `${stateIs(quarantinedStates)} AND _raw_json IS NULL`;
  const files = (await duck.all<{ f: string }>(`SELECT DISTINCT _file AS f FROM ${checkedTable} WHERE ${late}`)).map((r) => r.f);
  if (files.length === 0) return;
  const match = producedColumns(job.transform.value, def)
    .map((c) => `${checkedTable}.${ident(c)} IS NOT DISTINCT FROM r.${ident(c)}`)
    .join(' AND ');
  await duck.run(
    `UPDATE ${checkedTable} SET _raw_json = r.raw FROM (` +
      `SELECT *, to_json(_raw) AS raw FROM (${transformSql(job, raw)}) WHERE _file IN (SELECT unnest(${stringList(files)}))` +
      `) r WHERE ${stateIs(quarantinedStates, checkedTable)} AND ${checkedTable}._raw_json IS NULL AND ${checkedTable}._file = r._file AND ${match}`,
  );
}
