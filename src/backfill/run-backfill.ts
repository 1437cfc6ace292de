import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { calendars } from '../calendar/registry.js';
import { acceptHole, completeChunk, dueForRetry, emptyChunk, enqueueChunks, failChunk, knownHoles, leaseChunks, releaseLeases, type QueuedChunk } from '../catalog/backfill-catalog.js';
import { upsertSymbolStatus } from '../catalog/symbol-status.js';
import { findSeries } from '../catalog/audit-catalog.js';
import { retiredRanges } from '../catalog/retention-catalog.js';
import { progressBar } from '../core/progress.js';
import type { Sql } from '../catalog/catalog.js';
import { backfillFile, loadBackfillConfig, readUniverseFile, type BackfillConfig, type BackfillVendor } from '../config/backfill.js';
import { loadEndpoints } from '../config/endpoints.js';
import type { Job } from '../config/jobs.js';
import type { Context } from '../context.js';
import { errorMessage, UsageError } from '../core/errors.js';
import { processAlive } from '../core/process-alive.js';
import { literal, pathList, stringList } from '../core/sql.js';
import { encodeSegment } from '../lake/layout.js';
import { localStore } from '../lake/local-store.js';
import { currentObjectsUnder } from '../lake/partition-files.js';
import { BudgetExhaustedError } from '../http/http-client.js';
import { plannedRequests, runIngest } from '../pipeline/run-ingest.js';
import { sessionsHeld } from './lake-sessions.js';
import { barsPerSession, lastEndedSession, planChunks, sessionIndex, sessionsPerRequest, type Listing } from './plan.js';
import { chunkRequests, chunkWindow, routeChunk } from './route.js';
import type { BackfillTarget, PlannedChunk } from './types.js';

export interface BackfillOptions {
  /** Target names (all of them when empty). */
  readonly targets: readonly string[];
  /** Replaces each target's universe for this run. */
  readonly symbols: readonly string[] | null;
  /** Narrows each target's span: no session before `from`, none after `to`. */
  readonly from: string | null;
  readonly to: string | null;
  /** Only this vendor is asked. */
  readonly vendor: string | null;
  /** Stop once this many requests were sent (the chunk that would pass it waits for the next run). */
  readonly maxRequests: number | null;
  readonly dryRun: boolean;
  readonly runId: string | null;
}

export interface TargetPlan {
  readonly target: string;
  readonly symbols: number;
  readonly chunks: readonly PlannedChunk[];
  /** Dry run: per vendor (the first the router picks), chunks and requests. */
  readonly byVendor: readonly {
    readonly vendor: string;
    readonly chunks: number;
    readonly requests: number;
    readonly budget: number;
    readonly usedToday: number;
    /** What the requests would cost, for a vendor endpoints.yml gives a cost per request; null for a flat plan. */
    readonly cost: { readonly amount: number; readonly currency: string } | null;
  }[];
}

export interface ChunkOutcome {
  readonly chunk: QueuedChunk;
  readonly outcome: 'done' | 'empty' | 'failed' | 'queued';
  readonly vendor: string | null;
  readonly detail: string | null;
}

export interface BackfillResult {
  readonly dryRun: boolean;
  readonly plans: readonly TargetPlan[];
  /** New chunks this run put in the queue (chunks planned before are not queued twice). */
  readonly queued: number;
  readonly outcomes: readonly ChunkOutcome[];
  readonly requests: number;
  /** Why the run stopped: the queue is empty, every allowed vendor's budget is spent, or --max-requests was reached. */
  readonly stopped: 'empty' | 'budget' | 'max_requests';
}

/** A failed chunk goes back to the queue this many times; a vendor that failed this many chunks in a row is not asked again in the run. */
const maxAttempts = 3;
const freezeAfter = 3;
/** A killed run's chunks go back to the queue once their lease expires. */
const leaseMs = 30 * 60_000;

/**
 * Fills the holes of the configured targets: plans the missing windows of each target's
 * symbols against what the lake holds (and the holes already explained), queues them in the
 * catalog, then works the queue, chunk by chunk, through the vendors the router orders, until
 * it is empty, every vendor's budget is spent or --max-requests is reached. A chunk is done
 * only after the batch that filled it has committed; an answer with no data makes it a known
 * hole (asked again after the back-off).
 */
export async function runBackfill(ctx: Context, options: BackfillOptions): Promise<BackfillResult> {
  const config = loadBackfillConfig(ctx.settings.configDir, ctx.env);
  const targets = pickTargets(config, options.targets);
  const catalog = await ctx.catalog('mdw backfill');
  const now = ctx.clock.now();
  if (!options.dryRun) await dueForRetry(catalog.sql, now, targets.map((t) => t.name));
  const plans: TargetPlan[] = [];
  for (const target of targets) plans.push(await planTarget(ctx, catalog.sql, config, target, options));
  if (options.dryRun) return { dryRun: true, plans, queued: 0, outcomes: [], requests: 0, stopped: 'empty' };

  let queued = 0;
  for (const [i, plan] of plans.entries()) queued += await enqueueChunks(catalog.sql, plan.chunks.map((c) => ({ ...c, priority: targets[i]!.priority })), now);
  const total = plans.reduce((n, p) => n + p.chunks.length, 0);
  ctx.logger.info(`backfill: ${total} chunk${total === 1 ? '' : 's'} to fill (${queued} new in the queue)`);
  return work(ctx, catalog.sql, config, targets, options, { queued, plans });
}

function pickTargets(config: BackfillConfig, names: readonly string[]): BackfillTarget[] {
  if (names.length === 0) return [...config.targets];
  return names.map((n) => {
    const t = config.targets.find((x) => x.name === n);
    if (!t) throw new UsageError(`no backfill target "${n}" in ${config.file} (targets: ${config.targets.map((x) => x.name).join(', ')})`);
    return t;
  });
}

function vendorsOf(config: BackfillConfig, target: BackfillTarget, only: string | null): readonly BackfillVendor[] {
  const all = config.vendors.get(target.name) ?? [];
  if (only === null) return all;
  const picked = all.filter((v) => v.vendor === only);
  if (picked.length === 0) throw new UsageError(`backfill target ${target.name} does not allow ${only} (it allows ${all.map((v) => v.vendor).join(', ')})`);
  return picked;
}

/** A target's symbols: --symbols, else its universe. */
async function universe(ctx: Context, target: BackfillTarget, symbols: readonly string[] | null): Promise<string[]> {
  if (symbols) return [...symbols];
  const u = target.universe;
  if (u.kind === 'symbols') return [...u.symbols];
  if (u.kind === 'file') return readUniverseFile(ctx.settings.configDir, u.file);
  // The tickers dataset: the names active as of the date, by the newest record at or before it.
  const duck = await ctx.duck();
  const lake = localStore(ctx.paths.lake);
  const files = currentObjectsUnder(lake, `tickers/source=${encodeSegment(u.source)}`).map(lake.locate);
  if (files.length === 0) throw new UsageError(`backfill target ${target.name}: the lake has no tickers from ${u.source} (run its tickers job first)`);
  const rows = await duck.all<{ symbol: string }>(
    `SELECT symbol FROM read_parquet(${pathList(files)}, hive_partitioning = false) ` +
      `WHERE as_of <= ${literal(`${u.asOf} 00:00:00`)}::TIMESTAMP QUALIFY row_number() OVER (PARTITION BY symbol ORDER BY as_of DESC) = 1 AND active ORDER BY symbol`,
  );
  return rows.map((r) => r.symbol);
}

/**
 * Each symbol's listing and delisting dates where the tickers dataset (any source) knows them,
 * by its newest record: nothing before the listing or after a delisting is planned. Files
 * written before tickers had listed_at read it as NULL.
 */
async function listingsOf(ctx: Context, symbols: readonly string[]): Promise<Map<string, Listing>> {
  const lake = localStore(ctx.paths.lake);
  const files = currentObjectsUnder(lake, 'tickers').map(lake.locate);
  if (files.length === 0 || symbols.length === 0) return new Map();
  const duck = await ctx.duck();
  const from = `read_parquet(${pathList(files)}, hive_partitioning = false, union_by_name = true)`;
  // A source whose transform maps no listing (or delisting) date wrote no such column.
  const has = new Set((await duck.describe(`SELECT * FROM ${from}`)).map((c) => c.name));
  const day = (column: string) => (has.has(column) ? `strftime(${column}, '%Y-%m-%d')` : 'NULL');
  const rows = await duck.all<{ symbol: string; listed: string | null; delisted: string | null }>(
    `SELECT symbol, ${day('listed_at')} AS listed, CASE WHEN NOT active THEN ${day('delisted_at')} END AS delisted FROM ${from} ` +
      `WHERE symbol IN (SELECT unnest(${stringList([...symbols])})) QUALIFY row_number() OVER (PARTITION BY symbol ORDER BY as_of DESC) = 1`,
  );
  return new Map(rows.filter((r) => r.listed !== null || r.delisted !== null).map((r) => [r.symbol, { listed: r.listed, delisted: r.delisted }]));
}

/** Requests each vendor has spent today (mdw.request_budget). */
async function usedToday(sql: Sql, day: string): Promise<Map<string, number>> {
  const rows = await sql<{ vendor: string; used: number }[]>`select vendor, used from mdw.request_budget where day = ${day}`;
  return new Map(rows.map((r) => [r.vendor, r.used]));
}

async function planTarget(ctx: Context, sql: Sql, config: BackfillConfig, target: BackfillTarget, options: BackfillOptions): Promise<TargetPlan> {
  const now = ctx.clock.now();
  const vendors = vendorsOf(config, target, options.vendor);
  const symbols = await universe(ctx, target, options.symbols);
  const calendar = calendars[target.calendar];
  const ended = lastEndedSession(calendar, now);
  const until = ended && options.to && options.to < ended ? options.to : ended;
  const earliest = options.from && options.from > target.earliest ? options.from : target.earliest;
  if (until === null || symbols.length === 0) return { target: target.name, symbols: symbols.length, chunks: [], byVendor: [] };
  // What the lake holds, from any source the target fills, and the holes already explained.
  const sources = (config.vendors.get(target.name) ?? []).map((v) => v.job.spec.source.name);
  const extended = vendors[0]!.job.spec.extended_hours ?? false;
  const held = await sessionsHeld(await ctx.duck(), ctx.paths.lake, { dataset: target.dataset, sources, granularity: target.granularity, calendar, extended }, symbols);
  const present = new Map<string, Set<string>>(symbols.map((s) => [s, new Set(held.get(s) ?? [])]));
  const sessions = sessionIndex(calendar, earliest, until, vendors[0]!.job.partition.period);
  for (const hole of await knownHoles(sql, [target.name])) {
    if (hole.kind === 'vendor_empty' && hole.retryAfter !== null && hole.retryAfter <= now) continue;
    const set = present.get(hole.symbol);
    if (set) for (const d of sessions.dates) if (d >= hole.from && d <= hole.to) set.add(d);
  }
  // Sessions a retention policy retired from one of the target's sources are not holes: fetching
  // them again would only feed the next retention.
  for (const source of sources) {
    const ids = await findSeries(sql, target.dataset, source);
    for (const r of ids ? await retiredRanges(sql, ids, target.granularity.text) : []) {
      const set = present.get(r.symbol);
      if (set) for (const d of sessions.dates) if (d < r.firstKept) set.add(d);
    }
  }
  const perRequest = sessionsPerRequest(
    vendors.map((v) => v.fetcher.pageSize),
    barsPerSession(calendar, target.granularity, extended),
  );
  const listings = await listingsOf(ctx, symbols);
  const chunks = planChunks({ ...target, earliest }, { sessions, symbols, present, listings, until, sessionsPerRequest: perRequest });
  const byVendor: TargetPlan['byVendor'][number][] = [];
  if (options.dryRun) {
    const day = now.toISOString().slice(0, 10);
    const used = await usedToday(sql, day);
    const counts = new Map<string, { chunks: number; requests: number }>();
    for (const c of chunks) {
      const route = routeChunk(c, vendors, { remaining: remainingToday(config, vendors, used), frozen: new Set(), today: day });
      const vendor = route.order[0] ?? vendors[0]!.vendor;
      const job = withoutWindow(vendors.find((v) => v.vendor === vendor)!.job);
      const { planned } = await plannedRequests(ctx, job, { window: chunkWindow(job, c), symbols: [c.symbol] });
      const n = counts.get(vendor) ?? { chunks: 0, requests: 0 };
      counts.set(vendor, { chunks: n.chunks + 1, requests: n.requests + planned.length });
    }
    const providers = loadEndpoints(ctx.settings.configDir, ctx.env).value.providers;
    for (const [vendor, n] of counts) {
      const price = providers[vendor]?.cost;
      const cost = price ? { amount: Math.round(n.requests * price.per_request * 100) / 100, currency: price.currency } : null;
      byVendor.push({ vendor, ...n, budget: config.budgets[vendor] ?? 0, usedToday: used.get(vendor) ?? 0, cost });
    }
  }
  return { target: target.name, symbols: symbols.length, chunks, byVendor };
}

function remainingToday(config: BackfillConfig, vendors: readonly BackfillVendor[], used: ReadonlyMap<string, number>): Map<string, number | null> {
  return new Map(vendors.map((v) => [v.vendor, Math.max(0, (config.budgets[v.vendor] ?? Infinity) - (used.get(v.vendor) ?? 0))]));
}

async function work(
  ctx: Context,
  sql: Sql,
  config: BackfillConfig,
  targets: readonly BackfillTarget[],
  options: BackfillOptions,
  planned: { queued: number; plans: readonly TargetPlan[] },
): Promise<BackfillResult> {
  const owner = `${hostname()}:${process.pid}:${options.runId ?? 'cli'}`;
  const outcomes: ChunkOutcome[] = [];
  const frozen = new Set<string>();
  const spent = new Set<string>();
  const failures = new Map<string, number>();
  let requests = 0;
  let stopped: BackfillResult['stopped'] = 'empty';
  const byName = new Map(targets.map((t) => [t.name, t]));
  await reclaimDeadLeases(ctx, sql);
  const total = planned.plans.reduce((n, p) => n + p.chunks.length, 0);
  const started = ctx.clock.now().getTime();
  let rows = 0;
  const tally = () => ({ done: outcomes.length, total, elapsedMs: ctx.clock.now().getTime() - started });
  try {
    for (;;) {
      const now = ctx.clock.now();
      const [chunk] = await leaseChunks(sql, { targets: targets.map((t) => t.name), ...(options.symbols ? { symbols: options.symbols } : {}), owner, limit: 1, leaseMs, now });
      if (!chunk) break;
      const target = byName.get(chunk.target)!;
      const vendors = vendorsOf(config, target, options.vendor);
      const day = now.toISOString().slice(0, 10);
      const used = await usedToday(sql, day);
      const remaining = remainingToday(config, vendors, used);
      for (const v of spent) remaining.set(v, 0);
      // What the chunk costs each vendor: a vendor without that much left today is not started on it.
      const cost = new Map(vendors.map((v) => [v.vendor, chunkRequests(v.fetcher, v.job, chunk, now).length]));
      const route = routeChunk(chunk, vendors, { remaining, frozen, today: day, requests: cost });
      ctx.progress.step(`backfill ${progressBar('chunks', tally())}, ${rows} rows, ${requests} requests: ${chunk.target} ${chunk.symbol} ${chunk.from}..${chunk.to}`);
      let outcome: ChunkOutcome | null = null;
      let lastError: string | null = null;
      // Vendors that answered with no data for the window: the next one is asked before the window is called a hole.
      const emptyBy: string[] = [];
      for (const vendor of route.order) {
        const job = withoutWindow(vendors.find((v) => v.vendor === vendor)!.job);
        const window = chunkWindow(job, chunk);
        // refetch: a chunk a vendor answered before (with no data, after its back-off) is asked again, not read from that answer.
        const refetch = chunk.vendor !== null;
        const { planned: asks } = await plannedRequests(ctx, job, { window, symbols: [chunk.symbol], refetch });
        if (options.maxRequests !== null && requests + asks.length > options.maxRequests) {
          stopped = 'max_requests';
          return { dryRun: false, plans: planned.plans, queued: planned.queued, outcomes, requests, stopped };
        }
        try {
          // full: a chunk a killed run had loaded is read again from its landed pages (no request) to name the batch that holds it.
          const r = await runIngest(ctx, job, { window, symbols: [chunk.symbol], dryRun: false, runId: options.runId, full: true, refetch, budgets: config.budgets });
          requests += asks.length;
          rows += r.counts.out;
          failures.set(vendor, 0);
          if (r.counts.recordsIn === 0 || r.batchIds.length === 0) {
            emptyBy.push(vendor);
            continue;
          }
          const at = ctx.clock.now();
          await completeChunk(sql, chunk.id, { owner, batchId: r.batchIds.at(-1)!, vendor, now: at });
          outcome = { chunk, outcome: 'done', vendor, detail: `${r.counts.out} stored, ${r.counts.deduped} already there` };
          await symbolOutcome(sql, target, job, chunk.symbol, 'done', at);
          break;
        } catch (err) {
          if (err instanceof BudgetExhaustedError) {
            spent.add(vendor);
            ctx.logger.warn(`backfill: ${vendor}'s budget for today is spent; the next vendor takes ${chunk.symbol} ${chunk.from}..${chunk.to}`);
            continue;
          }
          if (err instanceof UsageError) throw err;
          lastError = `${vendor}: ${errorMessage(err)}`;
          const n = (failures.get(vendor) ?? 0) + 1;
          failures.set(vendor, n);
          if (n >= freezeAfter) frozen.add(vendor);
          ctx.logger.warn(`backfill: ${chunk.symbol} ${chunk.from}..${chunk.to} failed at ${lastError}`);
        }
      }
      if (!outcome && emptyBy.length > 0) {
        const at = ctx.clock.now();
        const vendor = emptyBy.join(',');
        const empty = await emptyChunk(sql, chunk.id, { owner, vendor, now: at });
        outcome = { chunk, outcome: 'empty', vendor, detail: empty?.retryAfter ? `no data; asked again after ${empty.retryAfter.toISOString().slice(0, 10)}` : 'no data' };
        const { job } = vendors.find((v) => v.vendor === emptyBy[0])!;
        await symbolOutcome(sql, target, job, chunk.symbol, 'empty', at);
      }
      if (!outcome && lastError === null) {
        const skipped = route.skipped.map((v) => `${v.vendor} ${v.reason}`).join(', ');
        // No vendor's history reaches the chunk: no later run can fill it either.
        if (route.order.length === 0 && route.skipped.every((v) => v.reason === 'history')) lastError = `no vendor allowed serves that far back (${skipped})`;
        else {
          // Every vendor was spent (or frozen for this run): the chunk waits for the next run.
          stopped = 'budget';
          outcomes.push({ chunk, outcome: 'queued', vendor: null, detail: route.order.length === 0 ? `no vendor left: ${skipped}` : 'every vendor allowed has spent its budget for today' });
          break;
        }
      }
      if (!outcome) {
        const failed = await failChunk(sql, chunk.id, { owner, error: lastError!, now: ctx.clock.now(), maxAttempts });
        outcome = { chunk, outcome: failed?.status === 'failed' ? 'failed' : 'queued', vendor: null, detail: lastError };
      }
      outcomes.push(outcome);
      ctx.logger.info(`backfill ${outcomes.length}/${Math.max(total, outcomes.length)}: ${chunk.target} ${chunk.symbol} ${chunk.from}..${chunk.to}: ${outcome.outcome}${outcome.vendor ? ` (${outcome.vendor})` : ''}${outcome.detail ? `: ${outcome.detail}` : ''}`);
    }
  } finally {
    await releaseLeases(sql, owner, ctx.clock.now());
  }
  return { dryRun: false, plans: planned.plans, queued: planned.queued, outcomes, requests, stopped };
}

/**
 * Leases held by runs of this host whose process is gone (killed, or the machine restarted):
 * their chunks go back to the queue now instead of when the lease expires. Other hosts' leases
 * expire as leased.
 */
async function reclaimDeadLeases(ctx: Context, sql: Sql): Promise<void> {
  const host = `${hostname()}:`;
  const owners = await sql<{ owner: string }[]>`select distinct lease_owner as owner from mdw.backfill_chunk where status = 'leased' and starts_with(lease_owner, ${host})`;
  for (const { owner } of owners) {
    const pid = Number(owner.slice(host.length).split(':')[0]);
    if (!Number.isInteger(pid) || pid === process.pid || processAlive(pid)) continue;
    const n = await releaseLeases(sql, owner, ctx.clock.now());
    if (n > 0) ctx.logger.info(`backfill: ${n} chunk${n === 1 ? '' : 's'} leased by ${owner}, a run that is gone, back in the queue`);
  }
}

/** A vendor job as backfill runs it: the chunk's window, not the job's own (forward ingest's) window. */
function withoutWindow(job: Job): Job {
  return { ...job, spec: { ...job.spec, window: undefined } };
}

/** What the backfill learned of a symbol, for `mdw status`. */
async function symbolOutcome(sql: Sql, target: BackfillTarget, job: Job, symbol: string, outcome: 'done' | 'empty', at: Date): Promise<void> {
  await upsertSymbolStatus(sql, [{ dataset: target.dataset, source: job.spec.source.name, granularity: target.granularity.text, symbol, lastBackfillAt: at, lastBackfillOutcome: outcome, updatedAt: at }]);
}

/** `mdw backfill accept`: a hole an operator explained; the audit no longer counts it RED. */
export async function acceptBackfillHole(ctx: Context, hole: { target: string; symbol: string; from: string; to: string; reason: string }): Promise<void> {
  const config = loadBackfillConfig(ctx.settings.configDir, ctx.env);
  pickTargets(config, [hole.target]);
  const catalog = await ctx.catalog('mdw backfill accept');
  await acceptHole(catalog.sql, { ...hole, now: ctx.clock.now() });
}

/**
 * The known holes of a job's series, for the audit: those of every backfill target that loads
 * this dataset and bar size through a job with this job's source. A backfill.yml that is missing
 * or does not load explains nothing (the audit does not fail on it).
 */
export async function explainedHoles(ctx: Context, sql: Sql, job: Job): Promise<{ symbol: string; from: string; to: string }[]> {
  let config: BackfillConfig;
  try {
    config = loadBackfillConfig(ctx.settings.configDir, ctx.env);
  } catch (err) {
    if (!existsSync(backfillFile(ctx.settings.configDir))) return [];
    ctx.logger.warn(`audit: known holes not read: ${errorMessage(err)}`);
    return [];
  }
  const names = config.targets
    .filter((t) => t.dataset === job.dataset.name && t.granularity.text === job.granularity.text)
    .filter((t) => (config.vendors.get(t.name) ?? []).some((v) => v.job.spec.source.name === job.spec.source.name))
    .map((t) => t.name);
  if (names.length === 0) return [];
  return (await knownHoles(sql, names)).map((h) => ({ symbol: h.symbol, from: h.from, to: h.to }));
}
