import { addDays, type TradingCalendar } from '../calendar/calendar.js';
import { findSeries, openQuarantined, openQuarantinedKeys, seriesManifest, writeLedger, type LedgerRun } from '../catalog/audit-catalog.js';
import { supersededFiles } from '../catalog/lake-catalog.js';
import { retiredRanges } from '../catalog/retention-catalog.js';
import type { Job } from '../config/jobs.js';
import type { Context } from '../context.js';
import { kindOf } from '../core/datasets.js';
import { explainedHoles } from '../backfill/run-backfill.js';
import { literal, pathList } from '../core/sql.js';
import { cumulativeFactorsSql } from '../curate/adjustments.js';
import { intradayMs } from '../core/granularity.js';
import { adjustmentLogFiles, allSeriesFiles, listSources } from '../query/lake-files.js';
import { seriesDir } from '../lake/layout.js';
import { localStore } from '../lake/local-store.js';
import type { DuckSession } from '../lake/duckdb.js';
import { seriesSettings } from '../validate/series-rules.js';
import { computeCompleteness, type SymbolCompleteness } from './completeness.js';
import type { Heatmap } from './heatmap.js';
import { checkIntegrity, type IntegrityProblem } from './integrity.js';

/** What `mdw audit` finds for one job's series. */
export interface SeriesAudit {
  readonly job: string;
  readonly dataset: string;
  readonly source: string;
  readonly granularity: string;
  /** Null when the job names no calendar: completeness and session lag are not judged. */
  readonly calendar: string | null;
  readonly files: number;
  readonly rows: number;
  readonly symbols: readonly SymbolCompleteness[];
  readonly ledger: readonly LedgerRun[];
  readonly heatmap: Heatmap | null;
  readonly staleness: readonly Staleness[];
  readonly integrity: readonly IntegrityProblem[];
  readonly quality: QualitySummary;
  readonly gaps: readonly FlaggedGap[];
  readonly disagreements: readonly Disagreement[];
  /** Bars both this source and another hold, compared. */
  readonly compared: number;
  readonly openQuarantined: number;
}

export interface Staleness {
  readonly symbol: string;
  readonly lastTs: string;
  /** The last session that has ended by now. */
  readonly expectedSession: string | null;
  /** Sessions that ended after the last bar's session (null without a calendar). */
  readonly lagSessions: number | null;
  readonly lagHours: number;
}

export interface QualitySummary {
  readonly rows: number;
  /** Rows written with a score (files written before scores existed have none). */
  readonly scored: number;
  readonly validated: number;
  readonly threshold: number;
  /** Rows per score band: '1', '0.85-1', '0.5-0.85', '0-0.5'. */
  readonly bands: Readonly<Record<string, number>>;
  readonly flags: Readonly<Record<string, number>>;
}

export interface FlaggedGap {
  readonly symbol: string;
  readonly ts: string;
  readonly previousClose: number | null;
  readonly open: number;
  readonly move: number | null;
}

export interface Disagreement {
  readonly symbol: string;
  readonly ts: string;
  readonly source: string;
  readonly close: number;
  readonly otherSource: string;
  readonly otherClose: number;
  readonly difference: number;
  /** stored: both closes as stored; splits: both adjusted for splits by their own source's adjustment log (mdw curate). */
  readonly basis: 'stored' | 'splits';
}

export interface AuditOptions {
  /** Closes from two sources that differ by more than this share disagree (0.005 = 0.5%). */
  readonly tolerance: number;
}

/**
 * Whether the audit judges a job's completeness (the ledger and its heatmap): bars that follow a
 * calendar, a session long or shorter (weeks and months have no sessions to count).
 */
export function judgesCompleteness(job: Job): job is Job & { readonly calendar: TradingCalendar } {
  // A curated series is as complete as what it was built from, which is audited as ingested.
  return kindOf(job.dataset).completeness && !job.dataset.curated && job.calendar !== null && job.granularity.unit !== 'w' && job.granularity.unit !== 'mo';
}

/**
 * Audits one job's series: the files against the manifest, completeness against the calendar
 * (written to the ledger), staleness, the quality scores and flags stored with the data, and
 * agreement with every other source of the same dataset and granularity. Numbers come from the
 * files as a query would read them; a file that cannot be read counts as absent.
 */
export async function auditSeries(ctx: Context, job: Job, options: AuditOptions): Promise<SeriesAudit | null> {
  const { sql } = await ctx.catalog('mdw audit');
  const source = job.spec.source.name;
  const granularity = job.granularity.text;
  const ids = await findSeries(sql, job.dataset.name, source);
  if (!ids) return null;
  const manifest = await seriesManifest(sql, ids, granularity);
  if (manifest.length === 0) return null;
  const duck = await ctx.duck();
  ctx.progress.step(`audit ${job.name}: checking ${manifest.length} files against the manifest`);
  const dir = seriesDir(job.dataset.name, source, granularity);
  const { problems, readable } = await checkIntegrity(duck, localStore(ctx.paths.lake), dir, manifest, await supersededFiles(sql, ids, granularity));
  const settings = seriesSettings(job.validation.value);
  const base = {
    job: job.name,
    dataset: job.dataset.name,
    source,
    granularity,
    calendar: job.calendar?.name ?? null,
    files: manifest.length,
    integrity: problems,
    openQuarantined: await openQuarantined(sql, ids, granularity),
  };
  if (readable.length === 0 || !kindOf(job.dataset).completeness || job.dataset.curated) {
    // Events and reference records get the integrity checks only: they have no sessions to
    // complete, no scores, and no one value two sources must agree on. Curated series too: their
    // sessions are those of the series they were built from, audited as ingested.
    const [counted] = readable.length ? await duck.all<{ n: number }>(`SELECT count(*) AS n FROM read_parquet(${pathList(readable)}, hive_partitioning = false)`) : [{ n: 0 }];
    const rows = Number(counted!.n);
    const quality = { rows, scored: 0, validated: 0, threshold: settings.threshold, bands: {}, flags: {} };
    return { ...base, rows, symbols: [], ledger: [], heatmap: null, staleness: [], quality, gaps: [], disagreements: [], compared: 0 };
  }

  let completeness: Awaited<ReturnType<typeof computeCompleteness>> | null = null;
  if (judgesCompleteness(job)) {
    ctx.progress.step(`audit ${job.name}: completeness against ${job.calendar.name}`);
    const retired = await retiredRanges(sql, ids, granularity);
    const retiredBefore = new Map(retired.map((r) => [r.symbol, r.before]));
    completeness = await computeCompleteness(
      duck,
      {
        files: readable,
        calendar: job.calendar,
        granularity: job.granularity,
        extended: job.spec.extended_hours ?? false,
        from: job.spec.window?.from?.slice(0, 10) ?? null,
        to: job.spec.window?.to?.slice(0, 10) ?? null,
        // Records of sessions that have begun: a date far in the future is no session's hole; and none a policy retired.
        quarantined: (await openQuarantinedKeys(sql, ids, granularity, new Date(ctx.clock.now().getTime() + 86_400_000))).filter(
          (q) => !retiredBefore.has(q.symbol) || q.ts >= retiredBefore.get(q.symbol)!,
        ),
        retired: retired.map((r) => ({ symbol: r.symbol, firstKept: r.firstKept })),
        until: new Date(ctx.clock.now().getTime() + 86_400_000).toISOString().slice(0, 10),
        explained: await explainedHoles(ctx, sql, job),
      },
      `${job.dataset.name} ${granularity} ${source}: completeness by month`,
    );
    await writeLedger(sql, ids, granularity, completeness.runs, ctx.clock.now());
  }
  const staleness = await computeStaleness(ctx, duck, job, readable);
  const quality = await summarizeQuality(duck, readable, settings.threshold);
  const gaps = await flaggedGaps(duck, readable);
  const { disagreements, compared } = await compareSources(ctx, duck, job, readable, options.tolerance);
  return {
    ...base,
    rows: quality.rows,
    symbols: completeness?.symbols ?? [],
    ledger: completeness?.runs ?? [],
    heatmap: completeness?.heatmap ?? null,
    staleness,
    quality,
    gaps,
    disagreements,
    compared,
  };
}

/** Per symbol: the last bar against the last session that has ended by now. */
async function computeStaleness(ctx: Context, duck: DuckSession, job: Job, files: readonly string[]): Promise<Staleness[]> {
  const now = ctx.clock.now();
  const last = await duck.all<{ symbol: string; ts: string }>(
    `SELECT symbol, strftime(max(ts), '%Y-%m-%dT%H:%M:%SZ') AS ts FROM read_parquet(${pathList(files)}, hive_partitioning = false) GROUP BY symbol ORDER BY symbol`,
  );
  const calendar = job.calendar;
  const today = now.toISOString().slice(0, 10);
  const ended = calendar ? calendar.sessions(addDays(today, -14), today).filter((s) => s.close <= now) : [];
  const expectedSession = ended.at(-1)?.date ?? null;
  const lagCache = new Map<string, number>();
  return last.map((r) => {
    const day = r.ts.slice(0, 10);
    let lagSessions: number | null = null;
    if (calendar && expectedSession) {
      if (!lagCache.has(day)) {
        lagCache.set(day, day >= expectedSession ? 0 : calendar.sessions(addDays(day, 1), expectedSession).filter((s) => s.close <= now).length);
      }
      lagSessions = lagCache.get(day)!;
    }
    return { symbol: r.symbol, lastTs: r.ts, expectedSession, lagSessions, lagHours: Math.round((now.getTime() - Date.parse(r.ts)) / 36e5) };
  });
}

async function summarizeQuality(duck: DuckSession, files: readonly string[], threshold: number): Promise<QualitySummary> {
  const from = `read_parquet(${pathList(files)}, hive_partitioning = false, union_by_name = true)`;
  const [s] = await duck.all<Record<string, number>>(
    `SELECT count(*) AS rows, count(quality) AS scored, count(*) FILTER (WHERE quality >= ${literal(threshold)}) AS validated, ` +
      `count(*) FILTER (WHERE quality = 1) AS b1, count(*) FILTER (WHERE quality >= 0.85 AND quality < 1) AS b2, ` +
      `count(*) FILTER (WHERE quality >= 0.5 AND quality < 0.85) AS b3, count(*) FILTER (WHERE quality < 0.5) AS b4 FROM ${from}`,
  );
  const flags = await duck.all<{ flag: string; n: number }>(
    `SELECT flag, count(*) AS n FROM (SELECT unnest(string_split(flags, ',')) AS flag FROM ${from} WHERE flags IS NOT NULL) GROUP BY ALL ORDER BY ALL`,
  );
  return {
    rows: Number(s!.rows),
    scored: Number(s!.scored),
    validated: Number(s!.validated),
    threshold,
    bands: { '1': Number(s!.b1), '0.85-1': Number(s!.b2), '0.5-0.85': Number(s!.b3), '0-0.5': Number(s!.b4) },
    flags: Object.fromEntries(flags.map((f) => [f.flag, Number(f.n)])),
  };
}

/** Bars flagged as a gap (possible split or halt), with the close before them. */
async function flaggedGaps(duck: DuckSession, files: readonly string[]): Promise<FlaggedGap[]> {
  const from = `read_parquet(${pathList(files)}, hive_partitioning = false, union_by_name = true)`;
  const gaps = await duck.all<{ symbol: string; ts: string; open: number }>(
    `SELECT symbol, strftime(ts, '%Y-%m-%dT%H:%M:%S') AS ts, open FROM ${from} WHERE contains(flags, 'gap') ORDER BY symbol, ts`,
  );
  if (gaps.length === 0) return [];
  // The close before each gap: only the bars of those symbols in the days before are read.
  await duck.run(`CREATE OR REPLACE TEMP TABLE mdw_gaps (symbol VARCHAR, ts TIMESTAMP, open DOUBLE)`);
  await duck.run(`INSERT INTO mdw_gaps VALUES ${gaps.map((g) => `(${literal(g.symbol)}, TIMESTAMP ${literal(g.ts)}, ${g.open})`).join(', ')}`);
  const rows = await duck.all<{ symbol: string; ts: string; pc: number | null; open: number }>(
    `SELECT g.symbol, strftime(g.ts, '%Y-%m-%dT%H:%M:%SZ') AS ts, p.close AS pc, g.open FROM mdw_gaps g ` +
      `ASOF LEFT JOIN (SELECT b.symbol, b.ts, b.close FROM ${from} b SEMI JOIN mdw_gaps x ON b.symbol = x.symbol AND b.ts < x.ts AND b.ts >= x.ts - INTERVAL 15 DAY) p ` +
      `ON g.symbol = p.symbol AND g.ts > p.ts ORDER BY g.symbol, g.ts`,
  );
  await duck.run('DROP TABLE mdw_gaps');
  return rows.map((r) => ({ symbol: r.symbol, ts: r.ts, previousClose: r.pc, open: r.open, move: r.pc ? Math.round((r.open / r.pc - 1) * 10000) / 10000 : null }));
}

/** The files DuckDB can read as Parquet (another source's damage is that source's audit to report). */
async function readableFiles(duck: DuckSession, files: readonly string[]): Promise<string[]> {
  if (files.length === 0) return [];
  try {
    await duck.all(`SELECT count(*) FROM read_parquet(${pathList(files)}, hive_partitioning = false)`);
    return [...files];
  } catch {
    const ok: string[] = [];
    for (const f of files) {
      try {
        await duck.all(`SELECT count(*) FROM read_parquet(${pathList([f])}, hive_partitioning = false)`);
        ok.push(f);
      } catch {
        // unreadable: left out of the comparison
      }
    }
    return ok;
  }
}

/**
 * Closes of the same symbol and bar from every other source of this dataset and granularity. Two
 * sources are compared on one basis: when both have an adjustment log (mdw curate), each close is
 * adjusted for splits by its own source's log, so that a raw source and a split-adjusted one do
 * not disagree on every bar before a split; otherwise both as stored. (Dividends are left out:
 * two logs fed by different action sources would differ by a factor on every earlier bar.)
 */
async function compareSources(
  ctx: Context,
  duck: DuckSession,
  job: Job,
  files: readonly string[],
  tolerance: number,
): Promise<{ disagreements: Disagreement[]; compared: number }> {
  const source = job.spec.source.name;
  const out: Disagreement[] = [];
  let compared = 0;
  const logOf = (s: string) => adjustmentLogFiles(ctx.paths.lake, s, job.granularity.text);
  const ownLog = job.dataset.name === 'ohlcv' ? logOf(source) : [];
  for (const other of listSources(ctx.paths.lake, job.dataset.name).filter((s) => s !== source)) {
    const otherFiles = await readableFiles(duck, allSeriesFiles(ctx.paths.lake, job.dataset.name, other, job.granularity.text));
    if (otherFiles.length === 0) continue;
    const otherLog = ownLog.length > 0 ? logOf(other) : [];
    const adjusted = ownLog.length > 0 && otherLog.length > 0;
    const closes = (bars: readonly string[], log: readonly string[]) =>
      adjusted
        ? `(SELECT b.symbol, b.ts, b.close * coalesce(f.split_cum, 1.0) AS close FROM read_parquet(${pathList(bars)}, hive_partitioning = false) b ` +
          `ASOF LEFT JOIN (${cumulativeFactorsSql(log, null, intradayMs(job.granularity) !== null)}) f ON f.symbol = b.symbol AND b.ts < f.cutoff)`
        : `read_parquet(${pathList(bars)}, hive_partitioning = false)`;
    const join = `FROM ${closes(files, ownLog)} a JOIN ${closes(otherFiles, otherLog)} b ON a.symbol = b.symbol AND a.ts = b.ts`;
    const [n] = await duck.all<{ n: number }>(`SELECT count(*) AS n ${join}`);
    compared += Number(n!.n);
    const rows = await duck.all<{ symbol: string; ts: string; a: number; b: number; d: number }>(
      `SELECT a.symbol, strftime(a.ts, '%Y-%m-%dT%H:%M:%SZ') AS ts, a.close AS a, b.close AS b, abs(a.close / b.close - 1) AS d ${join} ` +
        `WHERE b.close <> 0 AND abs(a.close / b.close - 1) > ${literal(tolerance)} ORDER BY a.symbol, a.ts`,
    );
    for (const r of rows) {
      out.push({ symbol: r.symbol, ts: r.ts, source, close: r.a, otherSource: other, otherClose: r.b, difference: Math.round(r.d * 10000) / 10000, basis: adjusted ? 'splits' : 'stored' });
    }
  }
  return { disagreements: out, compared };
}
