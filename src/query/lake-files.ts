import { datasetDir, decodeSegment, encodeSegment, periodKindOfLabel, periodRange, seriesDir } from '../lake/layout.js';
import { localStore } from '../lake/local-store.js';
import { currentDataFile, currentObjectsUnder, visibleFolders } from '../lake/partition-files.js';
import { childUri, type LakeStore } from '../lake/store.js';
import type { TimeWindow } from '../core/time-window.js';

/**
 * Finds the partition files a read needs from the lake's own layout: a few directory reads,
 * never a scan of the whole lake, and no catalog. Returns what DuckDB opens (store.locate).
 */
export interface SeriesFiles {
  readonly source: string;
  readonly files: readonly string[];
}

export function listSources(lakeRoot: string, dataset: string): string[] {
  return subdirs(localStore(lakeRoot), datasetDir(dataset))
    .filter((d) => d.startsWith('source='))
    .map((d) => decodeSegment(d.slice('source='.length)))
    .sort();
}

/** Every (source, granularity) series of a dataset, with its symbols when it has a folder per symbol. */
export function listSeries(lakeRoot: string, dataset: string): { source: string; granularity: string; symbols: string[] | null }[] {
  const lake = localStore(lakeRoot);
  return listSources(lakeRoot, dataset).flatMap((source) =>
    subdirs(lake, `${datasetDir(dataset)}/source=${encodeSegment(source)}`)
      .filter((d) => d.startsWith('granularity='))
      .map((d) => {
        const granularity = decodeSegment(d.slice('granularity='.length));
        const bySymbol = subdirs(lake, seriesDir(dataset, source, granularity)).filter((e) => e.startsWith('symbol='));
        return { source, granularity, symbols: bySymbol.length ? bySymbol.map((e) => decodeSegment(e.slice('symbol='.length))) : null };
      }),
  );
}

export function seriesFiles(
  lakeRoot: string,
  req: { dataset: string; source: string; granularity: string; symbols: readonly string[]; window: TimeWindow },
): string[] {
  const lake = localStore(lakeRoot);
  const base = seriesDir(req.dataset, req.source, req.granularity);
  const entries = subdirs(lake, base);
  if (entries.length === 0) return [];
  const bySymbol = entries.some((e) => e.startsWith('symbol='));
  const dirs = bySymbol ? req.symbols.map((s) => `${base}/symbol=${encodeSegment(s)}`) : [base];
  const files: string[] = [];
  for (const dir of dirs) files.push(...periodFiles(lake, dir, req.window));
  return files;
}

/**
 * The data files under one folder of period partitions that can hold rows of the window. The
 * folders may be of two grains (a compaction merged some into the next grain up): each is
 * judged by its own period, and those a merged partition shadows are not read.
 */
function periodFiles(lake: LakeStore, dir: string, window: TimeWindow): string[] {
  const overlaps = (label: string) => {
    const { start, end } = periodRange(label);
    return (!window.from || end > window.from) && (!window.toExclusive || start < window.toExclusive);
  };
  return visibleFolders(lake, dir)
    .filter((d) => {
      const m = /^(year|month|day)=(.+)$/.exec(d);
      return m !== null && periodKindOfLabel(m[2]!) === m[1] && overlaps(m[2]!);
    })
    .map((d) => currentDataFile(lake, childUri(dir, d))?.uri)
    .filter((f): f is string => f !== undefined)
    .map(lake.locate)
    .sort();
}

/** Every partition's current file of a dataset (for ad-hoc SQL over all of it). */
export function allDatasetFiles(lakeRoot: string, dataset: string): string[] {
  const lake = localStore(lakeRoot);
  return currentObjectsUnder(lake, datasetDir(dataset)).map(lake.locate);
}

/**
 * The adjustment log files (mdw curate) of a bars source for a bar size: its log at that size,
 * else its daily log, which adjusts every size of the source's bars. Empty when it has none.
 */
export function adjustmentLogFiles(lakeRoot: string, source: string, granularity: string): string[] {
  const log = allSeriesFiles(lakeRoot, 'adjustments', source, granularity);
  return log.length > 0 || granularity === '1d' ? log : allSeriesFiles(lakeRoot, 'adjustments', source, '1d');
}

/** Every partition's current file of one (dataset, source, granularity) series. */
export function allSeriesFiles(lakeRoot: string, dataset: string, source: string, granularity: string): string[] {
  const lake = localStore(lakeRoot);
  return currentObjectsUnder(lake, seriesDir(dataset, source, granularity)).map(lake.locate);
}

function subdirs(lake: LakeStore, dir: string): string[] {
  return lake
    .list(dir)
    .filter((e) => e.folder)
    .map((e) => e.name);
}
