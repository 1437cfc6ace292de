import { createHash, randomUUID } from 'node:crypto';
import type { ExtractRequest, InputRef } from '../sources/source.js';
import { adapters } from '../sources/index.js';
import { ensureSeries, readInputs } from '../catalog/lake-catalog.js';
import type { Job } from '../config/jobs.js';
import type { Context } from '../context.js';
import { intersectWindows, parseWindow, type TimeWindow } from '../core/time-window.js';
import type { BatchCounts, SealedPartition, StagePlan } from '../load/staged-chunk.js';
import { needsReadOrder, sourceReadTypes } from '../transform/compile-transform.js';
import { adapterContext, extractFrom } from './adapter-context.js';
import { commitChunk } from './commit-chunk.js';
import { readChecked, type ReadChunk } from './read-chunk.js';
import { recoverPendingWrites } from './recover.js';
import { seriesLock, seriesOf, withLakeGrain, type CommitTo } from './series.js';
import { stopwatch } from './stopwatch.js';
import { releaseChunk, stageChunk, writeChunk, type WrittenChunk } from './write-chunk.js';

export interface IngestOptions {
  readonly window: TimeWindow;
  readonly symbols: readonly string[] | null;
  readonly dryRun: boolean;
  readonly runId: string | null;
  /** Read every input, also those a committed batch already read unchanged. */
  readonly full?: boolean;
  /** Vendor jobs: fetch closed windows again instead of reusing their landed pages. */
  readonly refetch?: boolean;
  /** Vendor jobs: requests a day this run may spend per vendor, below endpoints.yml's budget (a backfill leaves forward ingest its share). */
  readonly budgets?: Readonly<Record<string, number>>;
}

export interface IngestResult {
  readonly job: string;
  /** One batch per chunk of inputs. */
  readonly batchIds: readonly string[];
  readonly dryRun: boolean;
  readonly inputs: number;
  /** Inputs not read because a committed batch read them unchanged, under the same rules. */
  readonly skipped: number;
  readonly counts: BatchCounts;
  readonly partitions: { readonly touched: number; readonly written: number; readonly unchanged: number };
  readonly writes: readonly { readonly uri: string; readonly rows: number; readonly changes: number; readonly sha256: string | null }[];
  readonly quarantine: { readonly files: readonly string[]; readonly rows: number } | null;
}

/**
 * The requests a run of a vendor job would send now (path and query), without sending any:
 * a closed window whose pages landed before needs none. Also the inputs that are there to read.
 */
export async function plannedRequests(ctx: Context, job: Job, options: Pick<IngestOptions, 'window' | 'symbols' | 'refetch'>): Promise<{ planned: string[]; inputs: InputRef[] }> {
  return listPlanned(ctx, job, ingestRequest(job, options).request, Boolean(options.refetch));
}

async function listPlanned(ctx: Context, job: Job, request: ExtractRequest, refetch = false): Promise<{ planned: string[]; inputs: InputRef[] }> {
  const planned: string[] = [];
  const inputs = await adapters[job.spec.source.adapter].list({ ...(await adapterContext(ctx, true)), plan: (r) => planned.push(r), refetch }, request);
  return { planned, inputs };
}

/**
 * Runs one job: adapter -> transform -> validate -> load, in chunks of inputs so that memory
 * stays bounded whatever the size of the run. Each chunk is one batch: staged, written and
 * committed before the next is read. The stages are read-chunk, write-chunk and commit-chunk;
 * this orchestrator lists the inputs, skips those read before, chunks, locks, recovers and reports.
 */
/** What a run asks its adapter for: the job's window narrowed by the run's, and the symbols. */
function ingestRequest(job: Job, options: Pick<IngestOptions, 'window' | 'symbols'>): { request: ExtractRequest; window: TimeWindow; symbols: readonly string[] | null } {
  const window = intersectWindows(parseWindow(job.spec.window?.from, job.spec.window?.to, 'window.'), options.window);
  const symbols = normalizeSymbols(job, options.symbols ?? job.spec.symbols ?? null);
  const def = job.dataset;
  const request: ExtractRequest = {
    job,
    from: window.from,
    toExclusive: window.toExclusive,
    symbols,
    columns: sourceReadTypes(job.transform.value, def),
    numbered: needsReadOrder(job.transform.value, def, job.granularity),
  };
  return { request, window, symbols };
}

export async function runIngest(ctx: Context, job: Job, options: IngestOptions): Promise<IngestResult> {
  const { request, window, symbols } = ingestRequest(job, options);
  const adapter = adapters[job.spec.source.adapter];
  const def = job.dataset;
  const extract = extractFrom(ctx, adapter, request);
  const configKey = runConfigKey(job, window, symbols);
  const duck = await ctx.duck();
  const { ref, base } = seriesOf(ctx, job);

  if (options.dryRun) {
    // A vendor job fetches nothing: it names the requests it would send, and reads the pages
    // of closed windows that earlier runs landed.
    const { planned, inputs } = await listPlanned(ctx, job, request);
    if (planned.length > 0) {
      ctx.logger.warn(
        `${job.name} (dry run): ${planned.length} request${planned.length === 1 ? '' : 's'} to ${adapter.name} would be sent, each one of its daily budget; ` +
          `nothing was fetched, so only pages landed before are read below`,
      );
      for (const r of planned.slice(0, 10)) ctx.logger.info(`  would ask ${adapter.name} ${r}`);
      if (planned.length > 10) ctx.logger.info(`  ... and ${planned.length - 10} more`);
    }
    const result = new ResultBuilder(job.name, true, inputs.length);
    for (const chunk of chunked(inputs, ctx.settings.chunkBytes)) {
      const raw = await readChecked(ctx, duck, request, chunk, base.grain, extract);
      try {
        const { plan } = await stageChunk(duck, raw, { ...base, runBatchIds: [] });
        result.add(randomUUID(), plan, [], null);
      } finally {
        await releaseChunk(duck, raw);
      }
    }
    return result.build();
  }

  const catalog = await ctx.catalog(`mdw ingest ${job.name}`);
  return catalog.withLock(seriesLock(ref), ctx.settings.lockTimeoutMs, async () => {
    // Listing fetches a vendor job's pages: under the series lock, so two runs of one job do
    // not both fetch (the second waits, or exits 4).
    const inputs = await adapter.list({ ...(await adapterContext(ctx, false, options.runId, options.budgets)), refetch: Boolean(options.refetch) }, request);
    const result = new ResultBuilder(job.name, false, inputs.length);
    const ids = await ensureSeries(catalog.sql, ref);
    await recoverPendingWrites(ctx, catalog, def, ids, ref.granularity, ref.source);
    const target = withLakeGrain(base);
    const known = options.full ? new Map<string, string>() : await readInputs(catalog.sql, ids, ref.granularity, configKey, inputs.map((i) => i.uri));
    const fresh = inputs.filter((i) => known.get(i.uri) !== i.fingerprint);
    result.skip(inputs.length - fresh.length);
    if (fresh.length < inputs.length) ctx.logger.info(`${job.name}: ${inputs.length - fresh.length} of ${inputs.length} inputs are unchanged since they were loaded; skipping them (--full reads them again)`);
    const chunks = chunked(fresh, ctx.settings.chunkBytes);
    // Chunk k+1 is read (DuckDB) while chunk k is committed (hashing, fsync, the catalog): the
    // two use different threads. Staging k+1 waits for k's commit, as it compares with the lake.
    const read = (i: number) => {
      if (chunks.length > 1) ctx.progress.step(`${job.name}: chunk ${i + 1} of ${chunks.length} (${chunks[i]!.length} inputs)`);
      return readChecked(ctx, duck, request, chunks[i]!, target.grain, extract);
    };
    let next: Promise<ReadChunk> | null = chunks.length > 0 ? read(0) : null;
    try {
      for (let i = 0; i < chunks.length; i++) {
        const raw = await next!;
        next = null;
        const lap = stopwatch();
        const commit: CommitTo = { catalog, ids, ref, batchId: randomUUID(), runId: options.runId, configKey };
        const written = await writeChunk(ctx, duck, raw, { ...target, runBatchIds: result.batchIds }, commit, lap);
        if (i + 1 < chunks.length) next = read(i + 1);
        const done = await commitChunk(ctx, chunks[i]!, written, commit);
        lap('seal and commit');
        ctx.logger.debug(`${job.name}: chunk ${i + 1} of ${chunks.length}, ${written.plan.counts.recordsIn} records: timings (ms)`, { ...raw.timings, ...lap.all() });
        result.add(commit.batchId, written.plan, done, written.quarantine);
      }
    } finally {
      // A failed commit must not leave a read running against tables the next run reuses.
      await next?.catch(() => {});
    }
    return result.build();
  });
}

/** Symbols asked for by a person, in the case the transform stores them (upper by default). */
function normalizeSymbols(job: Job, symbols: readonly string[] | null): string[] | null {
  if (!symbols) return null;
  const kase = job.transform.value.symbol?.case ?? 'upper';
  return symbols.map((s) => (kase === 'upper' ? s.toUpperCase() : kase === 'lower' ? s.toLowerCase() : s));
}

/**
 * What an input's rows depend on besides its bytes: the rules that read and check them, where
 * they go, and the scope of the run. An input read before under another key is read again.
 */
function runConfigKey(job: Job, window: TimeWindow, symbols: readonly string[] | null): string {
  const what = {
    dataset: job.dataset.name,
    granularity: job.granularity.text,
    transform: job.transform.value,
    read: job.spec.source.read ?? null,
    validation: job.validation.value,
    partition: job.partition,
    window: [window.from?.toISOString() ?? null, window.toExclusive?.toISOString() ?? null],
    symbols,
  };
  return createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 32);
}

/** Inputs in order, grouped so that each group holds about `bytes` (one big input stays alone). */
function chunked(inputs: readonly InputRef[], bytes: number): InputRef[][] {
  const out: InputRef[][] = [];
  let current: InputRef[] = [];
  let size = 0;
  for (const input of inputs) {
    if (current.length > 0 && size + input.bytes > bytes) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(input);
    size += input.bytes;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Sums the chunks of a run into one result. */
class ResultBuilder {
  readonly batchIds: string[] = [];
  private skipped = 0;
  private counts: BatchCounts = { recordsIn: 0, out: 0, deduped: 0, quarantined: 0, filtered: 0 };
  private touched = 0;
  private unchanged = 0;
  private readonly writes: IngestResult['writes'][number][] = [];
  private readonly quarantineFiles: string[] = [];
  private quarantined = 0;

  constructor(
    private readonly job: string,
    private readonly dryRun: boolean,
    private readonly inputs: number,
  ) {}

  skip(n: number): void {
    this.skipped += n;
  }

  add(batchId: string, plan: StagePlan, written: readonly SealedPartition[], quarantine: WrittenChunk['quarantine']): void {
    this.batchIds.push(batchId);
    const c = plan.counts;
    this.counts = {
      recordsIn: this.counts.recordsIn + c.recordsIn,
      out: this.counts.out + c.out,
      deduped: this.counts.deduped + c.deduped,
      quarantined: this.counts.quarantined + c.quarantined,
      filtered: this.counts.filtered + c.filtered,
    };
    const byUri = new Map(written.map((w) => [w.plan.uri, w]));
    for (const p of plan.partitions) {
      this.touched++;
      if (p.changes === 0) this.unchanged++;
      else this.writes.push({ uri: p.uri, rows: byUri.get(p.uri)?.rows ?? p.changes, changes: p.changes, sha256: byUri.get(p.uri)?.sha256 ?? null });
    }
    if (quarantine) {
      this.quarantineFiles.push(quarantine.file);
      this.quarantined += quarantine.rows;
    }
  }

  build(): IngestResult {
    return {
      job: this.job,
      batchIds: this.batchIds,
      dryRun: this.dryRun,
      inputs: this.inputs,
      skipped: this.skipped,
      counts: this.counts,
      partitions: { touched: this.touched, written: this.writes.length, unchanged: this.unchanged },
      writes: this.writes,
      quarantine: this.quarantineFiles.length ? { files: this.quarantineFiles, rows: this.quarantined } : null,
    };
  }
}
