import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { PartitionPeriod } from '../config/types.js';
import { decodeSegment, encodeSegment, periodsBetween, seriesDir } from '../lake/layout.js';
import { currentDataFile, currentFilesUnder } from '../lake/partition-files.js';
import type { TimeWindow } from '../core/time-window.js';

/**
 * Finds the partition files a read needs from the lake's own layout: a few directory reads,
 * never a scan of the whole lake, and no catalog.
 */
export interface SeriesFiles {
  readonly source: string;
  readonly files: readonly string[];
}

export function listSources(lakeRoot: string, dataset: string): string[] {
  return subdirs(path.join(lakeRoot, dataset))
    .filter((d) => d.startsWith('source='))
    .map((d) => decodeSegment(d.slice('source='.length)))
    .sort();
}

/** Every (source, granularity) series of a dataset, with its symbols when it has a folder per symbol. */
export function listSeries(lakeRoot: string, dataset: string): { source: string; granularity: string; symbols: string[] | null }[] {
  return listSources(lakeRoot, dataset).flatMap((source) =>
    subdirs(path.join(lakeRoot, dataset, `source=${encodeSegment(source)}`))
      .filter((d) => d.startsWith('granularity='))
      .map((d) => {
        const granularity = decodeSegment(d.slice('granularity='.length));
        const dir = path.join(lakeRoot, ...seriesDir(dataset, source, granularity).split('/'));
        const bySymbol = subdirs(dir).filter((e) => e.startsWith('symbol='));
        return { source, granularity, symbols: bySymbol.length ? bySymbol.map((e) => decodeSegment(e.slice('symbol='.length))) : null };
      }),
  );
}

export function seriesFiles(
  lakeRoot: string,
  req: { dataset: string; source: string; granularity: string; symbols: readonly string[]; window: TimeWindow },
): string[] {
  const base = path.join(lakeRoot, ...seriesDir(req.dataset, req.source, req.granularity).split('/'));
  const entries = subdirs(base);
  if (entries.length === 0) return [];
  const bySymbol = entries.some((e) => e.startsWith('symbol='));
  const dirs = bySymbol ? req.symbols.map((s) => path.join(base, `symbol=${encodeSegment(s)}`)) : [base];
  const files: string[] = [];
  for (const dir of dirs) files.push(...periodFiles(dir, req.window));
  return files;
}

/** The data files under one folder of period partitions that can hold rows of the window. */
function periodFiles(dir: string, window: TimeWindow): string[] {
  const periods = subdirs(dir).filter((d) => /^(year|month|day)=/.test(d));
  if (periods.length === 0) return [];
  const kind = periods[0]!.slice(0, periods[0]!.indexOf('=')) as PartitionPeriod;
  let wanted: string[];
  if (window.from && window.toExclusive) {
    wanted = periodsBetween(window.from, window.toExclusive, kind).map((p) => `${kind}=${p}`);
  } else {
    const lo = window.from ? periodsBetween(window.from, new Date(window.from.getTime() + 1), kind)[0]! : '';
    const hi = window.toExclusive ? periodsBetween(new Date(window.toExclusive.getTime() - 1), window.toExclusive, kind)[0]! : '\uffff';
    wanted = periods.filter((d) => {
      const p = d.slice(kind.length + 1);
      return p >= lo && p <= hi;
    });
  }
  return wanted
    .map((d) => currentDataFile(path.join(dir, d))?.file)
    .filter((f): f is string => f !== undefined)
    .sort();
}

/** Every partition's current file of a dataset (for ad-hoc SQL over all of it). */
export function allDatasetFiles(lakeRoot: string, dataset: string): string[] {
  return currentFilesUnder(path.join(lakeRoot, dataset));
}

/** Every partition's current file of one (dataset, source, granularity) series. */
export function allSeriesFiles(lakeRoot: string, dataset: string, source: string, granularity: string): string[] {
  return currentFilesUnder(path.join(lakeRoot, ...seriesDir(dataset, source, granularity).split('/')));
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return [];
  }
}
