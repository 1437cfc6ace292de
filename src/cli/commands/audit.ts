import { writeFileSync } from 'node:fs';
import { renderHeatmapHtml, renderHeatmapPng, renderHeatmapSvg, renderHeatmapText } from '../../audit/heatmap.js';
import { auditSeries, judgesCompleteness, type SeriesAudit } from '../../audit/run-audit.js';
import { isCurateFile, loadCurateJob } from '../../config/curate.js';
import { curatedLoads } from '../../curate/run-curate.js';
import { jobArgument, listJobFiles, loadJob, resolveJobFile, type Job } from '../../config/jobs.js';
import { ExitCode, UsageError, errorMessage } from '../../core/errors.js';
import { formatRecords, recordFormats, resolveFormat, type Cell, type Format } from '../output.js';
import { requireHome, stdoutIsTty, withContext, type GlobalOptions } from '../run-command.js';

type Section = 'summary' | 'ledger' | 'staleness' | 'integrity' | 'quality' | 'gaps' | 'disagreements';
type FailOn = 'red' | 'amber' | 'integrity' | 'disagreement' | 'stale';
const pictures = ['html', 'svg', 'png'] as const;
type Picture = (typeof pictures)[number];

/** Each section as rows and columns, for tables, CSV and NDJSON. */
const sections: Record<Section, { columns: readonly string[]; rows: (a: SeriesAudit) => Record<string, Cell>[] }> = {
  summary: {
    columns: ['job', 'source', 'granularity', 'calendar', 'files', 'rows', 'symbols', 'sessions', 'green', 'amber', 'red', 'known', 'complete_pct', 'stale_symbols', 'integrity_problems', 'validated_pct', 'flagged', 'gaps', 'disagreements', 'quarantined_open'],
    rows: (a) => {
      const sum = (k: 'sessions' | 'green' | 'amber' | 'red' | 'known') => a.symbols.reduce((n, s) => n + s[k], 0);
      const sessions = sum('sessions');
      return [
        {
          job: a.job,
          source: a.source,
          granularity: a.granularity,
          calendar: a.calendar ?? '-',
          files: a.files,
          rows: a.rows,
          symbols: a.staleness.length,
          sessions: a.calendar ? sessions : null,
          green: a.calendar ? sum('green') : null,
          amber: a.calendar ? sum('amber') : null,
          red: a.calendar ? sum('red') : null,
          known: a.calendar ? sum('known') : null,
          complete_pct: a.calendar && sessions > 0 ? pct(sum('green'), sessions) : null,
          stale_symbols: a.staleness.filter((s) => (s.lagSessions ?? 0) > 0).length,
          integrity_problems: a.integrity.length,
          validated_pct: a.quality.scored > 0 ? pct(a.quality.validated, a.quality.rows) : null,
          flagged: Object.values(a.quality.flags).reduce((n, v) => n + v, 0),
          gaps: a.gaps.length,
          disagreements: a.disagreements.length,
          quarantined_open: a.openQuarantined,
        },
      ];
    },
  },
  ledger: {
    columns: ['job', 'source', 'symbol', 'status', 'first_session', 'last_session', 'sessions', 'expected_bars', 'present_bars', 'quarantined'],
    rows: (a) =>
      a.ledger.map((r) => ({
        job: a.job,
        source: a.source,
        symbol: r.symbol,
        status: r.status,
        first_session: r.firstSession,
        last_session: r.lastSession,
        sessions: r.sessions,
        expected_bars: r.expectedBars,
        present_bars: r.presentBars,
        quarantined: r.quarantined,
      })),
  },
  staleness: {
    columns: ['job', 'source', 'symbol', 'last_ts', 'expected_session', 'lag_sessions', 'lag_hours'],
    rows: (a) =>
      a.staleness.map((s) => ({ job: a.job, source: a.source, symbol: s.symbol, last_ts: s.lastTs, expected_session: s.expectedSession, lag_sessions: s.lagSessions, lag_hours: s.lagHours })),
  },
  integrity: {
    columns: ['job', 'source', 'uri', 'problem', 'detail'],
    rows: (a) => a.integrity.map((p) => ({ job: a.job, source: a.source, uri: p.uri, problem: p.problem, detail: p.detail })),
  },
  quality: {
    columns: ['job', 'source', 'rows', 'scored', 'validated', 'validated_pct', 'threshold', 'q_1', 'q_0.85-1', 'q_0.5-0.85', 'q_0-0.5', 'flags'],
    rows: (a) => [
      {
        job: a.job,
        source: a.source,
        rows: a.quality.rows,
        scored: a.quality.scored,
        validated: a.quality.validated,
        validated_pct: a.quality.rows > 0 ? pct(a.quality.validated, a.quality.rows) : null,
        threshold: a.quality.threshold,
        ...Object.fromEntries(Object.entries(a.quality.bands).map(([k, v]) => [`q_${k}`, v])),
        flags: Object.entries(a.quality.flags)
          .map(([k, v]) => `${k}=${v}`)
          .join(' '),
      },
    ],
  },
  gaps: {
    columns: ['job', 'source', 'symbol', 'ts', 'previous_close', 'open', 'move_pct'],
    rows: (a) =>
      a.gaps.map((g) => ({ job: a.job, source: a.source, symbol: g.symbol, ts: g.ts, previous_close: g.previousClose, open: g.open, move_pct: g.move === null ? null : round(g.move * 100) })),
  },
  disagreements: {
    columns: ['symbol', 'ts', 'source', 'close', 'other_source', 'other_close', 'difference_pct', 'basis'],
    rows: (a) =>
      a.disagreements.map((d) => ({ symbol: d.symbol, ts: d.ts, source: d.source, close: d.close, other_source: d.otherSource, other_close: d.otherClose, difference_pct: round(d.difference * 100), basis: d.basis })),
  },
};

const pct = (n: number, of: number) => round((100 * n) / of);
const round = (x: number) => Math.round(x * 100) / 100;

/**
 * `mdw audit [jobs...]`: completeness (ledger and heatmap), staleness, integrity, quality and
 * cross-source agreement of each job's series. `--fail-on` turns findings into exit 1 for cron.
 */
export async function auditCommand(opts: GlobalOptions, jobNames: string[]): Promise<number> {
  const requested = (opts.format as string | undefined) ?? undefined;
  const picture = pictures.find((p) => p === requested) ?? null;
  const format: Format | null = picture ? null : resolveFormat(requested, stdoutIsTty(), recordFormats);
  const failOn = parseFailOn(opts.failOn as string | undefined);
  const tolerance = parseTolerance(opts.tolerance as string | undefined);
  const section = opts.section as Section | undefined;
  if (section && !(section in sections)) throw new UsageError(`--section ${section} is not one of ${Object.keys(sections).join(', ')}`);
  checkPictureUsage(picture, opts.out as string | undefined, jobNames);
  return withContext(opts, 'mdw audit', async (ctx) => {
    requireHome(ctx);
    const jobs = loadJobs(ctx.settings.configDir, ctx.paths.lake, jobNames, ctx.env, (m) => ctx.logger.warn(m));
    if (picture && !jobs.some(judgesCompleteness)) {
      const which = jobs.length === 0 ? 'there are no jobs' : `${jobs.map((j) => j.name).join(', ')} ${jobs.length === 1 ? 'is not a job' : 'are not jobs'}`;
      throw new UsageError(`no completeness to draw: ${which} of bars with a calendar (a session long or shorter)`);
    }
    const audits: SeriesAudit[] = [];
    for (const job of jobs) {
      const a = await auditSeries(ctx, job, { tolerance });
      if (a) audits.push(a);
      else if (jobNames.length > 0) ctx.logger.warn(`${job.name}: nothing loaded yet (run \`mdw ingest ${jobArgument(ctx.settings.configDir, job)}\`)`);
    }
    ctx.progress.done();
    if (audits.length === 0) ctx.logger.warn('nothing to audit: no job has loaded data yet');

    if (picture) writePicture(picture, audits, opts.out as string | undefined);
    else if (format === 'table' && !section) process.stdout.write(renderReport(audits, stdoutIsTty()));
    else if (format === 'json' && !section) process.stdout.write(`${JSON.stringify({ audited_at: ctx.clock.now().toISOString(), series: audits }, null, 2)}\n`);
    else {
      const s = sections[section ?? 'summary'];
      process.stdout.write(formatRecords(audits.flatMap(s.rows), s.columns, format!));
    }
    const failures = findFailures(audits, failOn);
    for (const f of failures) process.stderr.write(`mdw: audit: ${f}\n`);
    return failures.length > 0 ? ExitCode.failed : ExitCode.ok;
  });
}

/**
 * Every mistake in asking for a picture, found before the audit runs (it can take minutes on a
 * large lake) rather than after it.
 */
function checkPictureUsage(picture: Picture | null, out: string | undefined, jobNames: readonly string[]): void {
  if (!picture) {
    if (out) throw new UsageError('--out is for --format html, svg or png; other formats go to stdout (redirect it with >)');
    return;
  }
  if (picture !== 'html' && jobNames.length !== 1) {
    throw new UsageError(`--format ${picture} draws one series: name one job (mdw audit demo --format ${picture} --out demo.${picture}), or use --format html for several`);
  }
  if (!out && stdoutIsTty()) throw new UsageError(`--format ${picture} draws a picture: give --out <file>, or pipe it`);
}

/** The jobs named (all by default), a curate job as the loads of its curated series: the audit checks those files too. */
function loadJobs(configDir: string, lakeRoot: string, names: readonly string[], env: NodeJS.ProcessEnv, warn: (m: string) => void): Job[] {
  const load = (nameOrFile: string): Job[] =>
    isCurateFile(resolveJobFile(configDir, nameOrFile))
      ? curatedLoads(configDir, lakeRoot, env, loadCurateJob(configDir, nameOrFile, env)).map((l) => l.job)
      : [loadJob(configDir, nameOrFile, env)];
  if (names.length > 0) return names.flatMap(load);
  const jobs: Job[] = [];
  for (const file of listJobFiles(configDir)) {
    try {
      jobs.push(...load(file));
    } catch (err) {
      warn(`skipping an invalid job: ${errorMessage(err)}`);
    }
  }
  return jobs;
}

function parseFailOn(text: string | undefined): Set<FailOn> {
  const allowed: readonly FailOn[] = ['red', 'amber', 'integrity', 'disagreement', 'stale'];
  const out = new Set<FailOn>();
  for (const t of (text ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    if (!(allowed as readonly string[]).includes(t)) throw new UsageError(`--fail-on ${t} is not one of ${allowed.join(', ')}`);
    out.add(t as FailOn);
  }
  return out;
}

function parseTolerance(text: string | undefined): number {
  if (text === undefined) return 0.005;
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  if (!m) throw new UsageError(`--tolerance ${text} is not a share such as 0.5% or 0.005`);
  return m[2] ? Number(m[1]) / 100 : Number(m[1]);
}

/** What --fail-on makes an exit 1, one line each. */
function findFailures(audits: readonly SeriesAudit[], failOn: ReadonlySet<FailOn>): string[] {
  const out: string[] = [];
  for (const a of audits) {
    const runs = (status: string) => a.ledger.filter((r) => r.status === status);
    const count = (status: string) => runs(status).reduce((n, r) => n + r.sessions, 0);
    const red = count('RED');
    const amber = count('AMBER');
    if ((failOn.has('red') || failOn.has('amber')) && red > 0) out.push(`${a.job}: ${red} RED sessions (missing), first ${runs('RED')[0]!.symbol} ${runs('RED')[0]!.firstSession}`);
    if (failOn.has('amber') && amber > 0) out.push(`${a.job}: ${amber} AMBER sessions (partial), first ${runs('AMBER')[0]!.symbol} ${runs('AMBER')[0]!.firstSession}`);
    if (failOn.has('integrity') && a.integrity.length > 0) out.push(`${a.job}: ${a.integrity.length} integrity problems, first ${a.integrity[0]!.problem} ${a.integrity[0]!.uri}`);
    if (failOn.has('disagreement') && a.disagreements.length > 0) {
      const d = a.disagreements[0]!;
      out.push(`${a.job}: ${a.disagreements.length} closes disagree with another source, first ${d.symbol} ${d.ts} ${d.source} ${d.close} vs ${d.otherSource} ${d.otherClose}`);
    }
    const stale = a.staleness.filter((s) => (s.lagSessions ?? 0) > 0);
    if (failOn.has('stale') && stale.length > 0) out.push(`${a.job}: ${stale.length} symbols behind the last session, first ${stale[0]!.symbol} (last ${stale[0]!.lastTs})`);
  }
  return out;
}

/** The terminal report: the summary, each heatmap, then only what needs attention. */
function renderReport(audits: readonly SeriesAudit[], color: boolean): string {
  const parts: string[] = [];
  const limit = 30;
  const table = (title: string, s: Section, filter: (r: Record<string, Cell>) => boolean = () => true) => {
    const rows = audits.flatMap(sections[s].rows).filter(filter);
    if (rows.length === 0) return;
    parts.push(`${title}${rows.length > limit ? ` (first ${limit} of ${rows.length}; --section ${s} --format csv lists all)` : ''}`);
    parts.push(formatRecords(rows.slice(0, limit), sections[s].columns, 'table'));
  };
  table('Series', 'summary');
  for (const a of audits) if (a.heatmap && a.heatmap.rows.length > 0) parts.push(renderHeatmapText(a.heatmap, { color, width: process.stdout.columns ?? 120 }));
  table('Missing or partial sessions', 'ledger', (r) => r.status !== 'GREEN');
  table('Integrity problems', 'integrity');
  table('Behind the last session', 'staleness', (r) => Number(r.lag_sessions ?? 0) > 0);
  table('Quality', 'quality');
  table('Flagged gaps (possible split or halt)', 'gaps');
  table('Closes that disagree across sources', 'disagreements');
  if (audits.every((a) => a.integrity.length === 0 && a.ledger.every((r) => r.status === 'GREEN'))) parts.push('All audited sessions complete; every file matches the manifest.\n');
  return parts.join('\n');
}

function writePicture(kind: Picture, audits: readonly SeriesAudit[], out: string | undefined): void {
  const maps = audits.flatMap((a) => (a.heatmap && a.heatmap.rows.length > 0 ? [a.heatmap] : []));
  // Usage was checked before the audit ran; what is left is a job with nothing loaded yet.
  if (maps.length === 0) throw new UsageError('no completeness to draw: the audited jobs have no data yet');
  const body = kind === 'html' ? renderHeatmapHtml(maps, 'mdw audit: completeness') : kind === 'svg' ? renderHeatmapSvg(maps[0]!) : renderHeatmapPng(maps[0]!);
  if (out) writeFileSync(out, body);
  else process.stdout.write(body);
}
