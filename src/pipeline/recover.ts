import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Catalog } from '../catalog/catalog.js';
import { completeBatch, failBatch, pendingWrites } from '../catalog/lake-catalog.js';
import type { Context } from '../context.js';
import { hashFile, renameDurably } from '../load/file-io.js';

/**
 * Finishes the renames of batches that a crash interrupted after their catalog commit. The
 * temporary files were fsynced before that commit, so rolling forward is always possible;
 * a write whose file is gone is reported and its batch marked failed.
 */
export async function recoverPendingWrites(ctx: Context, catalog: Catalog): Promise<number> {
  const pending = await pendingWrites(catalog.sql);
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
        ctx.logger.error(`recovery: the write of ${w.uri} by batch ${batchId} was lost; run mdw audit`, { batchId, uri: w.uri });
      }
    }
    if (lost > 0) await failBatch(catalog.sql, batchId);
    else await completeBatch(catalog.sql, batchId, ctx.clock.now());
    ctx.logger.warn(`recovery: finished batch ${batchId} that an earlier run left half-done (${writes.length - lost}/${writes.length} files)`);
  }
  return byBatch.size;
}
