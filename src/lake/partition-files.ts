import type { PartitionRule } from '../config/types.js';
import { coarserPeriod, dataFileVersion, decodeSegment, shadowingFolders, type MergedPeriod } from './layout.js';
import { localStore } from './local-store.js';
import { childUri, type LakeStore } from './store.js';

/** The versions among a folder's names, newest first. */
function versionsOf(names: readonly string[]): { readonly name: string; readonly version: number }[] {
  return names
    .map((name) => ({ name, version: dataFileVersion(name) }))
    .filter((v): v is { name: string; version: number } => v.version !== null)
    .sort((a, b) => b.version - a.version);
}

/** The versions of a partition's file in its folder, newest first. */
export function partitionVersions(store: LakeStore, dir: string): { readonly name: string; readonly version: number }[] {
  return versionsOf(store.list(dir).map((e) => e.name));
}

/**
 * The file readers open for a partition (a folder uri): its newest version. A version is
 * renamed into place only when it is complete and durable, so the newest is always whole.
 */
export function currentDataFile(store: LakeStore, dir: string): { readonly uri: string; readonly version: number } | null {
  const [newest] = partitionVersions(store, dir);
  return newest ? { uri: childUri(dir, newest.name), version: newest.version } : null;
}

/**
 * The sub-folders of `dir` a reader descends into: all but the period folders a coarser
 * sibling with a file shadows (a compaction merged them; layout.ts). Sorted.
 */
export function visibleFolders(store: LakeStore, dir: string): string[] {
  const folders = store
    .list(dir)
    .filter((e) => e.folder)
    .map((e) => e.name);
  const names = new Set(folders);
  const holds = new Map<string, boolean>();
  const hasFile = (name: string) => {
    if (!holds.has(name)) holds.set(name, names.has(name) && currentDataFile(store, childUri(dir, name)) !== null);
    return holds.get(name)!;
  };
  return folders.filter((name) => !shadowingFolders(name).some(hasFile)).sort();
}

/** Every partition's current file under a folder uri (a dataset, a series), sorted. Shadowed partitions are left out. */
export function currentObjectsUnder(store: LakeStore, root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    const entries = store.list(dir);
    const [newest] = versionsOf(entries.filter((e) => !e.folder).map((e) => e.name));
    if (newest) out.push(childUri(dir, newest.name));
    if (entries.some((e) => e.folder)) for (const name of visibleFolders(store, dir)) walk(childUri(dir, name));
  };
  walk(root);
  return out.sort();
}

/** Every partition's current file under a folder of the local disk, as paths, sorted. */
export function currentFilesUnder(dir: string): string[] {
  const store = localStore(dir);
  return currentObjectsUnder(store, '').map(store.locate);
}

/**
 * The partitions of the next grain up that a series' folder holds with a file: where a
 * compaction merged finer partitions, and where a writer must send that period's rows.
 */
export function mergedPeriods(store: LakeStore, seriesDir: string, grain: PartitionRule): MergedPeriod[] {
  const coarse = coarserPeriod[grain.period];
  if (!coarse) return [];
  const prefix = `${coarse}=`;
  const inFolder = (dir: string, symbol: string | null) =>
    store
      .list(dir)
      .filter((e) => e.folder && e.name.startsWith(prefix) && currentDataFile(store, childUri(dir, e.name)) !== null)
      .map((e) => ({ symbol, period: e.name.slice(prefix.length) }));
  if (!grain.by_symbol) return inFolder(seriesDir, null);
  return store
    .list(seriesDir)
    .filter((e) => e.folder && e.name.startsWith('symbol='))
    .flatMap((e) => inFolder(childUri(seriesDir, e.name), decodeSegment(e.name.slice('symbol='.length))));
}
