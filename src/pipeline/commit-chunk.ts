import path from 'node:path';
import type { InputRef } from '../sources/source.js';
import { completeBatch, manifestWrite, recordBatch } from '../catalog/lake-catalog.js';
import type { Context } from '../context.js';
import { commitPartitions, sealPartitions } from '../load/seal.js';
import type { SealedPartition } from '../load/staged-chunk.js';
import { commitQuarantine, sealQuarantine } from '../load/quarantine.js';
import type { CommitTo } from './series.js';
import type { WrittenChunk } from './write-chunk.js';

/**
 * Makes a chunk's files durable, records its batch in the catalog, renames the files into place.
 * `replayed`: quarantined records this chunk loaded, marked replayed in the same transaction.
 * The caller holds the series lock (seriesLock) and has recovered the series' pending writes
 * (recoverPendingWrites) first, as the ingest and replay do: the batch supersedes what the
 * manifest says is current.
 */
export async function commitChunk(
  ctx: Context,
  inputs: readonly InputRef[],
  chunk: WrittenChunk,
  commit: CommitTo,
  replayed: readonly string[] = [],
): Promise<SealedPartition[]> {
  const { plan, quarantine } = chunk;
  const sealed = await sealPartitions(chunk.files);
  if (quarantine) await sealQuarantine(ctx.paths.quarantine, quarantine.file, commit.ref.granularity);
  const fingerprints = new Map(inputs.map((i) => [i.uri, i.fingerprint]));
  const uriOf = (pid: number | null) => (pid === null ? null : plan.partitions[pid]!.uri);
  await recordBatch(
    commit.catalog.sql,
    commit.ids,
    commit.ref,
    {
      id: commit.batchId,
      runId: commit.runId,
      counts: plan.counts,
      quarantineUri: quarantine ? path.relative(ctx.settings.home, quarantine.file) : null,
      at: ctx.clock.now(),
    },
    sealed.map((w) => manifestWrite(w, w.plan.current?.uri ?? null)),
    plan.lineage.map((l) => ({
      rawUri: l.input,
      uri: uriOf(l.pid),
      period: l.pid === null ? null : plan.partitions[l.pid]!.key.period,
      recordsIn: l.recordsIn,
      out: l.out,
      deduped: l.deduped,
      quarantined: l.quarantined,
      filtered: l.filtered,
      fingerprint: fingerprints.get(l.input) ?? null,
      configKey: commit.configKey,
    })),
    plan.symbols,
    { rejected: quarantine?.records ?? [], summary: chunk.summary, replayed, superseded: chunk.superseded, symbols: chunk.symbols },
  );
  commitPartitions(sealed);
  if (quarantine) commitQuarantine(ctx.paths.quarantine, quarantine.file, commit.ref.granularity);
  if (sealed.length > 0) await completeBatch(commit.catalog.sql, commit.batchId, ctx.clock.now());
  return sealed;
}
