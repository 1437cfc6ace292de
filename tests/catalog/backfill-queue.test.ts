import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { PlannedChunk } from '../../src/backfill/types.js';
import {
  acceptHole,
  completeChunk,
  dueForRetry,
  emptyChunk,
  enqueueChunks,
  failChunk,
  knownHoles,
  leaseChunks,
  listChunks,
  queueStatus,
  releaseLeases,
  renewLeases,
  type QueuedChunk,
} from '../../src/catalog/backfill-catalog.js';
import { symbolStatus, upsertSymbolStatus } from '../../src/catalog/symbol-status.js';
import type { Sql } from '../../src/catalog/catalog.js';
import type { Context } from '../../src/context.js';
import { openWarehouse, testContext } from '../support/helpers.js';

/**
 * The backfill queue in the catalog: idempotent enqueueing, leases that expire, chunks done only
 * after their batch commits, known holes and their back-off. Every time is an explicit `now`;
 * each test uses targets of its own in the file's catalog.
 */
const server = Boolean(process.env.MDW_TEST_DATABASE_URL);
let warehouse: Awaited<ReturnType<typeof openWarehouse>>;
let sql: Sql;

beforeAll(async () => {
  warehouse = await openWarehouse('mdw-queue-');
  sql = warehouse.catalog.sql;
});

afterAll(async () => {
  await warehouse.close();
});

const t0 = new Date('2026-11-20T02:00:00Z');
const later = (ms: number) => new Date(t0.getTime() + ms);
const minute = 60_000;
const day = 86_400_000;

/** One chunk per symbol and window, a window given as its first and last session. */
function plan(target: string, symbols: readonly string[], windows: readonly [string, string][], sessions = 5): PlannedChunk[] {
  return symbols.flatMap((symbol) => windows.map(([from, to]) => ({ target, symbol, from, to, sessions })));
}

/** A batch row of a series of its own, in the given state: what completeChunk checks. */
async function batch(status: 'writing' | 'committed'): Promise<string> {
  const id = randomUUID();
  const name = `q-${id.slice(0, 8)}`;
  await sql`
    with d as (insert into mdw.dataset (name) values (${name}) returning id),
         s as (insert into mdw.data_source (name, adapter) values (${name}, 'file') returning id)
    insert into mdw.batch (id, dataset_id, source_id, granularity, status, created_at)
    select ${id}::uuid, d.id, s.id, '1d', ${status}::text, ${t0}::timestamptz from d, s`;
  return id;
}

const ids = (chunks: readonly QueuedChunk[]) => chunks.map((c) => c.id);

describe(`backfill queue (${server ? 'Postgres server' : 'embedded PGlite'})`, () => {
  test('enqueueing the same plan twice adds nothing the second time', async () => {
    const chunks = plan('enq', ['AAPL', 'MSFT'], [['2024-01-02', '2024-01-08'], ['2024-01-09', '2024-01-16']]);
    // A chunk listed twice in one call is one chunk.
    expect(await enqueueChunks(sql, [...chunks, chunks[0]!], t0)).toBe(4);
    expect(await enqueueChunks(sql, chunks, later(day))).toBe(0);
    expect(await enqueueChunks(sql, [...chunks, ...plan('enq', ['SPY'], [['2024-01-02', '2024-01-08']])], later(day))).toBe(1);
    const queued = await listChunks(sql, { targets: ['enq'] });
    expect(queued.map((c) => [c.symbol, c.from, c.to, c.sessions, c.status, c.attempts, c.vendor, c.leaseOwner, c.updatedAt.toISOString()])).toEqual([
      ['AAPL', '2024-01-02', '2024-01-08', 5, 'queued', 0, null, null, t0.toISOString()],
      ['AAPL', '2024-01-09', '2024-01-16', 5, 'queued', 0, null, null, t0.toISOString()],
      ['MSFT', '2024-01-02', '2024-01-08', 5, 'queued', 0, null, null, t0.toISOString()],
      ['MSFT', '2024-01-09', '2024-01-16', 5, 'queued', 0, null, null, t0.toISOString()],
      ['SPY', '2024-01-02', '2024-01-08', 5, 'queued', 0, null, null, later(day).toISOString()],
    ]);
  });

  test('chunks are leased in priority then enqueue order, and done only once their batch is committed', async () => {
    await enqueueChunks(sql, [...plan('lc-low', ['AAPL'], [['2024-02-01', '2024-02-07']]).map((c) => ({ ...c, priority: 5 }))], t0);
    await enqueueChunks(sql, plan('lc-high', ['MSFT', 'AAPL'], [['2024-02-01', '2024-02-07']]).map((c) => ({ ...c, priority: 1 })), t0);
    const targets = ['lc-low', 'lc-high'];
    const first = await leaseChunks(sql, { targets, owner: 'run-a', limit: 2, leaseMs: 10 * minute, now: t0 });
    expect(first.map((c) => [c.target, c.symbol, c.status, c.leaseOwner, c.leaseExpiresAt?.toISOString()])).toEqual([
      ['lc-high', 'MSFT', 'leased', 'run-a', later(10 * minute).toISOString()],
      ['lc-high', 'AAPL', 'leased', 'run-a', later(10 * minute).toISOString()],
    ]);
    const second = await leaseChunks(sql, { targets, owner: 'run-a', limit: 2, leaseMs: 10 * minute, now: t0 });
    expect(second.map((c) => [c.target, c.symbol])).toEqual([['lc-low', 'AAPL']]);
    expect(await leaseChunks(sql, { targets, owner: 'run-a', limit: 2, leaseMs: 10 * minute, now: t0 })).toEqual([]);

    const chunk = first[0]!;
    const writing = await batch('writing');
    // The batch's files are not in place yet: the watermark may not run ahead of them.
    await expect(completeChunk(sql, chunk.id, { owner: 'run-a', batchId: writing, vendor: 'polygon', now: later(minute) })).rejects.toThrow(
      `backfill chunk ${chunk.id} cannot be done: batch ${writing} is writing, not committed`,
    );
    await expect(completeChunk(sql, chunk.id, { owner: 'run-a', batchId: randomUUID(), vendor: 'polygon', now: later(minute) })).rejects.toThrow(/is not in the catalog, not committed/);
    expect((await listChunks(sql, { targets: ['lc-high'] })).map((c) => c.status)).toEqual(['leased', 'leased']);

    // Committed in the caller's transaction, then done in the same one.
    const done = await sql.begin(async (tx) => {
      await tx`update mdw.batch set status = 'committed', committed_at = ${later(minute)} where id = ${writing}`;
      return completeChunk(tx, chunk.id, { owner: 'run-a', batchId: writing, vendor: 'polygon', now: later(2 * minute) });
    });
    expect(done).toBe(true);
    // Another owner, or a second completion, changes nothing.
    const committed = await batch('committed');
    expect(await completeChunk(sql, first[1]!.id, { owner: 'run-b', batchId: committed, vendor: 'alpaca', now: later(2 * minute) })).toBe(false);
    expect(await completeChunk(sql, chunk.id, { owner: 'run-a', batchId: committed, vendor: 'alpaca', now: later(3 * minute) })).toBe(false);
    const after = await listChunks(sql, { targets: ['lc-high'] });
    expect(after.map((c) => [c.symbol, c.status, c.vendor, c.batchId, c.leaseOwner, c.leaseExpiresAt, c.updatedAt.toISOString()])).toEqual([
      ['MSFT', 'done', 'polygon', writing, null, null, later(2 * minute).toISOString()],
      ['AAPL', 'leased', null, null, 'run-a', later(10 * minute), t0.toISOString()],
    ]);
  });

  test('an expired lease (a killed run) is leased again by another owner; the first owner can no longer finish it', async () => {
    await enqueueChunks(sql, plan('exp', ['AAPL'], [['2024-03-01', '2024-03-07']]), t0);
    const [a] = await leaseChunks(sql, { targets: ['exp'], owner: 'killed', limit: 10, leaseMs: minute, now: t0 });
    expect(a?.leaseOwner).toBe('killed');
    expect(await leaseChunks(sql, { targets: ['exp'], owner: 'next', limit: 10, leaseMs: minute, now: later(minute - 1) })).toEqual([]);
    expect((await queueStatus(sql, ['exp'], later(minute - 1)))[0]!.expiredLeases).toBe(0);
    expect((await queueStatus(sql, ['exp'], later(minute)))[0]!.expiredLeases).toBe(1);
    const [b] = await leaseChunks(sql, { targets: ['exp'], owner: 'next', limit: 10, leaseMs: minute, now: later(minute) });
    expect([b?.id, b?.leaseOwner, b?.leaseExpiresAt?.toISOString()]).toEqual([a!.id, 'next', later(2 * minute).toISOString()]);
    const committed = await batch('committed');
    expect(await completeChunk(sql, a!.id, { owner: 'killed', batchId: committed, vendor: 'polygon', now: later(minute) })).toBe(false);
    expect(await failChunk(sql, a!.id, { owner: 'killed', error: 'late', now: later(minute), maxAttempts: 3 })).toBeNull();
    expect(await emptyChunk(sql, a!.id, { owner: 'killed', vendor: 'polygon', now: later(minute) })).toBeNull();
    expect(await completeChunk(sql, a!.id, { owner: 'next', batchId: committed, vendor: 'polygon', now: later(minute) })).toBe(true);
    expect((await listChunks(sql, { targets: ['exp'] })).map((c) => [c.status, c.attempts, c.lastError])).toEqual([['done', 0, null]]);
  });

  test('a run renews its leases while it works; another run takes them only once they expire', async () => {
    await enqueueChunks(sql, plan('renew', ['AAPL', 'MSFT'], [['2024-03-11', '2024-03-15']]), t0);
    const mine = await leaseChunks(sql, { targets: ['renew'], owner: 'slow', limit: 10, leaseMs: minute, now: t0 });
    expect(mine).toHaveLength(2);
    expect(await renewLeases(sql, 'slow', { leaseMs: minute, now: later(50_000) })).toBe(2);
    expect(await leaseChunks(sql, { targets: ['renew'], owner: 'other', limit: 10, leaseMs: minute, now: later(minute) })).toEqual([]);
    expect((await listChunks(sql, { targets: ['renew'] })).map((c) => [c.leaseOwner, c.leaseExpiresAt])).toEqual([['slow', later(110_000)], ['slow', later(110_000)]]);
    expect(ids(await leaseChunks(sql, { targets: ['renew'], owner: 'other', limit: 10, leaseMs: minute, now: later(110_000) }))).toEqual(ids(mine));
    // Taken over: a late heartbeat does not take them back.
    expect(await renewLeases(sql, 'slow', { leaseMs: minute, now: later(111_000) })).toBe(0);
    expect((await listChunks(sql, { targets: ['renew'] })).map((c) => c.leaseOwner)).toEqual(['other', 'other']);
  });

  test('leasers running together never get the same chunk, and together get all of them', async () => {
    const chunks = plan('race', Array.from({ length: 40 }, (_, i) => `S${String(i).padStart(2, '0')}`), [['2024-04-01', '2024-04-05'], ['2024-04-08', '2024-04-12'], ['2024-04-15', '2024-04-19'], ['2024-04-22', '2024-04-26'], ['2024-04-29', '2024-05-03']]);
    expect(await enqueueChunks(sql, chunks, t0)).toBe(200);
    // On a server, a second context is a second client (each a pool of connections): as two processes would be.
    let other: Context | undefined;
    const clients: Sql[] = [sql];
    if (server) {
      other = testContext({ home: path.join(warehouse.root, 'home-2'), databaseUrl: warehouse.ctx.settings.databaseUrl, configDir: warehouse.configs });
      clients.push((await other.catalog()).sql);
    }
    try {
      const worker = async (client: Sql, owner: string): Promise<number[]> => {
        const got: number[] = [];
        for (;;) {
          const leased = await leaseChunks(client, { targets: ['race'], owner, limit: 3, leaseMs: 10 * minute, now: t0 });
          if (leased.length === 0) return got;
          expect(leased.every((c) => c.leaseOwner === owner)).toBe(true);
          got.push(...ids(leased));
        }
      };
      const results = await Promise.all(clients.flatMap((client, i) => [0, 1, 2, 3].map((w) => worker(client, `client-${i}-worker-${w}`))));
      const all = results.flat().sort((x, y) => x - y);
      expect(all.length).toBe(200);
      expect(new Set(all).size).toBe(200);
      expect(all).toEqual(ids(await listChunks(sql, { targets: ['race'] })).sort((x, y) => x - y));
      // Each chunk's owner in the catalog is the worker that got it.
      const owners = new Map(results.flatMap((got, w) => got.map((id) => [id, w] as const)));
      const stored = await listChunks(sql, { targets: ['race'] });
      expect(stored.every((c) => c.status === 'leased' && c.leaseOwner === `client-${Math.floor(owners.get(c.id)! / 4)}-worker-${owners.get(c.id)! % 4}`)).toBe(true);
    } finally {
      await other?.close();
    }
  });

  test('a "no data" answer makes the chunk empty and its window a vendor_empty hole, asked again after 7 days, then 30', async () => {
    await enqueueChunks(sql, plan('empty', ['HALT'], [['2024-05-06', '2024-05-08']], 3), t0);
    const [c] = await leaseChunks(sql, { targets: ['empty'], owner: 'r1', limit: 1, leaseMs: minute, now: t0 });
    expect(await emptyChunk(sql, c!.id, { owner: 'r1', vendor: 'polygon', now: t0 })).toEqual({ retryAfter: later(7 * day) });
    expect((await listChunks(sql, { targets: ['empty'] })).map((x) => [x.status, x.vendor, x.leaseOwner])).toEqual([['empty', 'polygon', null]]);
    expect(await knownHoles(sql, ['empty'])).toEqual([
      { target: 'empty', symbol: 'HALT', from: '2024-05-06', to: '2024-05-08', kind: 'vendor_empty', vendor: 'polygon', askedAt: t0, asks: 1, retryAfter: later(7 * day), reason: null, acceptedAt: null },
    ]);
    // Not asked again the next night, nor until the back-off has passed.
    expect(await dueForRetry(sql, later(day), ['empty'])).toBe(0);
    expect(await dueForRetry(sql, later(7 * day - 1), ['empty'])).toBe(0);
    expect(await leaseChunks(sql, { targets: ['empty'], owner: 'r2', limit: 1, leaseMs: minute, now: later(7 * day - 1) })).toEqual([]);
    expect(await dueForRetry(sql, later(7 * day), ['empty'])).toBe(1);
    expect(await dueForRetry(sql, later(7 * day), ['empty'])).toBe(0);
    const [again] = await leaseChunks(sql, { targets: ['empty'], owner: 'r2', limit: 1, leaseMs: minute, now: later(7 * day) });
    expect(again?.id).toBe(c!.id);
    // Empty a second time, from another vendor: 30 days now.
    expect(await emptyChunk(sql, c!.id, { owner: 'r2', vendor: 'alpaca', now: later(7 * day) })).toEqual({ retryAfter: later(37 * day) });
    expect((await knownHoles(sql, ['empty'])).map((h) => [h.vendor, h.askedAt, h.asks, h.retryAfter])).toEqual([['alpaca', later(7 * day), 2, later(37 * day)]]);
    expect(await dueForRetry(sql, later(37 * day - 1), ['empty'])).toBe(0);
    expect(await dueForRetry(sql, later(37 * day), ['empty'])).toBe(1);
    // The data came after all: the chunk is done and the hole forgotten.
    const [third] = await leaseChunks(sql, { targets: ['empty'], owner: 'r3', limit: 1, leaseMs: minute, now: later(37 * day) });
    expect(await completeChunk(sql, third!.id, { owner: 'r3', batchId: await batch('committed'), vendor: 'polygon', now: later(37 * day) })).toBe(true);
    expect(await knownHoles(sql, ['empty'])).toEqual([]);
  });

  test('a failed attempt goes back to the queue with its error and back-off; at maxAttempts the chunk is failed', async () => {
    await enqueueChunks(sql, plan('fail', ['AAPL'], [['2024-06-03', '2024-06-07']]), t0);
    const lease = (owner: string, now: Date) => leaseChunks(sql, { targets: ['fail'], owner, limit: 1, leaseMs: minute, now });
    const [c] = await lease('f1', t0);
    expect(await failChunk(sql, c!.id, { owner: 'f1', error: 'HTTP 503 from polygon', now: t0, maxAttempts: 3, retryAfterMs: 5 * minute, vendor: 'polygon' })).toEqual({ status: 'queued', attempts: 1 });
    expect((await listChunks(sql, { targets: ['fail'] })).map((x) => [x.status, x.attempts, x.lastError, x.vendor, x.nextAttemptAt, x.leaseOwner])).toEqual([
      ['queued', 1, 'HTTP 503 from polygon', 'polygon', later(5 * minute), null],
    ]);
    expect(await lease('f2', later(5 * minute - 1))).toEqual([]);
    expect(ids(await lease('f2', later(5 * minute)))).toEqual([c!.id]);
    // An error with a NUL (a binary body quoted) is stored, not refused.
    expect(await failChunk(sql, c!.id, { owner: 'f2', error: 'bad body \u0000', now: later(5 * minute), maxAttempts: 3 })).toEqual({ status: 'queued', attempts: 2 });
    expect(ids(await lease('f3', later(5 * minute)))).toEqual([c!.id]);
    expect(await failChunk(sql, c!.id, { owner: 'f3', error: 'HTTP 500 from alpaca', now: later(6 * minute), maxAttempts: 3, vendor: 'alpaca' })).toEqual({ status: 'failed', attempts: 3 });
    expect(await lease('f4', later(day))).toEqual([]);
    const [status] = await queueStatus(sql, ['fail'], later(day));
    expect(status).toEqual({
      target: 'fail',
      counts: { queued: 0, leased: 0, done: 0, empty: 0, failed: 1 },
      expiredLeases: 0,
      oldestFailure: { id: c!.id, symbol: 'AAPL', from: '2024-06-03', to: '2024-06-07', attempts: 3, error: 'HTTP 500 from alpaca', failedAt: later(6 * minute) },
    });
  });

  test('an accepted hole is listed, stays accepted when a vendor answers "no data" again, and is not asked again', async () => {
    await acceptHole(sql, { target: 'acc', symbol: 'XYZ', from: '2024-07-01', to: '2024-07-03', reason: 'exchange halt', now: t0 });
    await enqueueChunks(sql, plan('acc', ['ABC'], [['2024-07-08', '2024-07-10']], 3), t0);
    const [c] = await leaseChunks(sql, { targets: ['acc'], owner: 'a1', limit: 1, leaseMs: minute, now: t0 });
    await emptyChunk(sql, c!.id, { owner: 'a1', vendor: 'finnhub', now: t0, backoffDays: { first: 2, later: 4 } });
    expect((await knownHoles(sql, ['acc'])).map((h) => [h.symbol, h.kind, h.vendor, h.retryAfter, h.reason])).toEqual([
      ['ABC', 'vendor_empty', 'finnhub', later(2 * day), null],
      ['XYZ', 'accepted', null, null, 'exchange halt'],
    ]);
    // The operator accepts the vendor_empty hole too: it is no longer asked again.
    await acceptHole(sql, { target: 'acc', symbol: 'ABC', from: '2024-07-08', to: '2024-07-10', reason: 'listed 2024-07-11', now: later(day) });
    expect(await dueForRetry(sql, later(30 * day), ['acc'])).toBe(0);
    expect(await knownHoles(sql, ['acc'])).toEqual([
      { target: 'acc', symbol: 'ABC', from: '2024-07-08', to: '2024-07-10', kind: 'accepted', vendor: 'finnhub', askedAt: t0, asks: 1, retryAfter: later(2 * day), reason: 'listed 2024-07-11', acceptedAt: later(day) },
      { target: 'acc', symbol: 'XYZ', from: '2024-07-01', to: '2024-07-03', kind: 'accepted', vendor: null, askedAt: null, asks: 0, retryAfter: null, reason: 'exchange halt', acceptedAt: t0 },
    ]);
    // A chunk of an accepted window answered "no data" again leaves the hole accepted.
    await enqueueChunks(sql, plan('acc', ['XYZ'], [['2024-07-01', '2024-07-03']], 3), later(day));
    const [x] = await leaseChunks(sql, { targets: ['acc'], owner: 'a2', limit: 1, leaseMs: minute, now: later(day) });
    expect(await emptyChunk(sql, x!.id, { owner: 'a2', vendor: 'polygon', now: later(day) })).toEqual({ retryAfter: null });
    expect((await knownHoles(sql, ['acc'])).map((h) => [h.symbol, h.kind, h.vendor])).toEqual([['ABC', 'accepted', 'finnhub'], ['XYZ', 'accepted', null]]);
    expect((await knownHoles(sql)).filter((h) => h.target === 'acc')).toHaveLength(2);
  });

  test('queueStatus counts chunks by status per target; releaseLeases gives back a clean stop\'s chunks', async () => {
    await enqueueChunks(sql, plan('st-a', ['A', 'B', 'C', 'D', 'E', 'F'], [['2024-08-01', '2024-08-07']]), t0);
    await enqueueChunks(sql, plan('st-b', ['A', 'B'], [['2024-08-01', '2024-08-07']]), t0);
    const leased = await leaseChunks(sql, { targets: ['st-a'], owner: 's1', limit: 5, leaseMs: minute, now: t0 });
    expect(leased.map((c) => c.symbol)).toEqual(['A', 'B', 'C', 'D', 'E']);
    expect(await completeChunk(sql, leased[0]!.id, { owner: 's1', batchId: await batch('committed'), vendor: 'polygon', now: t0 })).toBe(true);
    await emptyChunk(sql, leased[1]!.id, { owner: 's1', vendor: 'polygon', now: t0 });
    await failChunk(sql, leased[2]!.id, { owner: 's1', error: 'HTTP 400', now: t0, maxAttempts: 1 });
    // Symbols limit a lease (`--symbols`).
    expect((await leaseChunks(sql, { targets: ['st-b'], symbols: ['B'], owner: 's2', limit: 5, leaseMs: minute, now: t0 })).map((c) => [c.target, c.symbol])).toEqual([['st-b', 'B']]);
    const zero = { queued: 0, leased: 0, done: 0, empty: 0, failed: 0 };
    const status = await queueStatus(sql, ['st-a', 'st-b'], t0);
    expect(status.map((s) => [s.target, s.counts, s.oldestFailure?.error ?? null])).toEqual([
      ['st-a', { ...zero, queued: 1, leased: 2, done: 1, empty: 1, failed: 1 }, 'HTTP 400'],
      ['st-b', { ...zero, queued: 1, leased: 1 }, null],
    ]);
    expect((await queueStatus(sql, undefined, t0)).map((s) => s.target)).toEqual(expect.arrayContaining(['st-a', 'st-b', 'enq', 'fail']));
    expect(await releaseLeases(sql, 's1', later(minute))).toBe(2);
    expect(await releaseLeases(sql, 's1', later(minute))).toBe(0);
    expect((await queueStatus(sql, ['st-a'], t0))[0]!.counts).toEqual({ ...zero, queued: 3, done: 1, empty: 1, failed: 1 });
    expect((await listChunks(sql, { targets: ['st-a'], statuses: ['queued'] })).map((c) => [c.symbol, c.leaseOwner, c.attempts])).toEqual([['D', null, 0], ['E', null, 0], ['F', null, 0]]);
  });

  test('symbol status: a field left out keeps its value, and the latest bar only moves forward', async () => {
    const key = { dataset: 'ohlcv', source: 'polygon', granularity: '1d' } as const;
    await upsertSymbolStatus(sql, [
      { ...key, symbol: 'AAPL', latestTs: new Date('2026-11-19T21:00:00Z'), lastScore: 0.98, freshnessSessions: 0, updatedAt: t0 },
      { ...key, symbol: 'MSFT', latestTs: new Date('2026-11-18T21:00:00Z'), freshnessSessions: 1, updatedAt: t0 },
      // Two rows for one symbol in one call are merged.
      { ...key, symbol: 'MSFT', lastScore: 0.9, updatedAt: t0 },
      { ...key, source: 'alpaca', symbol: 'AAPL', latestTs: new Date('2026-11-19T21:00:00Z'), updatedAt: t0 },
    ]);
    // A backfill of 2010 records its outcome; the latest bar stays where it was.
    await upsertSymbolStatus(sql, [{ ...key, symbol: 'AAPL', latestTs: new Date('2010-12-31T21:00:00Z'), lastBackfillAt: later(day), lastBackfillOutcome: 'done', updatedAt: later(day) }]);
    const rows = await symbolStatus(sql, { dataset: 'ohlcv', source: 'polygon' });
    expect(rows).toEqual([
      { ...key, symbol: 'AAPL', latestTs: new Date('2026-11-19T21:00:00Z'), lastBackfillAt: later(day), lastBackfillOutcome: 'done', lastScore: 0.98, freshnessSessions: 0, updatedAt: later(day) },
      { ...key, symbol: 'MSFT', latestTs: new Date('2026-11-18T21:00:00Z'), lastBackfillAt: null, lastBackfillOutcome: null, lastScore: 0.9, freshnessSessions: 1, updatedAt: t0 },
    ]);
    expect((await symbolStatus(sql, { symbols: ['AAPL'] })).map((r) => r.source)).toEqual(['alpaca', 'polygon']);
    await expect(upsertSymbolStatus(sql, [{ ...key, symbol: 'AAPL', freshnessSessions: -1, updatedAt: t0 }])).rejects.toThrow(/check/i);
  });
});
