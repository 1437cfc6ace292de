import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Catalog } from '../catalog/catalog.js';
import { findSeries } from '../catalog/audit-catalog.js';
import { completeBatch, manifestWrite, recordBatchIn, type SeriesRef } from '../catalog/lake-catalog.js';
import {
  catalogSeries,
  keptUris,
  manifestPartitions,
  markCleared,
  markPurged,
  mergeManifest,
  retirePartitions,
  trashBefore,
  unclearedRetirements,
  type CatalogSeries,
  type ManifestPartition,
  type Retirement,
} from '../catalog/retention-catalog.js';
import { loadJob, partitionRuleFor, type Job } from '../config/jobs.js';
import { defaultCompaction, policyFor, rawPolicyFor, type Compaction, type RetentionConfig, type RetentionPolicy } from '../config/retention.js';
import type { PartitionRule } from '../config/types.js';
import type { Context } from '../context.js';
import { datasets, type DatasetDef } from '../core/datasets.js';
import { errorMessage } from '../core/errors.js';
import { isSessionLabelled, parseGranularity } from '../core/granularity.js';
import { ident, pathLiteral, timestampLiteral } from '../core/sql.js';
import { decodeSegment, partitionDir } from '../lake/layout.js';
import { localStore } from '../lake/local-store.js';
import { partitionVersions } from '../lake/partition-files.js';
import { childUri, parentUri, type LakeStore } from '../lake/store.js';
import { commitPartitions, partitionFileStats, sealPartitions } from '../load/seal.js';
import type { SealedPartition, WrittenPartition } from '../load/staged-chunk.js';
import { mergePartitionFiles, rewritePartition } from '../load/write-partitions.js';
import { seriesLock } from '../pipeline/series.js';
import { clearRetired, recoverPendingWrites } from '../pipeline/recover.js';
import { compactionCandidates, planMerges, rowGroupRows, type MergeGroup } from './compact.js';
import { cutFor, planSeries, type Cut, type SeriesPlan } from './plan.js';

export interface RetentionOptions {
  readonly dryRun: boolean;
  /** Rewrite fragmented files of every series, not only of the policies that say compact. */
  readonly compact: boolean;
  /** Trash older than this is removed for good. */
  readonly purgeAfterMs: number;
  readonly runId: string | null;
}

/** One line of the plan (or of what was done): per policy, series and action. */
export interface RetentionLine {
  readonly policy: string;
  readonly dataset: string;
  readonly source: string;
  readonly granularity: string;
  /**
   * delete / archive: whole partitions; rewrite: partitions straddling the cut; purge: trash
   * removed; merge: partitions merged into the next grain up; compact: fragmented files rewritten.
   */
  readonly action: 'delete' | 'archive' | 'rewrite' | 'purge' | 'merge' | 'compact';
  /** Rows before this instant go (delete, archive, rewrite); null for purge and compact. */
  readonly cut: string | null;
  readonly partitions: number;
  /** Rows that leave the lake (rewrite: the older rows removed; merge, compact: rows rewritten). */
  readonly rows: number;
  /** Bytes of the files that leave the lake (rewrite, merge, compact: of the files replaced). */
  readonly bytes: number;
}

export interface RetentionReport {
  readonly dryRun: boolean;
  readonly lines: readonly RetentionLine[];
  /** Series a policy matched but could not judge (a sessions policy without a calendar), with why. */
  readonly skipped: readonly string[];
}

/** The lock two retention runs take: one at a time moves files to the trash and purges it. */
const retentionLock = 'mdw:retention';

/**
 * Runs the retention policies over every series the catalog holds. For each series a policy
 * matches, its plan (plan.ts) is applied under the series' load lock in this order, so that a
 * kill at any point leaves the lake and the catalog consistent:
 *
 * 1. each retired partition's current file is linked into trash/ (delete) or archive/ (archive);
 *    the partition that straddles the cut gets its next version, without the older rows, written
 *    and sealed beside it, and its older rows are written there as a file of their own;
 * 2. one catalog transaction: the retired partitions leave the manifest into their tombstones,
 *    the rewritten one is recorded as a batch (pending rename, lineage), the symbols' retired
 *    range moves up to the cut;
 * 3. the rewritten file is renamed into place and the retired files leave the lake.
 *
 * Killed before 2, the files in trash/ or archive/ have no tombstone and the next run removes
 * them (the lake is as it was); killed after, the next retention or ingest of the series finishes
 * 3 (recoverPendingWrites, which each visits first). Then the raw landing's policies run, trash
 * older than --purge-after is removed for good, and with --compact (or a policy's compact)
 * fragmented files are rewritten. A dry run plans the same from the manifest and changes nothing.
 */
export async function runRetention(ctx: Context, config: RetentionConfig, options: RetentionOptions): Promise<RetentionReport> {
  const catalog = await ctx.catalog('mdw retention');
  return catalog.withLock(retentionLock, ctx.settings.lockTimeoutMs, async () => {
    if (!options.dryRun) await removeUnrecordedKeeps(ctx, catalog);
    const lines: RetentionLine[] = [];
    const skipped: string[] = [];
    const all = await catalogSeries(catalog.sql);
    for (const [i, series] of all.entries()) {
      const policy = policyFor(config.policies, series);
      const compaction = policy?.compact ?? (options.compact ? defaultCompaction : null);
      if (!policy?.keep && !compaction) continue;
      ctx.progress.step(`retention: ${seriesName(series)} (${i + 1} of ${all.length})`);
      const job = jobOf(ctx, series);
      const def = (datasets as Record<string, DatasetDef | undefined>)[series.dataset];
      if (!def) continue;
      const work = async () => {
        // What an interrupted load or retention of the series left is finished first: the plan is
        // made from the manifest, which that makes true of the files.
        if (!options.dryRun) await recoverPendingWrites(ctx, catalog, def, series, series.granularity, series.source);
        if (policy?.keep) {
          const cut = cutOf(ctx, series, policy, job, skipped);
          const plan = cut ? planSeries(policy, cut, await manifestPartitions(catalog.sql, series, series.granularity)) : null;
          if (plan && (plan.retire.length > 0 || plan.straddle.length > 0)) lines.push(...(await applyPlan(ctx, catalog, series, def, plan, options)));
        }
        if (compaction) lines.push(...(await compactSeries(ctx, catalog, series, def, policy?.name ?? 'compact', compaction, options)));
      };
      // A dry run reads the manifest as it is; a run holds the series' load lock, as a load does.
      if (options.dryRun) await work();
      else await catalog.withLock(seriesLock(refOf(series, def)), ctx.settings.lockTimeoutMs, work);
    }
    lines.push(...(await retireRaw(ctx, catalog, config, options)));
    const purged = await purgeTrash(ctx, catalog, options);
    if (purged) lines.push(purged);
    return { dryRun: options.dryRun, lines, skipped };
  });
}

function seriesName(s: { dataset: string; source: string; granularity: string }): string {
  return `${s.dataset} ${s.source} ${s.granularity}`;
}

/** The ingest job that loads a series, when it still loads (a curate job's series has none). */
function jobOf(ctx: Context, series: CatalogSeries): Job | null {
  if (!series.job) return null;
  try {
    return loadJob(ctx.settings.configDir, series.job, ctx.env);
  } catch (err) {
    ctx.logger.debug(`retention: the job ${series.job} of ${seriesName(series)} does not load (${errorMessage(err)}); its calendar is unknown`);
    return null;
  }
}

function cutOf(ctx: Context, series: CatalogSeries, policy: RetentionPolicy, job: Job | null, skipped: string[]): Cut | null {
  const keep = policy.keep!;
  const calendar = job?.calendar ?? null;
  if ('sessions' in keep && !calendar) {
    const why = `${seriesName(series)}: policy ${policy.name} (${policy.at}) keeps sessions, but ${job ? `job ${job.name} names no calendar` : `the job that loads it (${series.job ?? 'none'}) is not an ingest job in ${ctx.settings.configDir}`}; nothing retired (keep it in days instead)`;
    ctx.logger.warn(why);
    skipped.push(why);
    return null;
  }
  const labelled = isSessionLabelled(job?.granularity ?? parseGranularity(series.granularity));
  return cutFor(keep, ctx.clock.now(), calendar, labelled);
}

/** The SELECT of a straddling partition's rows that stay. */
const keptRows = (def: DatasetDef, cut: Cut) => (source: string) => `SELECT * FROM ${source} WHERE ${ident(def.timeColumn)} >= ${timestampLiteral(cut.before)}`;

/** A run's folder in trash/ and archive/: its time and an id, so that two runs never collide. */
function keepFolder(at: Date, runId: string): string {
  return `${at.toISOString().replace(/[:.]/g, '-')}-${runId.slice(0, 8)}`;
}

async function applyPlan(ctx: Context, catalog: Catalog, series: CatalogSeries, def: DatasetDef, planned: SeriesPlan, options: RetentionOptions): Promise<RetentionLine[]> {
  const duck = await ctx.duck();
  const home = localStore(ctx.settings.home);
  const lake = localStore(ctx.paths.lake);
  // A partition the manifest names whose file is gone is the audit's to report (missing): left as it is.
  const there = (p: ManifestPartition) => {
    if (lake.stat(p.uri) !== null) return true;
    ctx.logger.warn(`retention ${planned.policy.name}: ${p.uri} is in the manifest but not in the lake; left as it is (mdw audit reports it as missing)`);
    return false;
  };
  const retire = planned.retire.filter(there);
  const straddle = planned.straddle.filter(there);
  const plan: SeriesPlan = { ...planned, retire, straddle, symbols: [...new Set([...retire, ...straddle].flatMap((p) => p.symbols))].sort() };
  if (plan.retire.length === 0 && plan.straddle.length === 0) return [];
  const action = plan.policy.then!;
  const line = (a: RetentionLine['action'], parts: readonly { rows: number; bytes: number }[]): RetentionLine => ({
    policy: plan.policy.name,
    dataset: series.dataset,
    source: series.source,
    granularity: series.granularity,
    action: a,
    cut: plan.cut.before.toISOString().replace('.000Z', 'Z'),
    partitions: parts.length,
    rows: parts.reduce((n, p) => n + p.rows, 0),
    bytes: parts.reduce((n, p) => n + p.bytes, 0),
  });
  const olderRows = async (p: ManifestPartition) => {
    const [r] = await duck.all<{ n: number }>(
      `SELECT count(*) AS n FROM read_parquet(${pathLiteral(lake.locate(p.uri))}, hive_partitioning = false) WHERE ${ident(def.timeColumn)} < ${timestampLiteral(plan.cut.before)}`,
    );
    return Number(r!.n);
  };

  if (options.dryRun) {
    const straddled: { rows: number; bytes: number }[] = [];
    for (const p of plan.straddle) straddled.push({ rows: await olderRows(p), bytes: p.bytes });
    return [line(action, plan.retire), line('rewrite', straddled)].filter((l) => l.partitions > 0);
  }
  const ref = refOf(series, def);

  const at = ctx.clock.now();
  const batchId = randomUUID();
  const folder = keepFolder(at, batchId);
  const root = action === 'delete' ? 'trash' : 'archive';
  // 1. Keep each retired file, and write the straddling partitions' next versions.
  const retirements: Retirement[] = plan.retire.map((p) => {
    const dir = parentUri(p.uri);
    const versions = partitionVersions(lake, dir).map((v) => childUri(dir, v.name));
    const keptUri = `${root}/${folder}/lake/${p.uri}`;
    home.keep(`lake/${p.uri}`, keptUri);
    return { partition: p, policy: plan.policy.name, action, lakeUris: [p.uri, ...versions.filter((v) => v !== p.uri)], keptUri };
  });
  const removed: { rows: number; bytes: number }[] = [];
  const written: WrittenPartition[] = [];
  for (const [pid, p] of plan.straddle.entries()) {
    ctx.progress.step(`retention: ${seriesName(series)}: rewriting ${p.uri} without the rows before ${plan.cut.firstKept}`);
    const older = await olderRows(p);
    removed.push({ rows: older, bytes: p.bytes });
    const key = { dataset: series.dataset, source: series.source, granularity: series.granularity, symbol: p.symbol, period: p.period };
    written.push(await rewritePartition(duck, lake, def, { pid, key, current: p.uri }, keptRows(def, plan.cut), batchId.slice(0, 8)));
    // Its older rows are kept in the trash or the archive too, as a file of their own with a tombstone.
    retirements.push(await keepOlderRows(ctx, home, def, p, plan, `${root}/${folder}/lake/${p.uri}`, batchId.slice(0, 8)));
  }
  const sealed = await sealPartitions(written);
  // 2. One transaction: tombstones, the rewrite's batch, the retired ranges.
  const ranges = plan.symbols.map((symbol) => ({ symbol, before: plan.cut.before, firstKept: plan.cut.firstKept, policy: plan.policy.name }));
  await catalog.sql.begin(async (tx) => {
    await retirePartitions(tx, series, series.granularity, retirements, ranges, options.runId, at);
    if (sealed.length > 0) await recordRewrite(tx, series, ref, batchId, options.runId, at, sealed, plan.straddle, `retention:${plan.policy.name}`);
  });
  // 3. The new versions in place, the retired files out of the lake.
  commitPartitions(sealed);
  if (sealed.length > 0) await completeBatch(catalog.sql, batchId, ctx.clock.now());
  clearRetired(lake, retirements.map((r) => ({ id: r.partition.id, lakeUris: r.lakeUris })));
  await markCleared(catalog.sql, retirements.map((r) => r.partition.id));
  const done = [line(action, plan.retire), line('rewrite', removed)];
  ctx.logger.info(
    `retention ${plan.policy.name}: ${seriesName(series)}: ${plan.retire.length} partitions ${action === 'delete' ? 'moved to the trash' : 'archived'}, ` +
      `${removed.length} rewritten without their rows before ${plan.cut.before.toISOString()}`,
  );
  return done.filter((l) => l.partitions > 0);
}

/** The series as the catalog's load records name it (the rewrite's batch, the series lock). */
function refOf(series: CatalogSeries, def: DatasetDef): SeriesRef {
  return { dataset: series.dataset, datasetDescription: def.description, source: series.source, adapter: series.adapter, granularity: series.granularity, job: series.job ?? 'retention' };
}

/**
 * Writes the rows of a straddling partition older than the cut to `keptUri` (under MDW_HOME),
 * durably, and returns its tombstone: the partition as it was, less the rows that stay. The
 * lake keeps the partition (rewritten), so the tombstone has no lake file to remove.
 */
async function keepOlderRows(ctx: Context, home: LakeStore, def: DatasetDef, p: ManifestPartition, plan: SeriesPlan, keptUri: string, tag: string): Promise<Retirement> {
  const duck = await ctx.duck();
  home.prepare(parentUri(keptUri));
  const temp = home.tempOf(keptUri, tag);
  const ts = ident(def.timeColumn);
  await duck.run(
    `COPY (SELECT * FROM read_parquet(${pathLiteral(path.join(ctx.paths.lake, p.uri))}, hive_partitioning = false) WHERE ${ts} < ${timestampLiteral(plan.cut.before)}) ` +
      `TO ${pathLiteral(home.locate(temp))} (FORMAT PARQUET, COMPRESSION ZSTD)`,
  );
  const [stored] = await home.seal([temp]);
  const stats = await partitionFileStats(duck, def, home.locate(temp));
  home.commit(temp, keptUri);
  const partition: ManifestPartition = {
    ...p,
    id: randomUUID(),
    rows: stats.rows,
    bytes: stored!.bytes,
    sha256: stored!.sha256,
    firstTs: stats.firstTs ? new Date(stats.firstTs) : null,
    lastTs: stats.lastTs ? new Date(stats.lastTs) : null,
  };
  return { partition, policy: plan.policy.name, action: plan.policy.then!, lakeUris: [], keptUri };
}

/**
 * Records rewritten partitions as one batch of the series, inside the caller's transaction: the
 * manifest rows keep their ids (and so their lineage), each old version is superseded, and a
 * lineage row says where the rows came from (the old version) and how many stayed.
 */
async function recordRewrite(
  tx: Parameters<typeof recordBatchIn>[0],
  series: CatalogSeries,
  ref: SeriesRef,
  batchId: string,
  runId: string | null,
  at: Date,
  sealed: readonly SealedPartition[],
  before: readonly ManifestPartition[],
  configKey: string,
): Promise<void> {
  const was = new Map(before.map((p) => [p.uri, p]));
  const rowsIn = (w: SealedPartition) => was.get(w.plan.current!.uri)?.rows ?? w.rows;
  const total = (f: (w: SealedPartition) => number) => sealed.reduce((n, w) => n + f(w), 0);
  await recordBatchIn(
    tx,
    series,
    ref,
    {
      id: batchId,
      runId,
      counts: { recordsIn: total(rowsIn), out: total((w) => w.rows), deduped: 0, quarantined: 0, filtered: total((w) => rowsIn(w) - w.rows) },
      quarantineUri: null,
      at,
    },
    sealed.map((w) => manifestWrite(w, w.plan.current!.uri)),
    sealed.map((w) => ({
      rawUri: w.plan.current!.uri,
      uri: w.plan.uri,
      period: w.plan.key.period,
      recordsIn: rowsIn(w),
      out: w.rows,
      deduped: 0,
      quarantined: 0,
      filtered: rowsIn(w) - w.rows,
      fingerprint: null,
      configKey,
    })),
    [],
  );
}

/**
 * Files in trash/ and archive/ that no tombstone names: links a retention run made before it
 * was killed short of its catalog commit. The lake still has them and the manifest names them.
 */
async function removeUnrecordedKeeps(ctx: Context, catalog: Catalog): Promise<void> {
  const home = localStore(ctx.settings.home);
  const known = await keptUris(catalog.sql);
  const stray: string[] = [];
  // A day of raw pages is kept as a folder: its files are known through it.
  const covered = (uri: string): boolean => {
    for (let u = uri; u !== ''; u = parentUri(u)) if (known.has(u)) return true;
    return false;
  };
  const walk = (dir: string) => {
    for (const e of home.list(dir)) {
      const uri = childUri(dir, e.name);
      if (e.folder) walk(uri);
      else if (!covered(uri)) stray.push(uri);
    }
  };
  walk('trash');
  walk('archive');
  if (stray.length === 0) return;
  home.remove(stray);
  removeEmptyFolders(home, 'trash');
  removeEmptyFolders(home, 'archive');
  ctx.logger.warn(`recovery: removed ${stray.length} files an interrupted mdw retention left in trash/ or archive/ (the lake still holds them)`);
}

function removeEmptyFolders(store: LakeStore, dir: string): boolean {
  let kept = 0;
  for (const e of store.list(dir)) {
    const uri = childUri(dir, e.name);
    if (e.folder && removeEmptyFolders(store, uri)) store.remove([uri]);
    else kept++;
  }
  return kept === 0;
}

/** Removes for good the trash older than --purge-after: files first, then the tombstones say purged. */
async function purgeTrash(ctx: Context, catalog: Catalog, options: RetentionOptions): Promise<RetentionLine | null> {
  const due = await trashBefore(catalog.sql, new Date(ctx.clock.now().getTime() - options.purgeAfterMs));
  if (due.length === 0) return null;
  if (!options.dryRun) {
    const home = localStore(ctx.settings.home);
    home.remove(due.map((d) => d.keptUri));
    await markPurged(catalog.sql, due.map((d) => d.id), ctx.clock.now());
    removeEmptyFolders(home, 'trash');
    ctx.logger.info(`retention: purged ${due.length} partitions from ${path.join(ctx.settings.home, 'trash')}`);
  }
  return {
    policy: [...new Set(due.map((d) => d.policy))].join(','),
    dataset: '',
    source: '',
    granularity: '',
    action: 'purge',
    cut: null,
    partitions: due.length,
    rows: due.reduce((n, d) => n + d.rows, 0),
    bytes: due.reduce((n, d) => n + d.bytes, 0),
  };
}

/**
 * Compacts a series (compact.ts decides what): first a symbol's small partitions of an ended
 * period are merged into one partition of the next grain up, then the files whose row groups are
 * fragmented are rewritten. Each step is one batch: its files written and sealed beside the
 * lake's, one catalog transaction (the new manifest rows, pending renames, lineage moved to the
 * merged partitions, the replaced files superseded), then the renames. Readers see the merged
 * file, and no longer the partitions it holds, from its rename on (layout.ts); killed before
 * the transaction, the lake is as it was (the next run removes the temp files); after it,
 * the next retention or ingest of the series renames them (recoverPendingWrites).
 */
async function compactSeries(ctx: Context, catalog: Catalog, series: CatalogSeries, def: DatasetDef, policy: string, compaction: Compaction, options: RetentionOptions): Promise<RetentionLine[]> {
  const duck = await ctx.duck();
  const lake = localStore(ctx.paths.lake);
  const ref = refOf(series, def);
  const line = (action: 'merge' | 'compact', found: readonly { rows: number; bytes: number; partitions: number }[]): RetentionLine => ({
    policy,
    dataset: series.dataset,
    source: series.source,
    granularity: series.granularity,
    action,
    cut: null,
    partitions: found.reduce((n, c) => n + c.partitions, 0),
    rows: found.reduce((n, c) => n + c.rows, 0),
    bytes: found.reduce((n, c) => n + c.bytes, 0),
  });
  const lines: RetentionLine[] = [];
  const grain = grainOf(ctx, series);
  const merges = grain ? planMerges(await manifestPartitions(catalog.sql, series, series.granularity), grain, compaction, ctx.clock.now()) : [];
  const present = merges.filter((m) => {
    const gone = m.parts.filter((p) => lake.stat(p.uri) === null);
    if (gone.length > 0) ctx.logger.warn(`compact: ${seriesName(series)}: ${m.symbol ?? ''} ${m.period} not merged: ${gone.map((p) => p.uri).join(', ')} missing (run mdw audit)`);
    return gone.length === 0;
  });
  if (present.length > 0) {
    lines.push(line('merge', present.map((m) => ({ rows: m.rows, bytes: m.bytes, partitions: m.parts.length }))));
    if (!options.dryRun) await applyMerges(ctx, catalog, series, ref, def, grain!, present, policy, options);
  }
  const found = await compactionCandidates(duck, lake, await manifestPartitions(catalog.sql, series, series.granularity));
  if (found.length === 0) return lines;
  lines.push(line('compact', found.map((c) => ({ rows: c.partition.rows, bytes: c.partition.bytes, partitions: 1 }))));
  if (options.dryRun) return lines;
  const batchId = randomUUID();
  const written: WrittenPartition[] = [];
  for (const [pid, c] of found.entries()) {
    ctx.progress.step(`compact: ${seriesName(series)}: ${c.partition.uri} (${c.rowGroups} row groups into ${c.target})`);
    const key = { dataset: series.dataset, source: series.source, granularity: series.granularity, symbol: c.partition.symbol, period: c.partition.period };
    // The rows as stored, in their order: no ORDER BY, DuckDB keeps a file's order.
    written.push(await rewritePartition(duck, lake, def, { pid, key, current: c.partition.uri }, (source) => `SELECT * FROM ${source}`, batchId.slice(0, 8), { rowGroupSize: c.rowGroupRows }));
  }
  const sealed = await sealPartitions(written);
  await catalog.sql.begin((tx) => recordRewrite(tx, series, ref, batchId, options.runId, ctx.clock.now(), sealed, found.map((c) => c.partition), `compact:${policy}`));
  commitPartitions(sealed);
  await completeBatch(catalog.sql, batchId, ctx.clock.now());
  ctx.logger.info(`compact: ${seriesName(series)}: ${sealed.length} files rewritten with whole row groups`);
  return lines;
}

/** The series' partition grain (configs/datasets.yml), or null (with a warning) when the config has none. */
function grainOf(ctx: Context, series: CatalogSeries): PartitionRule | null {
  try {
    return partitionRuleFor(ctx.settings.configDir, ctx.env, series.dataset, series.granularity);
  } catch (err) {
    ctx.logger.warn(`compact: ${seriesName(series)}: no partition grain (${errorMessage(err)}); its partitions are not merged`);
    return null;
  }
}

/** Merges each group's partitions into one partition of the next grain up, as one batch in one transaction (see compactSeries). */
async function applyMerges(
  ctx: Context,
  catalog: Catalog,
  series: CatalogSeries,
  ref: SeriesRef,
  def: DatasetDef,
  grain: PartitionRule,
  merges: readonly MergeGroup[],
  policy: string,
  options: RetentionOptions,
): Promise<void> {
  const duck = await ctx.duck();
  const lake = localStore(ctx.paths.lake);
  const batchId = randomUUID();
  const written: WrittenPartition[] = [];
  for (const [pid, m] of merges.entries()) {
    ctx.progress.step(`compact: ${seriesName(series)}: merging ${m.parts.length} partitions of ${m.symbol ?? 'all symbols'} into ${m.period}`);
    const key = { dataset: series.dataset, source: series.source, granularity: series.granularity, symbol: m.symbol, period: m.period };
    const w = await mergePartitionFiles(duck, lake, def, { pid, key, dir: partitionDir(key, grain), sources: m.parts.map((p) => p.uri) }, batchId.slice(0, 8), rowGroupRows);
    if (w.rows !== m.rows) {
      lake.remove([w.tmpUri]);
      throw new Error(`compact: ${seriesName(series)}: the merge of ${m.period} holds ${w.rows} rows, its ${m.parts.length} partitions ${m.rows}; nothing was changed`);
    }
    written.push(w);
  }
  const sealed = await sealPartitions(written);
  const at = ctx.clock.now();
  await catalog.sql.begin(async (tx) => {
    await recordBatchIn(
      tx,
      series,
      ref,
      { id: batchId, runId: options.runId, counts: { recordsIn: sum(merges, (m) => m.rows), out: sum(sealed, (w) => w.rows), deduped: 0, quarantined: 0, filtered: 0 }, quarantineUri: null, at },
      sealed.map((w) => manifestWrite(w, null)),
      sealed.flatMap((w, i) =>
        merges[i]!.parts.map((p) => ({
          rawUri: p.uri,
          uri: w.plan.uri,
          period: w.plan.key.period,
          recordsIn: p.rows,
          out: p.rows,
          deduped: 0,
          quarantined: 0,
          filtered: 0,
          fingerprint: null,
          configKey: `compact:${policy}`,
        })),
      ),
      [],
    );
    await mergeManifest(tx, series, series.granularity, sealed.map((w, i) => ({ uri: w.plan.uri, parts: merges[i]!.parts })), batchId, at);
  });
  commitPartitions(sealed);
  await completeBatch(catalog.sql, batchId, ctx.clock.now());
  ctx.logger.info(`compact: ${seriesName(series)}: ${sum(merges, (m) => m.parts.length)} partitions merged into ${merges.length}`);
}

function sum<T>(items: readonly T[], f: (item: T) => number): number {
  return items.reduce((n, x) => n + f(x), 0);
}

/** The granularity tombstones of the raw landing carry: its pages have no bar size. */
const rawLanding = 'raw';

/**
 * The raw landing's policies: a (source, dataset)'s vendor pages under
 * lake/raw/source=<s>/dataset=<d>/date=<day fetched> older than `keep: { days }` leave the lake
 * by day folder, as partitions do (kept in trash/ or archive/, a tombstone per day, one
 * transaction, then removed). The folders mdw curate lands its documents in are not pages and
 * stay. A request whose pages are gone is no longer reused: a run that asks for it fetches it.
 */
async function retireRaw(ctx: Context, catalog: Catalog, config: RetentionConfig, options: RetentionOptions): Promise<RetentionLine[]> {
  const lake = localStore(ctx.paths.lake);
  const home = localStore(ctx.settings.home);
  const folders = (dir: string, key: string) => lake.list(dir).filter((e) => e.folder && e.name.startsWith(`${key}=`)).map((e) => e.name);
  const lines: RetentionLine[] = [];
  for (const s of folders('raw', 'source')) {
    for (const d of folders(`raw/${s}`, 'dataset')) {
      const landing = { source: decodeSegment(s.slice('source='.length)), dataset: decodeSegment(d.slice('dataset='.length)) };
      const policy = rawPolicyFor(config.policies, landing);
      const ids = await findSeries(catalog.sql, landing.dataset, landing.source);
      if (ids && !options.dryRun) {
        // What an interrupted run of this landing committed but did not remove.
        const open = await unclearedRetirements(catalog.sql, ids, rawLanding);
        clearRetired(lake, open);
        await markCleared(catalog.sql, open.map((r) => r.id));
      }
      if (!policy?.keep || !('days' in policy.keep)) continue;
      const cut = cutFor(policy.keep, ctx.clock.now(), null, true)!;
      const days = folders(`raw/${s}/${d}`, 'date')
        .filter((f) => f.slice('date='.length) < cut.firstKept)
        .sort();
      if (days.length === 0) continue;
      if (!ids) {
        ctx.logger.warn(`retention ${policy.name}: the catalog knows no ${landing.dataset} of ${landing.source}; its raw pages are kept`);
        continue;
      }
      const pagesOf = (day: string) => lake.list(`raw/${s}/${d}/${day}`).filter((e) => !e.folder).map((e) => `raw/${s}/${d}/${day}/${e.name}`).sort();
      const at = ctx.clock.now();
      const folder = keepFolder(at, randomUUID());
      const root = policy.then === 'delete' ? 'trash' : 'archive';
      const retirements: Retirement[] = [];
      for (const day of days) {
        const pages = pagesOf(day);
        const digest = createHash('sha256');
        let bytes = 0;
        for (const uri of pages) {
          const { sha256, bytes: b } = await lake.hash(uri);
          digest.update(`${uri.slice(uri.lastIndexOf('/') + 1)} ${sha256}\n`);
          bytes += b;
          if (!options.dryRun) home.keep(`lake/${uri}`, `${root}/${folder}/lake/${uri}`);
        }
        const dir = `raw/${s}/${d}/${day}`;
        const partition: ManifestPartition = { id: randomUUID(), uri: dir, symbol: null, period: day.slice('date='.length), rows: pages.length, bytes, sha256: digest.digest('hex'), firstTs: null, lastTs: null, symbols: [] };
        retirements.push({ partition, policy: policy.name, action: policy.then!, lakeUris: [...pages, dir], keptUri: `${root}/${folder}/lake/${dir}` });
      }
      if (!options.dryRun) {
        await catalog.sql.begin((tx) => retirePartitions(tx, ids, rawLanding, retirements, [], options.runId, at));
        clearRetired(lake, retirements);
        await markCleared(catalog.sql, retirements.map((r) => r.partition.id));
        ctx.logger.info(`retention ${policy.name}: ${retirements.length} days of ${landing.source} ${landing.dataset} raw pages ${policy.then === 'delete' ? 'moved to the trash' : 'archived'}`);
      }
      lines.push({
        policy: policy.name,
        dataset: landing.dataset,
        source: landing.source,
        granularity: rawLanding,
        action: policy.then!,
        cut: cut.before.toISOString().replace('.000Z', 'Z'),
        partitions: retirements.length,
        rows: retirements.reduce((n, r) => n + r.partition.rows, 0),
        bytes: retirements.reduce((n, r) => n + r.partition.bytes, 0),
      });
    }
  }
  return lines;
}
