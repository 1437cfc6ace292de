import { createHash } from 'node:crypto';
import type { TradingCalendar } from '../calendar/calendar.js';
import type { CurateInputs } from '../catalog/curate-catalog.js';
import type { ResampleOutput } from '../config/curate.js';
import type { Context } from '../context.js';
import type { Granularity } from '../core/granularity.js';
import { ident, literal, pathList, stringList } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { seriesDir } from '../lake/layout.js';
import { localStore } from '../lake/local-store.js';
import { currentObjectsUnder } from '../lake/partition-files.js';
import { curatedLandingDir } from '../lake/raw-landing.js';
import { childUri } from '../lake/store.js';
import { resampleInputColumns, resampleSql } from '../query/resample.js';

/**
 * Stored resampled bars. A source series is resampled group by group: a symbol's folder of it
 * (minute bars: a folder per symbol) or, for a series of all symbols in a file a year, the whole
 * series. Each group's bars land as one NDJSON document named by the group, a key of the
 * current files it was computed from, and a key of how (calendar, hours, symbols): a group none
 * of whose files changed keeps its document and is not computed again, and a reader can tell
 * from the names alone whether the stored bars are those of the files stored now.
 */

/** How a group is resampled: what, besides its files, decides its bars. */
export interface ResampleHow {
  readonly to: Granularity;
  readonly calendar: TradingCalendar;
  readonly extended: boolean;
}

interface Group {
  /** symbol=AAPL, or `all` for a series without a folder per symbol. */
  readonly stem: string;
  /** The group's current files, as lake URIs (sorted). */
  readonly uris: readonly string[];
}

const shortHash = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);

/** The document a group's resampled bars land as: named by the group, its files and how. Pure. */
export function resampledDocName(group: Group, how: ResampleHow, symbols: readonly string[] | null): string {
  const only = group.stem === 'all' ? symbols : null;
  return `${group.stem}.${shortHash(group.uris)}.${shortHash([how.to.text, how.calendar.name, how.extended, only])}.ndjson`;
}

/** The groups of a source series (its current files), optionally only those that may hold some symbols. */
export function resampleGroups(lakeRoot: string, source: string, from: string, symbols: readonly string[] | null): Group[] {
  const store = localStore(lakeRoot);
  const base = seriesDir('ohlcv', source, from);
  const groups = new Map<string, string[]>();
  for (const uri of currentObjectsUnder(store, base)) {
    const folder = /^symbol=[^/]+/.exec(uri.slice(base.length + 1))?.[0];
    if (folder && symbols && !symbols.includes(decodeURIComponent(folder.slice('symbol='.length)))) continue;
    const stem = folder ?? 'all';
    groups.set(stem, [...(groups.get(stem) ?? []), uri]);
  }
  return [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([stem, uris]) => ({ stem, uris }));
}

/**
 * Whether the resampled bars stored for these symbols are those of the source files stored now,
 * computed the way asked: every group that holds them has its document landed. A reader uses
 * them then, and resamples on the fly otherwise (a newer bar not curated yet is never hidden).
 */
export function resampledUpToDate(lakeRoot: string, source: string, from: string, how: ResampleHow, symbols: readonly string[]): boolean {
  const groups = resampleGroups(lakeRoot, source, from, symbols);
  if (groups.length === 0) return false;
  const store = localStore(lakeRoot);
  const dir = curatedLandingDir(source, 'ohlcv_resampled', how.to.text);
  const landed = new Set(store.list(dir).map((e) => e.name));
  return groups.every((g) => landed.has(resampledDocName(g, how, null)));
}

export interface LandedResampled {
  readonly empty: boolean;
  /** Groups of the source series. */
  readonly groups: number;
  /** Bars computed this run. */
  readonly rows: number;
  /** Groups whose bars were computed and landed (their files changed). */
  readonly changed: number;
  /** The documents landed this run with the partition files each was computed from, and those removed. */
  readonly inputs: readonly CurateInputs[];
  readonly removed: readonly string[];
}

/** Resamples the groups of a curate job's bars whose files changed since their document landed, to one bar size. */
export async function landResampled(
  ctx: Context,
  spec: ResampleOutput,
  to: Granularity,
  options: { readonly symbols: readonly string[] | null; readonly dryRun: boolean },
): Promise<LandedResampled> {
  const store = localStore(ctx.paths.lake);
  const source = spec.bars.spec.source.name;
  const from = spec.bars.granularity;
  const how: ResampleHow = { to, calendar: spec.calendar, extended: spec.extended };
  const dir = curatedLandingDir(source, 'ohlcv_resampled', to.text);
  const groups = resampleGroups(ctx.paths.lake, source, from.text, options.symbols);
  const duck = await ctx.duck();
  if (!options.dryRun) store.prepare(dir);
  const landed = store.list(dir).filter((e) => !e.folder && e.name.endsWith('.ndjson')).map((e) => e.name);
  let rows = 0;
  let changed = 0;
  const inputs: CurateInputs[] = [];
  const removed: string[] = [];
  for (const group of groups) {
    const name = resampledDocName(group, how, options.symbols);
    if (landed.includes(name)) continue;
    changed++;
    if (options.dryRun) continue;
    const uri = childUri(dir, name);
    const temp = store.tempOf(uri, String(process.pid));
    const sql = await groupSql(duck, group.uris.map((u) => store.locate(u)), from, how, options.symbols);
    if (sql === null) {
      // Files without a bar of the symbols: an empty document, so that the group is not computed again.
      store.commit(store.writeTemp(uri, String(process.pid), ''), uri);
    } else {
      const [copied] = await duck.all<{ Count: number }>(`COPY (${sql}) TO ${literal(store.locate(temp))} (FORMAT JSON)`);
      rows += Number(copied!.Count);
      await store.seal([temp]);
      store.commit(temp, uri);
    }
    inputs.push({ doc: store.locate(uri), partitions: group.uris, actionBatches: [] });
    // The group's earlier documents were computed from files since replaced.
    const earlier = landed.filter((l) => l !== name && l.startsWith(`${group.stem}.`)).map((l) => childUri(dir, l));
    store.remove(earlier);
    removed.push(...earlier.map((u) => store.locate(u)));
  }
  return { inputs, removed, empty: options.dryRun || store.list(dir).every((e) => !e.name.endsWith('.ndjson')), groups: groups.length, rows, changed };
}

/** A group's resampled bars, as NDJSON rows named as ohlcv_resampled's columns (ts in ISO 8601 UTC); null when its files hold no bar. */
async function groupSql(duck: DuckSession, files: readonly string[], from: Granularity, how: ResampleHow, symbols: readonly string[] | null): Promise<string | null> {
  const read = `read_parquet(${pathList(files)}, hive_partitioning = false, union_by_name = true)`;
  const has = new Set((await duck.describe(`SELECT * FROM ${read}`)).map((c) => c.name));
  const only = symbols ? ` WHERE symbol IN (SELECT unnest(${stringList([...symbols])}))` : '';
  const input = `(SELECT ${resampleInputColumns.map((c) => (has.has(c) ? ident(c) : `NULL AS ${ident(c)}`)).join(', ')} FROM ${read}${only})`;
  const [span] = await duck.all<{ first: string | null; last: string | null }>(
    `SELECT strftime(min(ts), '%Y-%m-%d') AS first, strftime(max(ts), '%Y-%m-%d') AS last FROM ${input}`,
  );
  if (!span?.first || !span.last) return null;
  const bars = resampleSql({ source: input, from, to: how.to, calendar: how.calendar, extended: how.extended, dates: { first: span.first, last: span.last } });
  const values = ['open', 'high', 'low', 'close', 'volume', 'vwap', 'trades', 'adj_close'].map(ident).join(', ');
  return (
    `SELECT symbol, strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts, ${values}, ${literal(from.text)} AS resampled_from, partial ` +
    `FROM (${bars}) ORDER BY symbol, ts`
  );
}
