import type { ChunkStatus, PlannedChunk } from '../backfill/types.js';
import { CatalogError } from '../core/errors.js';
import type { Queryable } from './catalog.js';
import { storable } from './runs.js';

/*
 * The backfill queue, its known holes and the per-symbol status, in the catalog (sql/010).
 * Every function is one statement, so each is atomic on its own and a caller can also run it
 * inside a transaction of its own (pass the transaction handle as `sql`).
 */

/** A planned chunk as it enters the queue: lower priority runs first (the target's). */
export type EnqueueChunk = PlannedChunk & { readonly priority?: number };

/** A chunk as the queue holds it. */
export interface QueuedChunk extends PlannedChunk {
  readonly id: number;
  readonly priority: number;
  readonly status: ChunkStatus;
  /** The vendor that last answered for it; null until one did. */
  readonly vendor: string | null;
  /** Failed attempts so far. */
  readonly attempts: number;
  readonly leaseOwner: string | null;
  readonly leaseExpiresAt: Date | null;
  readonly lastError: string | null;
  /** The batch whose committed files filled it. */
  readonly batchId: string | null;
  /** Not leased again before this (set by failChunk's back-off). */
  readonly nextAttemptAt: Date | null;
  readonly updatedAt: Date;
}

export type HoleKind = 'vendor_empty' | 'accepted';

/** A hole that is explained: the audit shows it as its kind, not as RED. */
export interface KnownHole {
  readonly target: string;
  readonly symbol: string;
  readonly from: string;
  readonly to: string;
  readonly kind: HoleKind;
  /** vendor_empty: who answered "no data", when last, how many times, and when to ask again. */
  readonly vendor: string | null;
  readonly askedAt: Date | null;
  readonly asks: number;
  readonly retryAfter: Date | null;
  /** accepted: why, and when. */
  readonly reason: string | null;
  readonly acceptedAt: Date | null;
}

/** Days before a window a vendor answered "no data" for is asked again: the first time, and every time after. */
export interface EmptyBackoff {
  readonly first: number;
  readonly later: number;
}

export const defaultEmptyBackoff: EmptyBackoff = { first: 7, later: 30 };

/** One target's queue, as `mdw backfill status` shows it. */
export interface QueueStatus {
  readonly target: string;
  readonly counts: Readonly<Record<ChunkStatus, number>>;
  /** Leased chunks whose lease has expired (a killed run's): the next leaser takes them. */
  readonly expiredLeases: number;
  /** The failed chunk that has waited longest, with its error. */
  readonly oldestFailure: {
    readonly id: number;
    readonly symbol: string;
    readonly from: string;
    readonly to: string;
    readonly attempts: number;
    readonly error: string | null;
    readonly failedAt: Date;
  } | null;
}


/** A chunk's columns under the names QueuedChunk gives them: rows come back in its shape. */
const chunkColumns = (sql: Queryable) => sql`
  id, target, symbol, to_char(from_date, 'YYYY-MM-DD') as "from", to_char(to_date, 'YYYY-MM-DD') as "to", sessions, priority, vendor,
  status, attempts, lease_owner as "leaseOwner", lease_expires_at as "leaseExpiresAt", last_error as "lastError",
  batch_id::text as "batchId", next_attempt_at as "nextAttemptAt", updated_at as "updatedAt"`;

/** The queue hands chunks out in this order: the target's priority, then the order they were enqueued. */
const byQueueOrder = (a: QueuedChunk, b: QueuedChunk): number => a.priority - b.priority || a.id - b.id;

/**
 * Adds the chunks the queue does not hold yet (a chunk is its target, symbol and window, whatever
 * its status): enqueueing the same plan twice adds nothing. Returns how many were new.
 */
export async function enqueueChunks(sql: Queryable, chunks: readonly EnqueueChunk[], now: Date): Promise<number> {
  let added = 0;
  for (let i = 0; i < chunks.length; i += 1000) {
    const rows = chunks.slice(i, i + 1000).map((c) => ({
      target: c.target,
      symbol: c.symbol,
      from_date: c.from,
      to_date: c.to,
      sessions: c.sessions,
      priority: c.priority ?? 0,
      created_at: now,
      updated_at: now,
    }));
    const inserted = await sql`insert into mdw.backfill_chunk ${sql(rows)} on conflict (target, symbol, from_date, to_date) do nothing returning id`;
    added += inserted.length;
  }
  return added;
}

export interface LeaseOptions {
  /** Only these targets' chunks (all targets when left out). */
  readonly targets?: readonly string[];
  /** Only these symbols' chunks (`--symbols`). */
  readonly symbols?: readonly string[];
  /** Who holds the lease: unique per run (host, pid, run id). */
  readonly owner: string;
  readonly limit: number;
  readonly leaseMs: number;
  readonly now: Date;
}

/**
 * Leases up to `limit` chunks to `owner` until now + leaseMs: queued ones whose back-off has
 * passed, and leased ones whose lease expired (a killed run's), in queue order. Rows another
 * transaction is leasing are skipped (FOR UPDATE SKIP LOCKED), so two runs on one server catalog
 * never lease the same chunk; the embedded catalog has one connection, where that holds anyway.
 */
export async function leaseChunks(sql: Queryable, options: LeaseOptions): Promise<QueuedChunk[]> {
  const { owner, limit, leaseMs, now } = options;
  const rows = await sql<QueuedChunk[]>`
    with picked as materialized (
      select id from mdw.backfill_chunk
      where ((status = 'queued' and (next_attempt_at is null or next_attempt_at <= ${now}))
          or (status = 'leased' and lease_expires_at <= ${now}))
        ${options.targets ? sql`and target = any(${options.targets as string[]})` : sql``}
        ${options.symbols ? sql`and symbol = any(${options.symbols as string[]})` : sql``}
      order by priority, id
      limit ${limit}
      for update skip locked
    )
    update mdw.backfill_chunk
    set status = 'leased', lease_owner = ${owner}, lease_expires_at = ${new Date(now.getTime() + leaseMs)}, updated_at = ${now}
    where id in (select id from picked)
    returning ${chunkColumns(sql)}`;
  return [...rows].sort(byQueueOrder);
}

/**
 * Marks a chunk this owner leases `done`, filled by a committed batch, and forgets a
 * vendor_empty hole of its window (the data came after all). The batch must already be
 * committed (its files renamed into place and its manifest recorded), in this transaction or an
 * earlier one: a chunk asked to be done before is refused with a CatalogError, so the watermark
 * never runs ahead of the data. Returns false when the chunk is no longer this owner's (its lease
 * expired and another run took it): nothing changes, and the committed data stays valid.
 */
export async function completeChunk(sql: Queryable, id: number, done: { readonly owner: string; readonly batchId: string; readonly vendor: string; readonly now: Date }): Promise<boolean> {
  const [row] = await sql<{ batch_status: string | null; n: number }[]>`
    with c as (
      update mdw.backfill_chunk
      set status = 'done', vendor = ${done.vendor}, batch_id = ${done.batchId}, lease_owner = null, lease_expires_at = null,
          last_error = null, next_attempt_at = null, updated_at = ${done.now}
      where id = ${id} and status = 'leased' and lease_owner = ${done.owner}
        and exists (select 1 from mdw.batch where id = ${done.batchId} and status = 'committed')
      returning target, symbol, from_date, to_date
    ), forgotten as (
      delete from mdw.known_hole k using c
      where k.target = c.target and k.symbol = c.symbol and k.from_date = c.from_date and k.to_date = c.to_date and k.kind = 'vendor_empty'
    )
    select (select status from mdw.batch where id = ${done.batchId}) as batch_status, (select count(*) from c)::int as n`;
  if (row!.batch_status !== 'committed') {
    throw new CatalogError(
      `backfill chunk ${id} cannot be done: batch ${done.batchId} is ${row!.batch_status ?? 'not in the catalog'}, not committed; complete the chunk after the batch commits`,
    );
  }
  return row!.n === 1;
}

/**
 * A vendor answered "no data" for a chunk this owner leases: the chunk is `empty`, and its window
 * a vendor_empty known hole, asked again after `first` days the first time and `later` days
 * after that (dueForRetry re-queues it then). A window an operator accepted stays accepted and is
 * not asked again (retryAfter null). Returns null when the chunk is no longer this owner's.
 */
export async function emptyChunk(
  sql: Queryable,
  id: number,
  empty: { readonly owner: string; readonly vendor: string; readonly now: Date; readonly backoffDays?: EmptyBackoff },
): Promise<{ readonly retryAfter: Date | null } | null> {
  const backoff = empty.backoffDays ?? defaultEmptyBackoff;
  const after = (days: number) => new Date(empty.now.getTime() + days * 86_400_000);
  const [row] = await sql<{ n: number; retry_after: Date | null }[]>`
    with c as (
      update mdw.backfill_chunk
      set status = 'empty', vendor = ${empty.vendor}, lease_owner = null, lease_expires_at = null, next_attempt_at = null, updated_at = ${empty.now}
      where id = ${id} and status = 'leased' and lease_owner = ${empty.owner}
      returning target, symbol, from_date, to_date
    ), hole as (
      insert into mdw.known_hole (target, symbol, from_date, to_date, kind, vendor, asked_at, asks, retry_after, created_at, updated_at)
      select target, symbol, from_date, to_date, 'vendor_empty', ${empty.vendor}::text, ${empty.now}::timestamptz, 1,
             ${after(backoff.first)}::timestamptz, ${empty.now}::timestamptz, ${empty.now}::timestamptz
      from c
      on conflict (target, symbol, from_date, to_date) do update
      set vendor = excluded.vendor, asked_at = excluded.asked_at, asks = mdw.known_hole.asks + 1,
          retry_after = ${after(backoff.later)}::timestamptz, updated_at = excluded.updated_at
      where mdw.known_hole.kind = 'vendor_empty'
      returning retry_after
    )
    select (select count(*) from c)::int as n, (select retry_after from hole) as retry_after`;
  return row!.n === 1 ? { retryAfter: row!.retry_after } : null;
}

/**
 * An attempt at a chunk this owner leases failed: the chunk goes back to the queue with one
 * more attempt and its error, not leased again before now + retryAfterMs; at maxAttempts it is
 * `failed` and stays so (its last error kept). Returns its new status and attempts, or null when
 * the chunk is no longer this owner's.
 */
export async function failChunk(
  sql: Queryable,
  id: number,
  failure: { readonly owner: string; readonly error: string; readonly now: Date; readonly maxAttempts: number; readonly retryAfterMs?: number; readonly vendor?: string },
): Promise<{ readonly status: 'queued' | 'failed'; readonly attempts: number } | null> {
  const [row] = await sql<{ status: 'queued' | 'failed'; attempts: number }[]>`
    update mdw.backfill_chunk
    set attempts = attempts + 1,
        status = case when attempts + 1 >= ${failure.maxAttempts} then 'failed' else 'queued' end,
        last_error = ${storable(failure.error)}, vendor = coalesce(${failure.vendor ?? null}::text, vendor),
        lease_owner = null, lease_expires_at = null,
        next_attempt_at = ${new Date(failure.now.getTime() + (failure.retryAfterMs ?? 0))}, updated_at = ${failure.now}
    where id = ${id} and status = 'leased' and lease_owner = ${failure.owner}
    returning status, attempts`;
  return row ?? null;
}

/**
 * A run still at work extends its leases to now + leaseMs (a heartbeat between chunks), so a long
 * fetch does not lose its chunks to the next run. A lease another run has taken over is not taken
 * back. Returns how many were extended.
 */
export async function renewLeases(sql: Queryable, owner: string, renew: { readonly leaseMs: number; readonly now: Date }): Promise<number> {
  const rows = await sql`
    update mdw.backfill_chunk set lease_expires_at = ${new Date(renew.now.getTime() + renew.leaseMs)}, updated_at = ${renew.now}
    where status = 'leased' and lease_owner = ${owner}
    returning id`;
  return rows.length;
}

/** A run that stops cleanly gives back what it leased and did not finish. Returns how many. */
export async function releaseLeases(sql: Queryable, owner: string, now: Date): Promise<number> {
  const rows = await sql`
    update mdw.backfill_chunk set status = 'queued', lease_owner = null, lease_expires_at = null, updated_at = ${now}
    where status = 'leased' and lease_owner = ${owner}
    returning id`;
  return rows.length;
}

/** Records a hole as known and accepted (`mdw backfill accept`); a vendor_empty hole of the same window becomes accepted. */
export async function acceptHole(
  sql: Queryable,
  hole: { readonly target: string; readonly symbol: string; readonly from: string; readonly to: string; readonly reason: string; readonly now: Date },
): Promise<void> {
  await sql`
    insert into mdw.known_hole (target, symbol, from_date, to_date, kind, reason, accepted_at, created_at, updated_at)
    values (${hole.target}, ${hole.symbol}, ${hole.from}, ${hole.to}, 'accepted', ${storable(hole.reason)}, ${hole.now}, ${hole.now}, ${hole.now})
    on conflict (target, symbol, from_date, to_date) do update
    set kind = 'accepted', reason = excluded.reason, accepted_at = excluded.accepted_at, updated_at = excluded.updated_at`;
}

/** The known holes, of some targets or all, by target, symbol and window. */
export async function knownHoles(sql: Queryable, targets?: readonly string[]): Promise<KnownHole[]> {
  const rows = await sql<KnownHole[]>`
    select target, symbol, to_char(from_date, 'YYYY-MM-DD') as "from", to_char(to_date, 'YYYY-MM-DD') as "to", kind, vendor,
           asked_at as "askedAt", asks, retry_after as "retryAfter", reason, accepted_at as "acceptedAt"
    from mdw.known_hole
    ${targets ? sql`where target = any(${targets as string[]})` : sql``}
    order by target, symbol, from_date, to_date`;
  return [...rows];
}

/**
 * Re-queues the empty chunks whose vendor_empty hole is due (retry_after passed): they are asked
 * again. The hole stays until the window is filled (completeChunk forgets it), so a second "no
 * data" backs off longer. Of some targets or all; returns how many chunks were re-queued.
 */
export async function dueForRetry(sql: Queryable, now: Date, targets?: readonly string[]): Promise<number> {
  const rows = await sql`
    update mdw.backfill_chunk c
    set status = 'queued', next_attempt_at = null, updated_at = ${now}
    from mdw.known_hole k
    where c.status = 'empty' and k.kind = 'vendor_empty' and k.retry_after <= ${now}
      and k.target = c.target and k.symbol = c.symbol and k.from_date = c.from_date and k.to_date = c.to_date
      ${targets ? sql`and c.target = any(${targets as string[]})` : sql``}
    returning c.id`;
  return rows.length;
}

/** The queue per target (of some targets or all): chunks by status, expired leases, and the oldest failure with its error. */
export async function queueStatus(sql: Queryable, targets: readonly string[] | undefined, now: Date): Promise<QueueStatus[]> {
  const only = targets ? sql`where target = any(${targets as string[]})` : sql``;
  const counts = await sql<{ target: string; status: ChunkStatus; n: number; expired: number }[]>`
    select target, status, count(*)::int as n, count(*) filter (where status = 'leased' and lease_expires_at <= ${now})::int as expired
    from mdw.backfill_chunk ${only}
    group by target, status`;
  const failures = await sql<{ target: string; id: number; symbol: string; from_date: string; to_date: string; attempts: number; last_error: string | null; updated_at: Date }[]>`
    select distinct on (target) target, id, symbol, to_char(from_date, 'YYYY-MM-DD') as from_date, to_char(to_date, 'YYYY-MM-DD') as to_date,
           attempts, last_error, updated_at
    from mdw.backfill_chunk
    where status = 'failed' ${targets ? sql`and target = any(${targets as string[]})` : sql``}
    order by target, updated_at, id`;
  const byTarget = new Map<string, { counts: Record<ChunkStatus, number>; expired: number }>();
  for (const r of counts) {
    const t = byTarget.get(r.target) ?? { counts: noChunks(), expired: 0 };
    t.counts[r.status] = r.n;
    t.expired += r.expired;
    byTarget.set(r.target, t);
  }
  const oldest = new Map(failures.map((f) => [f.target, f]));
  return [...byTarget.keys()].sort().map((target) => {
    const f = oldest.get(target);
    return {
      target,
      counts: byTarget.get(target)!.counts,
      expiredLeases: byTarget.get(target)!.expired,
      oldestFailure: f ? { id: f.id, symbol: f.symbol, from: f.from_date, to: f.to_date, attempts: f.attempts, error: f.last_error, failedAt: f.updated_at } : null,
    };
  });
}

/** Zero chunks of every status: a status added to ChunkStatus without a count here fails to compile. */
function noChunks(): Record<ChunkStatus, number> {
  return { queued: 0, leased: 0, done: 0, empty: 0, failed: 0 };
}

/** The queue's chunks, of some targets and statuses or all, in queue order. */
export async function listChunks(sql: Queryable, filter: { readonly targets?: readonly string[]; readonly statuses?: readonly ChunkStatus[] } = {}): Promise<QueuedChunk[]> {
  const rows = await sql<QueuedChunk[]>`
    select ${chunkColumns(sql)} from mdw.backfill_chunk
    where true
      ${filter.targets ? sql`and target = any(${filter.targets as string[]})` : sql``}
      ${filter.statuses ? sql`and status = any(${filter.statuses as string[]})` : sql``}
    order by priority, id`;
  return [...rows];
}
