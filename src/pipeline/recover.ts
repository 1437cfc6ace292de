import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Catalog } from '../catalog/catalog.js';
import { completeBatch, failBatch, pendingWrites, repairManifest, type SeriesIds } from '../catalog/lake-catalog.js';
import type { Context } from '../context.js';
import type { DatasetDef } from '../core/datasets.js';
import { hashFile, renameDurably } from '../load/file-io.js';
import { partitionFileStats } from '../load/lake-writer.js';

/**
 * Finishes the renames of this series' batches that a crash interrupted after their catalog
 * commit. The temporary files and their folders were made durable before that commit, so
 * rolling forward is the normal case. A write whose file is gone anyway (a disk replaced, a
 * hand deleting it) is reported, its batch marked failed, and its manifest row set back to
 * what the file on disk really holds.
 */
export async function recoverPendingWrites(ctx: Context, catalog: Catalog, def: DatasetDef, ids: SeriesIds, granularity: string): Promise<number> {
  const pending = await pendingWrites(catalog.sql, ids, granularity);
  const byBatch = new Map<string, typeof pending>();
  for (const p of pending) byBatch.set(p.batchId, [...(byBatch.get(p.batchId) ?? []), p]);
  for (const [batchId, writes] of byBatch) {
    let lost = 0;
    for (const w of writes) {
      const tmp = path.join(ctx.paths.lake, ...w.tmpUri.split('/'));
      const target = path.join(ctx.paths.lake, ...w.uri.split('/'));
      if (existsSync(tmp) && (await hashFile(tmp)).sha256 === w.sha256) {
        renameDurably(tmp, target);
      } else if (!(existsSync(target) && (await hashFile(target)).sha256 === w.sha256)) {
        lost++;
        ctx.logger.error(`recovery: the write of ${w.uri} by batch ${batchId} was lost; the manifest now describes the file on disk`, { batchId, uri: w.uri });
        const onDisk = existsSync(target) ? { ...(await hashFile(target)), ...(await partitionFileStats(await ctx.duck(), def, target)) } : null;
        await repairManifest(catalog.sql, w.uri, onDisk, ctx.clock.now());
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
  return byBatch.size;
}
