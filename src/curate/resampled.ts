import type { TradingCalendar } from '../calendar/calendar.js';
import type { ResampleOutput } from '../config/curate.js';
import type { Context } from '../context.js';
import type { Granularity } from '../core/granularity.js';
import { ident, literal, pathList, stringList } from '../core/sql.js';
import type { DuckSession } from '../lake/duckdb.js';
import { decodeSegment, seriesDir } from '../lake/layout.js';
import { UsageError } from '../core/errors.js';
import { localStore } from '../lake/local-store.js';
import { currentObjectsUnder } from '../lake/partition-files.js';
import { curatedLandingDir } from '../lake/raw-landing.js';
import { childUri } from '../lake/store.js';
import { resampleInputColumns, resampleSql } from '../query/resample.js';
import { docKey, docKeys, docStem, landDocuments, type DocPlan, type Landed, type LandOptions } from './landing.js';

/**
 * Stored resampled bars. A source series is resampled group by group: a symbol's folder of it
 * (minute bars: a folder per symbol) or, for a series of all symbols in a file a year, the whole
 * series. Each group's bars land as one NDJSON document named by the group, a key of the
 * current files it was computed from, a key of how (size, calendar, hours) and, for a whole
 * series asked for some symbols, a key of those: a group none of whose files changed keeps its
 * document and is not computed again. After each load, the landing folder's `loaded.json` names
 * the documents whose bars are stored, so that a reader can tell from names alone whether the
 * stored bars are those of the files stored now.
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

const howKey = (how: ResampleHow) => docKey([how.to.text, how.calendar.name, how.extended]);

/** The document a group's resampled bars land as: named by the group, its files and how. Pure. */
export function resampledDocName(group: Group, how: ResampleHow, symbols: readonly string[] | null): string {
  const only = group.stem === 'all' && symbols ? `.${docKey(symbols)}` : '';
  return `${group.stem}.${docKey(group.uris)}.${howKey(how)}${only}.ndjson`;
}

/** The groups of a source series (its current files), optionally only those that may hold some symbols. */
export function resampleGroups(lakeRoot: string, source: string, from: string, symbols: readonly string[] | null): Group[] {
  const store = localStore(lakeRoot);
  const base = seriesDir('ohlcv', source, from);
  const groups = new Map<string, string[]>();
  for (const uri of currentObjectsUnder(store, base)) {
    const folder = /^symbol=[^/]+/.exec(uri.slice(base.length + 1))?.[0];
    if (folder && symbols && !symbols.includes(decodeSegment(folder.slice('symbol='.length)))) continue;
    const stem = folder ?? 'all';
    groups.set(stem, [...(groups.get(stem) ?? []), uri]);
  }
  return [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([stem, uris]) => ({ stem, uris }));
}

const loadedFile = 'loaded.json';

/** The documents whose bars a load stored, as the landing folder's loaded.json names them. */
function loadedDocs(lakeRoot: string, dir: string): Set<string> {
  const store = localStore(lakeRoot);
  const uri = childUri(dir, loadedFile);
  return new Set(store.stat(uri) ? (JSON.parse(store.read(uri).toString('utf8')) as string[]) : []);
}

/**
 * After a load of a size's documents: loaded.json names every document landed now, or, when the
 * load quarantined rows, only those it named before (the new ones' bars are not all stored).
 */
export function markLoaded(lakeRoot: string, source: string, to: string, whole: boolean): void {
  const store = localStore(lakeRoot);
  const dir = curatedLandingDir(source, 'ohlcv_resampled', to);
  const now = store.list(dir).filter((e) => !e.folder && docStem(e.name) !== null).map((e) => e.name);
  const before = loadedDocs(lakeRoot, dir);
  const names = now.filter((n) => whole || before.has(n)).sort();
  const uri = childUri(dir, loadedFile);
  store.commit(store.writeTemp(uri, String(process.pid), `${JSON.stringify(names)}\n`), uri);
}

/**
 * Whether the resampled bars stored for these symbols are those of the source files stored now,
 * computed the way asked and loaded: every group that holds them has its document named in
 * loaded.json. A reader uses them then, and resamples on the fly otherwise (a newer bar not
 * curated yet is never hidden).
 */
export function resampledUpToDate(lakeRoot: string, source: string, from: string, how: ResampleHow, symbols: readonly string[]): boolean {
  const groups = resampleGroups(lakeRoot, source, from, symbols);
  if (groups.length === 0) return false;
  const loaded = loadedDocs(lakeRoot, curatedLandingDir(source, 'ohlcv_resampled', how.to.text));
  return groups.every((g) => loaded.has(resampledDocName(g, how, null)));
}

export interface LandedResampled extends Landed {
  /** Groups of the source series. */
  readonly groups: number;
}

/**
 * Resamples the groups of a curate job's bars whose files changed since their document landed,
 * to one bar size. Refuses to land bars resampled another way (calendar, hours) over bars stored
 * before: a load replaces bars of the same time, and those of the old way's other times would stay.
 */
export async function landResampled(ctx: Context, spec: ResampleOutput, to: Granularity, options: LandOptions): Promise<LandedResampled> {
  const source = spec.bars.spec.source.name;
  const from = spec.bars.granularity;
  const how: ResampleHow = { to, calendar: spec.calendar, extended: spec.extended };
  const dir = curatedLandingDir(source, 'ohlcv_resampled', to.text);
  const store = localStore(ctx.paths.lake);
  const other = store.list(dir).find((e) => docStem(e.name) !== null && docKeys(e.name)[1] !== howKey(how));
  if (other) {
    throw new UsageError(
      `the ${to.text} bars of ${source} stored in lake/curated/ohlcv_resampled were resampled another way (another calendar or hours) than ${spec.bars.name} on ${spec.calendar.name}` +
        `${spec.extended ? ' with extended hours' : ''} asks: remove lake/${seriesDir('ohlcv_resampled', source, to.text)} and lake/${dir} first, or resample to another size`,
    );
  }
  const groups = resampleGroups(ctx.paths.lake, source, from.text, options.symbols);
  const duck = await ctx.duck();
  const plans = groups.map(
    (group): DocPlan => ({
      stem: group.stem,
      name: resampledDocName(group, how, options.symbols),
      partitions: group.uris,
      sql: () => groupSql(duck, group.uris.map((u) => store.locate(u)), from, how, options.symbols),
    }),
  );
  const landed = await landDocuments(ctx, dir, plans, options.dryRun, options.record);
  return { ...landed, groups: groups.length };
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
