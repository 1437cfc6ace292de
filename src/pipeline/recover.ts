import path from 'node:path';
import type { Catalog } from '../catalog/catalog.js';
import { batchesKnown, completeBatch, failBatch, forgetSuperseded, pendingWrites, repairManifest, supersededBefore, type SeriesIds } from '../catalog/lake-catalog.js';
import { markCleared, unclearedRetirements } from '../catalog/retention-catalog.js';
import type { Context } from '../context.js';
import type { DatasetDef } from '../core/datasets.js';
import { isTempName, seriesDir } from '../lake/layout.js';
import { localStore } from '../lake/local-store.js';
import { currentDataFile } from '../lake/partition-files.js';
import { childUri, parentUri, type LakeStore } from '../lake/store.js';
import { quarantineFolder, quarantineTempOf } from '../load/quarantine.js';
import { partitionFileStats } from '../load/seal.js';

/**
 * Finishes the renames of this series' batches that a crash interrupted after their catalog
 * commit. The temporary files and their folders were made durable before that commit, so
 * rolling forward is the normal case. A write whose file is gone anyway (a disk replaced, a
 * hand deleting it) is reported, its batch marked failed, and its manifest row set back to
 * what the file on disk really holds. Then the versions other versions replaced more than the
 * grace period ago are removed.
 */
export async function recoverPendingWrites(ctx: Context, catalog: Catalog, def: DatasetDef, ids: SeriesIds, granularity: string, source: string): Promise<number> {
  const lake = localStore(ctx.paths.lake);
  const pending = await pendingWrites(catalog.sql, ids, granularity);
  const byBatch = new Map<string, typeof pending>();
  for (const p of pending) byBatch.set(p.batchId, [...(byBatch.get(p.batchId) ?? []), p]);
  for (const [batchId, writes] of byBatch) {
    let lost = 0;
    for (const w of writes) {
      const holds = async (uri: string) => lake.stat(uri) !== null && (await lake.hash(uri)).sha256 === w.sha256;
      if (await holds(w.tmpUri)) {
        lake.commit(w.tmpUri, w.uri);
      } else if (!(await holds(w.uri))) {
        lost++;
        ctx.logger.error(`recovery: the write of ${w.uri} by batch ${batchId} was lost; the manifest now describes the file on disk`, { batchId, uri: w.uri });
        // The version it was to replace is what readers open: the manifest describes that one.
        const current = currentDataFile(lake, parentUri(w.uri));
        const onDisk = current
          ? {
              uri: current.uri,
              ...(await lake.hash(current.uri)),
              ...(await partitionFileStats(await ctx.duck(), def, lake.locate(current.uri))),
            }
          : null;
        await repairManifest(catalog.sql, w.uri, batchId, onDisk, ctx.clock.now());
      }
    }
    if (lost > 0) {
      await failBatch(catalog.sql, batchId);
      ctx.logger.warn(`recovery: batch ${batchId} was interrupted and ${lost} of its ${writes.length} files were lost; run mdw audit`);
    } else {
      await completeBatch(catalog.sql, batchId, ctx.clock.now());
      ctx.logger.warn(`recovery: finished batch ${batchId}, which an earlier run left half-done (${writes.length} files)`);
    }
  }
  await finishRetirements(ctx, lake, catalog, ids, granularity);
  await removeSuperseded(ctx, lake, catalog, ids, granularity);
  await clearLeftovers(ctx, lake, catalog, def, source, granularity);
  return byBatch.size;
}

/**
 * What runs that died or failed before their commit left behind: temporary partition files
 * (every pending write is finished by now, so each is garbage), partition folders left empty,
 * and quarantine files under their temporary name, which are put in place when their batch
 * reached the catalog and removed when it did not. The caller holds the series' lock.
 */
async function clearLeftovers(ctx: Context, lake: LakeStore, catalog: Catalog, def: DatasetDef, source: string, granularity: string): Promise<void> {
  const series = seriesDir(def.name, source, granularity);
  let removed = 0;
  const sweep = (dir: string): boolean => {
    const entries = lake.list(dir);
    let kept = 0;
    for (const e of entries) {
      const uri = childUri(dir, e.name);
      if (e.folder ? sweep(uri) : isTempName(e.name)) {
        lake.remove([uri]);
        removed++;
      } else kept++;
    }
    return kept === 0 && dir !== series;
  };
  sweep(series);
  const quarantine = localStore(ctx.paths.quarantine);
  const qdir = quarantineFolder(def.name, source);
  const temps = quarantine
    .list(qdir)
    .map((e) => ({ name: e.name, of: quarantineTempOf(e.name, granularity) }))
    .filter((t) => t.of !== null);
  const known = new Set(await batchesKnown(catalog.sql, temps.map((t) => t.of!.batchId)));
  for (const t of temps) {
    const file = childUri(qdir, t.name);
    if (known.has(t.of!.batchId)) quarantine.commit(file, childUri(qdir, t.of!.final));
    else {
      quarantine.remove([file]);
      removed++;
    }
  }
  if (removed > 0) ctx.logger.info(`recovery: removed ${removed} files and folders that interrupted runs left in ${path.relative(ctx.settings.home, lake.locate(series))} and its quarantine`);
}

/**
 * Removes the versions of this series that other versions replaced longer ago than the grace
 * period (a query that opened one has long finished), and forgets them.
 */
async function removeSuperseded(ctx: Context, lake: LakeStore, catalog: Catalog, ids: SeriesIds, granularity: string): Promise<void> {
  const due = await supersededBefore(catalog.sql, ids, granularity, new Date(ctx.clock.now().getTime() - ctx.settings.versionGraceMs));
  if (due.length === 0) return;
  lake.remove(due);
  await forgetSuperseded(catalog.sql, due);
  ctx.logger.debug(`removed ${due.length} partition versions that newer ones replaced`);
}

/**
 * Finishes what an interrupted mdw retention of the series committed but did not do: the files
 * of the partitions it retired (kept in trash/ or archive/ before its commit) leave the lake.
 */
async function finishRetirements(ctx: Context, lake: LakeStore, catalog: Catalog, ids: SeriesIds, granularity: string): Promise<void> {
  const open = await unclearedRetirements(catalog.sql, ids, granularity);
  if (open.length === 0) return;
  clearRetired(lake, open);
  await markCleared(catalog.sql, open.map((r) => r.id));
  ctx.logger.warn(`recovery: removed from the lake the files of ${open.length} partitions an interrupted mdw retention had retired`);
}

/** Removes retired partitions' files, and the folders they leave empty, from the lake. */
export function clearRetired(lake: LakeStore, retired: readonly { readonly lakeUris: readonly string[] }[]): void {
  const uris = retired.flatMap((r) => r.lakeUris);
  if (uris.length === 0) return;
  lake.remove(uris);
  const empty = [...new Set(uris.map(parentUri))].filter((d) => lake.list(d).length === 0);
  if (empty.length > 0) lake.remove(empty);
}
