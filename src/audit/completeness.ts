import { addDays, type TradingCalendar } from '../calendar/calendar.js';
import type { LedgerRun } from '../catalog/audit-catalog.js';
import type { Granularity } from '../core/granularity.js';
import { literal, pathList } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { inHoursSql, loadSessions, sessionJoin, sessionTable } from '../validate/session-rule.js';
import type { Heatmap, HeatmapCell } from './heatmap.js';

export interface CompletenessInput {
  readonly files: readonly string[];
  readonly calendar: TradingCalendar;
  readonly granularity: Granularity;
  readonly extended: boolean;
  /** Sessions expected from this date (the job's window), else from each symbol's first bar. */
  readonly from: string | null;
  /** ... up to this date, else up to each symbol's last bar (what follows is staleness). */
  readonly to: string | null;
  /** The series' open quarantined records, by the key their transform read (symbol and ts, ISO). */
  readonly quarantined: readonly { readonly symbol: string; readonly ts: string }[];
  /** No session after this date is judged (today, or a little after): a bar dated far ahead is no hole's. */
  readonly until: string;
  /** Known holes (backfill's vendor_empty and accepted windows): their sessions without bars are KNOWN, not RED. */
  readonly explained?: readonly { readonly symbol: string; readonly from: string; readonly to: string }[];
  /** Per symbol, the first date a retention policy kept: no session before it is expected. */
  readonly retired?: readonly { readonly symbol: string; readonly firstKept: string }[];
}

export interface SymbolCompleteness {
  readonly symbol: string;
  readonly sessions: number;
  readonly green: number;
  readonly amber: number;
  readonly red: number;
  /** Sessions without bars in a known hole. */
  readonly known: number;
  readonly expectedBars: number;
  readonly presentBars: number;
  /** Open quarantined records that fell in its sessions. */
  readonly quarantined: number;
  /** The last session with a bar. */
  readonly lastSession: string | null;
}

export interface Completeness {
  readonly runs: LedgerRun[];
  readonly symbols: SymbolCompleteness[];
  readonly heatmap: Heatmap;
}

/**
 * Every (symbol, session) of a series against the calendar: GREEN when it has every bar the
 * session's hours hold (one for daily bars) and none of its records sits in quarantine, AMBER
 * when it has some, RED when none. Bars belong to sessions by the rule in_session uses
 * (loadSessions). Sessions are expected from each symbol's first bar or quarantined record (or
 * the job's window start) to its last (or the window's end), so a hole inside the series is RED,
 * a rule that rejected good bars shows where it did, and a tail that stopped is staleness.
 */
export async function computeCompleteness(duck: DuckSession, input: CompletenessInput, title: string): Promise<Completeness> {
  const g = input.granularity;
  const daily = g.unit === 'd';
  await duck.run(`CREATE OR REPLACE TEMP TABLE mdw_quarantined (symbol VARCHAR, ts TIMESTAMP)`);
  for (let i = 0; i < input.quarantined.length; i += 1000) {
    const values = input.quarantined.slice(i, i + 1000).map((q) => `(${literal(q.symbol)}, ${literal(q.ts)}::TIMESTAMP)`);
    await duck.run(`INSERT INTO mdw_quarantined VALUES ${values.join(', ')}`);
  }
  await duck.run(`CREATE OR REPLACE TEMP TABLE mdw_explained (symbol VARCHAR, lo DATE, hi DATE)`);
  const explained = input.explained ?? [];
  for (let i = 0; i < explained.length; i += 1000) {
    const values = explained.slice(i, i + 1000).map((h) => `(${literal(h.symbol)}, ${literal(h.from)}::DATE, ${literal(h.to)}::DATE)`);
    await duck.run(`INSERT INTO mdw_explained VALUES ${values.join(', ')}`);
  }
  await duck.run(`CREATE OR REPLACE TEMP TABLE mdw_retired (symbol VARCHAR, first_kept DATE)`);
  const retired = input.retired ?? [];
  for (let i = 0; i < retired.length; i += 1000) {
    const values = retired.slice(i, i + 1000).map((r) => `(${literal(r.symbol)}, ${literal(r.firstKept)}::DATE)`);
    await duck.run(`INSERT INTO mdw_retired VALUES ${values.join(', ')}`);
  }
  const bars = `(SELECT symbol, ts, 1 AS bar, 0 AS held FROM read_parquet(${pathList(input.files)}, hive_partitioning = false) UNION ALL SELECT symbol, ts, 0, 1 FROM mdw_quarantined)`;
  const [range] = await duck.all<{ lo: string | null; hi: string | null }>(`SELECT strftime(min(ts), '%Y-%m-%d') AS lo, strftime(max(ts), '%Y-%m-%d') AS hi FROM ${bars}`);
  const lo = [range?.lo, input.from].filter((d): d is string => Boolean(d)).sort()[0];
  const hi = [range?.hi, input.to].filter((d): d is string => Boolean(d)).sort().reverse().map((d) => (d > input.until ? input.until : d))[0];
  const done = async () => {
    await duck.run('DROP TABLE IF EXISTS mdw_quarantined');
    await duck.run('DROP TABLE IF EXISTS mdw_explained');
    await duck.run('DROP TABLE IF EXISTS mdw_retired');
  };
  if (!lo || !hi) {
    await done();
    return { runs: [], symbols: [], heatmap: { title, rows: [], columns: [], cells: [], unit: daily ? 'sessions' : 'bars' } };
  }
  // A day each side: an FX session opens on the evening before its date.
  const { dayShift } = await loadSessions(duck, { calendar: input.calendar, granularity: g, extended: input.extended }, addDays(lo, -1), addDays(hi, 1));
  const inHours = daily ? 'true' : inHoursSql('b');
  const at = (d: string | null, edge: 'from' | 'to') =>
    d === null ? null : `(SELECT ${edge === 'from' ? 'min' : 'max'}(n) FROM ${sessionTable} WHERE date ${edge === 'from' ? '>=' : '<='} DATE ${literal(d)})`;
  await duck.run(
    `CREATE OR REPLACE TEMP TABLE mdw_present AS SELECT b.symbol, s.n, sum(b.bar) AS bars, sum(b.held) AS held ` +
      `FROM ${bars} b ${sessionJoin('b', daily, dayShift)} WHERE s.n IS NOT NULL AND ${inHours} GROUP BY ALL`,
  );
  await duck.run(
    `CREATE OR REPLACE TEMP TABLE mdw_ledger AS SELECT r.symbol, s.n, s.date, s.expected, coalesce(p.bars, 0) AS present, coalesce(p.held, 0) AS quarantined, ` +
      `CASE WHEN coalesce(p.bars, 0) >= s.expected AND coalesce(p.held, 0) = 0 THEN 'GREEN' WHEN coalesce(p.bars, 0) > 0 THEN 'AMBER' ` +
      `WHEN EXISTS (SELECT 1 FROM mdw_explained e WHERE e.symbol = r.symbol AND s.date BETWEEN e.lo AND e.hi) THEN 'KNOWN' ELSE 'RED' END AS status ` +
      // A symbol's sessions start at its first bar (or the window's start), and never before what retention kept.
      `FROM (SELECT p.symbol, greatest(${at(input.from, 'from') ?? 'min(p.n)'}, coalesce(max(k.n), 0)) AS lo, ${at(input.to, 'to') ?? 'max(p.n)'} AS hi FROM mdw_present p ` +
      `LEFT JOIN (SELECT x.symbol, min(s2.n) AS n FROM mdw_retired x JOIN ${sessionTable} s2 ON s2.date >= x.first_kept GROUP BY x.symbol) k ON k.symbol = p.symbol GROUP BY p.symbol) r ` +
      `JOIN ${sessionTable} s ON s.n BETWEEN r.lo AND r.hi LEFT JOIN mdw_present p ON p.symbol = r.symbol AND p.n = s.n`,
  );
  try {
    const runs = (
      await duck.all<{ symbol: string; status: LedgerRun['status']; first: string; last: string; sessions: number; expected: number; present: number; quarantined: number }>(
        `SELECT symbol, status, strftime(min(date), '%Y-%m-%d') AS first, strftime(max(date), '%Y-%m-%d') AS last, count(*) AS sessions, ` +
          `sum(expected) AS expected, sum(present) AS present, sum(quarantined) AS quarantined FROM (` +
          `SELECT *, n - row_number() OVER (PARTITION BY symbol, status ORDER BY n) AS grp FROM mdw_ledger) GROUP BY symbol, status, grp ORDER BY symbol, first`,
      )
    ).map((r) => ({
      symbol: r.symbol,
      firstSession: r.first,
      lastSession: r.last,
      status: r.status,
      sessions: Number(r.sessions),
      expectedBars: Number(r.expected),
      presentBars: Number(r.present),
      quarantined: Number(r.quarantined),
    }));
    const symbols = (
      await duck.all<{ symbol: string; sessions: number; green: number; amber: number; red: number; known: number; expected: number; present: number; quarantined: number; last: string | null }>(
        `SELECT symbol, count(*) AS sessions, count(*) FILTER (WHERE status = 'GREEN') AS green, count(*) FILTER (WHERE status = 'AMBER') AS amber, ` +
          `count(*) FILTER (WHERE status = 'RED') AS red, count(*) FILTER (WHERE status = 'KNOWN') AS known, sum(expected) AS expected, sum(present) AS present, sum(quarantined) AS quarantined, ` +
          `strftime(max(date) FILTER (WHERE present > 0), '%Y-%m-%d') AS last FROM mdw_ledger GROUP BY symbol ORDER BY symbol`,
      )
    ).map((r) => ({
      symbol: r.symbol,
      sessions: Number(r.sessions),
      green: Number(r.green),
      amber: Number(r.amber),
      red: Number(r.red),
      known: Number(r.known),
      expectedBars: Number(r.expected),
      presentBars: Number(r.present),
      quarantined: Number(r.quarantined),
      lastSession: r.last,
    }));
    const months = await duck.all<{ symbol: string; month: string; sessions: number; green: number; red: number; expected: number; present: number }>(
      `SELECT symbol, strftime(date, '%Y-%m') AS month, count(*) AS sessions, count(*) FILTER (WHERE status = 'GREEN') AS green, ` +
        `count(*) FILTER (WHERE status = 'RED') AS red, sum(expected) AS expected, sum(present) AS present FROM mdw_ledger GROUP BY ALL ORDER BY ALL`,
    );
    return { runs, symbols, heatmap: toHeatmap(title, months, daily ? 'sessions' : 'bars') };
  } finally {
    await duck.run('DROP TABLE IF EXISTS mdw_present');
    await duck.run('DROP TABLE IF EXISTS mdw_ledger');
    await done();
  }
}

/** Symbols x months: GREEN when every session was, RED when every one was, AMBER otherwise. */
function toHeatmap(
  title: string,
  months: readonly { symbol: string; month: string; sessions: number; green: number; red: number; expected: number; present: number }[],
  unit: string,
): Heatmap {
  const rows = [...new Set(months.map((m) => m.symbol))].sort();
  const seen = months.map((m) => m.month).sort();
  const columns: string[] = [];
  if (seen.length > 0) {
    let [y, mo] = seen[0]!.split('-').map(Number) as [number, number];
    for (;;) {
      const label = `${y}-${String(mo).padStart(2, '0')}`;
      columns.push(label);
      if (label >= seen[seen.length - 1]!) break;
      if (mo === 12) {
        y += 1;
        mo = 1;
      } else mo += 1;
    }
  }
  const at = new Map(months.map((m) => [`${m.symbol}\u0000${m.month}`, m]));
  const cells = rows.map((symbol) =>
    columns.map((month): HeatmapCell | null => {
      const m = at.get(`${symbol}\u0000${month}`);
      if (!m) return null;
      const status = Number(m.green) === Number(m.sessions) ? 'GREEN' : Number(m.red) === Number(m.sessions) ? 'RED' : 'AMBER';
      const expected = Number(m.expected);
      const present = Math.min(Number(m.present), expected);
      return { status, ratio: expected > 0 ? present / expected : 1, expected, present };
    }),
  );
  return { title, rows, columns, cells, unit };
}
