import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Catalog } from '../../src/catalog/catalog.js';
import { calendars } from '../../src/calendar/registry.js';
import { auditSeries } from '../../src/audit/run-audit.js';
import { loadJob, type Job } from '../../src/config/jobs.js';
import { loadRetentionConfig, type RetentionConfig } from '../../src/config/retention.js';
import type { Context } from '../../src/context.js';
import { DuckSession } from '../../src/lake/duckdb.js';
import { currentFilesUnder } from '../../src/lake/partition-files.js';
import { runIngest, type IngestOptions } from '../../src/pipeline/run-ingest.js';
import { runRetention, type RetentionOptions } from '../../src/retention/run-retention.js';
import { copyConfigs, freshCatalog, removeDir, runMdw, tempDir, testContext } from '../support/helpers.js';

/**
 * mdw retention on three months of one-minute bars of two symbols (XNYS sessions of January to
 * March 2024, every minute of each): a policy of 30 sessions at 2024-04-01 retires January
 * whole, rewrites February without the sessions before the cut, and keeps March as it is.
 * Counts are checked against DuckDB's own count of the files by date.
 */
const all: IngestOptions = { window: { from: null, toExclusive: null }, symbols: null, dryRun: false, runId: null };
const now = '2024-04-01T12:00:00Z';
const sessions = calendars.XNYS.sessions('2024-01-01', '2024-03-31');
const firstKept = sessions[sessions.length - 30]!.date;
const symbols = ['ACME', 'GLOBEX'];

let root: string;
let configs: string;
let ctx: Context;
let catalog: Catalog;
let url: string | undefined;
let drop: () => Promise<void>;
let duck: DuckSession;

const at = (iso: string) => testContext({ home: ctx.settings.home, databaseUrl: url, configDir: configs, now: iso });

async function reopen(iso = now): Promise<void> {
  await ctx.close();
  ctx = at(iso);
  catalog = await ctx.catalog();
}

const mdw = async (...args: string[]) => {
  // The CLI opens the catalog itself: this process lets go of the embedded one, and opens it again after.
  await ctx.close();
  const r = await runMdw(['--home', ctx.settings.home, '--config-dir', configs, ...args], { env: url ? { MDW_DATABASE_URL: url } : {} });
  ctx = at(now);
  catalog = await ctx.catalog();
  return r;
};

/** Every minute of every session of Jan-Mar 2024 for the symbols, in the custom-minute layout, as a job loading it. */
function writeMinuteJob(name: string): Job {
  const dir = path.join(root, 'data', name);
  mkdirSync(dir, { recursive: true });
  const lines = ['ticker;day;time;o;h;l;c;qty'];
  for (const sym of symbols) {
    sessions.forEach((s, d) => {
      for (let i = 0; i < 390; i++) {
        const minutes = 9 * 60 + 30 + i;
        const time = `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
        const o = 10000 + d * 10 + (i % 13);
        const c = o + ((i % 3) - 1);
        lines.push(`${sym.toLowerCase()};${s.date.replaceAll('-', '/')};${time};${o};${Math.max(o, c) + 2};${Math.min(o, c) - 2};${c};${1000 + ((i * 7 + d) % 50)}`);
      }
    });
  }
  writeFileSync(path.join(dir, 'minutes.csv'), lines.join('\n') + '\n');
  writeFileSync(
    path.join(configs, 'jobs', `${name}.yml`),
    `dataset: ohlcv\ngranularity: 1m\ncalendar: XNYS\nsource: { name: ${name}, adapter: file, files: ['${dir}/minutes.csv'] }\ntransform: custom-minute\n`,
  );
  return loadJob(configs, name, ctx.env);
}

function policies(name: string, yaml: string): RetentionConfig {
  const file = path.join(root, `${name}.yml`);
  writeFileSync(file, yaml);
  return loadRetentionConfig(file, ctx.env, { required: true });
}

const options = (o: Partial<RetentionOptions> = {}): RetentionOptions => ({ dryRun: false, compact: false, purgeAfterMs: 7 * 86_400_000, runId: null, ...o });

/** Rows per (symbol, New York date) of the series' current files, as DuckDB counts them. */
async function countsByDate(source: string): Promise<Record<string, number>> {
  const files = currentFilesUnder(path.join(ctx.paths.lake, 'ohlcv', `source=${source}`));
  if (files.length === 0) return {};
  const rows = await duck.all<{ k: string; n: number }>(
    `SELECT symbol || ' ' || strftime(timezone('America/New_York', ts::TIMESTAMPTZ), '%Y-%m-%d') AS k, count(*) AS n ` +
      `FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}], hive_partitioning = false) GROUP BY ALL ORDER BY ALL`,
  );
  return Object.fromEntries(rows.map((r) => [r.k, Number(r.n)]));
}

/** sha256 of every file under a folder (all versions, temporary files too), by path. */
function fileHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

async function manifestRows(source: string): Promise<Record<string, unknown>[]> {
  return catalog.sql`
    select m.uri, m.rows, m.bytes, m.sha256, m.first_ts, m.last_ts, m.batch_id from mdw.partition_manifest m
    join mdw.data_source s on s.id = m.source_id where s.name = ${source} order by m.uri`;
}

async function catalogState(): Promise<unknown> {
  return {
    manifest: await catalog.sql`select uri, rows, bytes, sha256, first_ts, last_ts, batch_id from mdw.partition_manifest order by uri`,
    retired: await catalog.sql`select uri, state from mdw.retired_partition order by uri`,
    ranges: await catalog.sql`select symbol, retired_before from mdw.retired_range order by symbol`,
    batches: await catalog.sql`select id, status from mdw.batch order by id`,
  };
}

const sum = (counts: Record<string, number>, keep: (symbol: string, date: string) => boolean) =>
  Object.entries(counts).reduce((n, [k, v]) => {
    const [symbol, date] = k.split(' ') as [string, string];
    return keep(symbol, date) ? n + v : n;
  }, 0);

beforeAll(async () => {
  root = tempDir('mdw-retention-');
  configs = copyConfigs(root);
  ({ url, drop } = await freshCatalog());
  ctx = testContext({ home: path.join(root, 'home'), databaseUrl: url, configDir: configs, now });
  // The lake exists before the catalog binds it (and writes its id there).
  mkdirSync(ctx.paths.lake, { recursive: true });
  catalog = await ctx.catalog();
  duck = await DuckSession.open({ threads: 1 });
});

afterAll(async () => {
  duck.close();
  await ctx.close();
  await drop();
  removeDir(root);
});

describe('a policy of 30 sessions (delete)', () => {
  let job: Job;
  let before: Record<string, number>;
  const config = () => policies('sessions-30', `policies:\n  - name: minutes-30\n    dataset: ohlcv\n    source: ret-minute\n    keep: { sessions: 30 }\n    then: delete\n`);

  beforeAll(async () => {
    job = writeMinuteJob('ret-minute');
    await runIngest(ctx, job, all);
    before = await countsByDate('ret-minute');
  });

  test('the fixture: 390 bars in each of the 61 sessions of each symbol, a partition per symbol and month', async () => {
    expect(sessions.length).toBe(61);
    expect(firstKept).toBe('2024-02-15');
    expect(Object.keys(before)).toHaveLength(122);
    expect(Object.values(before).every((n) => n === 390)).toBe(true);
    expect((await manifestRows('ret-minute')).map((m) => (m.uri as string).split('/').slice(3, 5).join('/'))).toEqual([
      'symbol=ACME/month=2024-01',
      'symbol=ACME/month=2024-02',
      'symbol=ACME/month=2024-03',
      'symbol=GLOBEX/month=2024-01',
      'symbol=GLOBEX/month=2024-02',
      'symbol=GLOBEX/month=2024-03',
    ]);
  });

  test('--dry-run prints the plan and changes no file and no catalog row', async () => {
    const files = fileHashes(ctx.paths.lake);
    const state = await catalogState();
    const report = await runRetention(ctx, config(), options({ dryRun: true }));
    const january = sum(before, (_s, d) => d < '2024-02-01');
    const februaryOld = sum(before, (_s, d) => d >= '2024-02-01' && d < firstKept);
    expect(report.lines.map((l) => [l.policy, l.action, l.partitions, l.rows])).toEqual([
      ['minutes-30', 'delete', 2, january],
      ['minutes-30', 'rewrite', 2, februaryOld],
    ]);
    expect(january).toBe(2 * 21 * 390);
    expect(februaryOld).toBe(2 * 10 * 390);
    // The cut: the 2024-02-15 session's day begins at midnight in New York.
    expect(report.lines[0]!.cut).toBe('2024-02-15T05:00:00Z');
    expect(fileHashes(ctx.paths.lake)).toEqual(files);
    expect(existsSync(ctx.paths.trash)).toBe(false);
    expect(await catalogState()).toEqual(state);
  });

  test('the CLI --dry-run prints the plan table and changes nothing either', async () => {
    const files = fileHashes(ctx.paths.lake);
    const state = await catalogState();
    const file = path.join(root, 'sessions-30.yml');
    const r = await mdw('retention', '--dry-run', '--config', file, '--format', 'csv');
    expect(r.stderr).toContain('dry run, nothing changed');
    expect(r.code).toBe(0);
    // The CLI's clock is today's: every partition is older than the last 30 sessions.
    const [header, ...lines] = r.stdout.trim().split('\n');
    expect(header).toBe('policy,dataset,source,granularity,action,cut,partitions,rows,bytes');
    expect(lines.map((l) => l.split(',').slice(0, 5).concat(l.split(',').slice(6, 8)))).toEqual([['minutes-30', 'ohlcv', 'ret-minute', '1m', 'delete', '6', String(61 * 2 * 390)]]);
    expect(fileHashes(ctx.paths.lake)).toEqual(files);
    expect(await catalogState()).toEqual(state);
  });

  test('applied: the older partitions leave for the trash, the straddling one keeps exactly its newer rows, the audit is clean', async () => {
    const tombstonedHashes = (await manifestRows('ret-minute')).filter((m) => (m.uri as string).includes('month=2024-01')).map((m) => m.sha256);
    const report = await runRetention(ctx, config(), options());
    expect(report.lines.map((l) => [l.action, l.partitions, l.rows])).toEqual([
      ['delete', 2, 2 * 21 * 390],
      ['rewrite', 2, 2 * 10 * 390],
    ]);
    const after = await countsByDate('ret-minute');
    // Exactly the sessions before the cut are gone; every kept session has all its rows.
    expect(after).toEqual(Object.fromEntries(Object.entries(before).filter(([k]) => k.split(' ')[1]! >= firstKept)));
    expect(sum(after, () => true)).toBe(2 * 30 * 390);

    const manifest = await manifestRows('ret-minute');
    expect(manifest.map((m) => [(m.uri as string).split('/').slice(3).join('/'), m.rows])).toEqual([
      ['symbol=ACME/month=2024-02/data-000002.parquet', 10 * 390],
      ['symbol=ACME/month=2024-03/data-000001.parquet', 20 * 390],
      ['symbol=GLOBEX/month=2024-02/data-000002.parquet', 10 * 390],
      ['symbol=GLOBEX/month=2024-03/data-000001.parquet', 20 * 390],
    ]);
    // The tombstones: the partitions' rows, hashes and where their files wait.
    const retired = await catalog.sql<{ uri: string; state: string; rows: number; sha256: string; kept_uri: string; lake_cleared: boolean; policy: string }[]>`
      select uri, state, rows, sha256, kept_uri, lake_cleared, policy from mdw.retired_partition order by uri`;
    // January whole, and February's rows before the cut as a file of their own.
    expect(retired.map((r) => [r.uri.split('/').slice(3, 5).join('/'), r.state, r.rows, r.policy, r.lake_cleared])).toEqual([
      ['symbol=ACME/month=2024-01', 'trash', 21 * 390, 'minutes-30', true],
      ['symbol=ACME/month=2024-02', 'trash', 10 * 390, 'minutes-30', true],
      ['symbol=GLOBEX/month=2024-01', 'trash', 21 * 390, 'minutes-30', true],
      ['symbol=GLOBEX/month=2024-02', 'trash', 10 * 390, 'minutes-30', true],
    ]);
    expect(retired.filter((r) => r.uri.includes('month=2024-01')).map((r) => r.sha256)).toEqual(tombstonedHashes);
    for (const r of retired) {
      expect(r.kept_uri.startsWith('trash/')).toBe(true);
      expect(createHash('sha256').update(readFileSync(path.join(ctx.settings.home, r.kept_uri))).digest('hex')).toBe(r.sha256);
      if (r.uri.includes('month=2024-01')) expect(existsSync(path.join(ctx.paths.lake, r.uri))).toBe(false);
    }
    // Nothing is lost: the trash holds exactly the rows that left the lake.
    const trashed = await duck.all<{ k: string; n: number }>(
      `SELECT symbol || ' ' || strftime(timezone('America/New_York', ts::TIMESTAMPTZ), '%Y-%m-%d') AS k, count(*) AS n ` +
        `FROM read_parquet([${retired.map((r) => `'${path.join(ctx.settings.home, r.kept_uri)}'`).join(', ')}], hive_partitioning = false) GROUP BY ALL ORDER BY ALL`,
    );
    expect(Object.fromEntries(trashed.map((r) => [r.k, Number(r.n)]))).toEqual(Object.fromEntries(Object.entries(before).filter(([k]) => k.split(' ')[1]! < firstKept)));
    // The rewrite kept its rows' batch (their lineage), and is a batch of its own with a lineage row.
    const [batches] = await duck.all<{ n: number }>(
      `SELECT count(DISTINCT batch_id) AS n FROM read_parquet('${path.join(ctx.paths.lake, manifest[0]!.uri as string)}')`,
    );
    expect(Number(batches!.n)).toBe(1);
    const lineage = await catalog.sql<{ records_in: number; records_out: number; filtered: number }[]>`
      select l.records_in, l.records_out, l.filtered from mdw.lineage_item l join mdw.batch b on b.id = l.batch_id
      where l.config_key = 'retention:minutes-30' and b.status = 'committed' order by l.raw_uri`;
    expect(lineage).toEqual([
      { records_in: 20 * 390, records_out: 10 * 390, filtered: 10 * 390 },
      { records_in: 20 * 390, records_out: 10 * 390, filtered: 10 * 390 },
    ]);
    const ranges = await catalog.sql`select symbol, to_char(first_kept, 'YYYY-MM-DD') as first_kept from mdw.retired_range order by symbol`;
    expect(ranges).toEqual(symbols.map((symbol) => ({ symbol, first_kept: firstKept })));

    // The ledger expects no session before the cut, and nothing is an orphan or missing.
    const audit = (await auditSeries(ctx, job, { tolerance: 0.005 }))!;
    expect(audit.integrity).toEqual([]);
    expect(audit.ledger).toEqual(
      symbols.map((symbol) => ({ symbol, firstSession: firstKept, lastSession: '2024-03-28', status: 'GREEN', sessions: 30, expectedBars: 30 * 390, presentBars: 30 * 390, quarantined: 0 })),
    );
    const cli = await mdw('audit', 'ret-minute', '--fail-on', 'integrity,red', '--section', 'integrity', '--format', 'csv');
    expect(cli.code).toBe(0);
    expect(cli.stdout.trim().split('\n')).toHaveLength(1);
  });

  test('a second run at the same time changes nothing', async () => {
    const files = fileHashes(ctx.paths.lake);
    const report = await runRetention(ctx, config(), options());
    expect(report.lines).toEqual([]);
    expect(fileHashes(ctx.paths.lake)).toEqual(files);
  });

  test('trash stays until --purge-after, then is removed for good; the tombstones say purged', async () => {
    const none = policies('none', 'policies: []\n');
    await reopen('2024-04-05T12:00:00Z');
    const early = await runRetention(ctx, none, options());
    expect(early.lines).toEqual([]);
    const kept = await catalog.sql<{ kept_uri: string }[]>`select kept_uri from mdw.retired_partition where state = 'trash'`;
    expect(kept.every((k) => existsSync(path.join(ctx.settings.home, k.kept_uri)))).toBe(true);

    await reopen('2024-04-09T12:00:00Z');
    const late = await runRetention(ctx, none, options());
    expect(late.lines.map((l) => [l.action, l.partitions, l.rows])).toEqual([['purge', 4, 2 * 31 * 390]]);
    expect(kept.some((k) => existsSync(path.join(ctx.settings.home, k.kept_uri)))).toBe(false);
    expect(readdirSync(ctx.paths.trash)).toEqual([]);
    const states = await catalog.sql`select state, purged_at is not null as purged from mdw.retired_partition order by uri`;
    expect(states).toEqual(Array.from({ length: 4 }, () => ({ state: 'purged', purged: true })));
    await reopen();
  });
});

describe('archive', () => {
  test('archived partitions stay in the catalog as archived, their files in archive/, and queries no longer return their rows', async () => {
    const job = writeMinuteJob('ret-archive');
    await runIngest(ctx, job, all);
    const before = await countsByDate('ret-archive');
    const config = policies('archive', `policies:\n  - name: archive-60d\n    dataset: ohlcv\n    source: ret-archive\n    granularity: 1m\n    keep: { days: 60 }\n    then: archive\n`);
    // 60 days up to 2024-04-01: from 2024-02-02 on.
    const report = await runRetention(ctx, config, options());
    expect(report.lines.map((l) => [l.action, l.partitions, l.rows])).toEqual([
      ['archive', 2, 2 * 21 * 390],
      ['rewrite', 2, 2 * 390],
    ]);
    expect(await countsByDate('ret-archive')).toEqual(Object.fromEntries(Object.entries(before).filter(([k]) => k.split(' ')[1]! >= '2024-02-02')));
    const archived = await catalog.sql<{ kept_uri: string; state: string }[]>`
      select r.kept_uri, r.state from mdw.retired_partition r join mdw.data_source s on s.id = r.source_id where s.name = 'ret-archive' order by r.uri`;
    expect(archived.map((a) => a.state)).toEqual(['archived', 'archived', 'archived', 'archived']);
    expect(archived.every((a) => a.kept_uri.startsWith('archive/') && existsSync(path.join(ctx.settings.home, a.kept_uri)))).toBe(true);

    const q = await mdw('query', 'ohlcv', 'ACME', '-g', '1m', '--source', 'ret-archive', '--from', '2024-01-01', '--to', '2024-02-29', '--format', 'csv');
    expect(q.code).toBe(0);
    const rows = q.stdout.trim().split('\n').slice(1);
    expect(rows).toHaveLength(19 * 390);
    expect(rows[0]!.split(',').slice(0, 2)).toEqual(['ACME', '2024-02-02T14:30:00Z']);

    const list = await mdw('retention', 'list', '--state', 'archived', '--format', 'csv');
    expect(list.code).toBe(0);
    const listed = list.stdout.trim().split('\n').slice(1).map((l) => l.split(','));
    expect(listed.map((l) => [l[0], l[1], l[3], l[5], l[6], l[7]])).toEqual([
      ['archived', 'archive-60d', 'ret-archive', 'ACME', '2024-01', String(21 * 390)],
      ['archived', 'archive-60d', 'ret-archive', 'ACME', '2024-02', String(390)],
      ['archived', 'archive-60d', 'ret-archive', 'GLOBEX', '2024-01', String(21 * 390)],
      ['archived', 'archive-60d', 'ret-archive', 'GLOBEX', '2024-02', String(390)],
    ]);
    // A purge never touches the archive.
    await reopen('2025-01-01T00:00:00Z');
    await runRetention(ctx, policies('none', 'policies: []\n'), options());
    expect(archived.every((a) => existsSync(path.join(ctx.settings.home, a.kept_uri)))).toBe(true);
    await reopen();
    const audit = await mdw('audit', 'ret-archive', '--fail-on', 'integrity,red', '--format', 'csv');
    expect(audit.code).toBe(0);
  });
});

describe('a run killed part way', () => {
  const config = () => policies('crash', `policies:\n  - name: crash-30\n    dataset: ohlcv\n    source: ret-crash\n    keep: { sessions: 30 }\n    then: delete\n`);
  let job: Job;
  let expected: Record<string, number>;

  beforeAll(async () => {
    job = writeMinuteJob('ret-crash');
    await runIngest(ctx, job, all);
    expected = Object.fromEntries(Object.entries(await countsByDate('ret-crash')).filter(([k]) => k.split(' ')[1]! >= firstKept));
  });

  test('before its catalog commit: the files it linked into trash/ have no tombstone and the next run removes them', async () => {
    // What a run killed after step 1 leaves: links in trash/ beside lake files the manifest still names.
    const [m] = await manifestRows('ret-crash');
    const stray = path.join(ctx.paths.trash, '2024-04-01T11-00-00-000Z-deadbeef', 'lake', m!.uri as string);
    mkdirSync(path.dirname(stray), { recursive: true });
    writeFileSync(stray, readFileSync(path.join(ctx.paths.lake, m!.uri as string)));
    const report = await runRetention(ctx, config(), options());
    expect(report.lines.map((l) => [l.action, l.partitions])).toEqual([
      ['delete', 2],
      ['rewrite', 2],
    ]);
    expect(existsSync(stray)).toBe(false);
    expect(existsSync(path.join(ctx.paths.trash, '2024-04-01T11-00-00-000Z-deadbeef'))).toBe(false);
    expect(await countsByDate('ret-crash')).toEqual(expected);
  });

  test('after its commit: the next ingest of the series removes the retired files it left in the lake', async () => {
    // What a run killed after step 2 leaves: tombstones not cleared, their files still in the lake.
    const retired = await catalog.sql<{ id: string; uri: string; kept_uri: string }[]>`
      select r.id, r.uri, r.kept_uri from mdw.retired_partition r join mdw.data_source s on s.id = r.source_id
      where s.name = 'ret-crash' and cardinality(r.lake_uris) > 0`;
    expect(retired).toHaveLength(2);
    for (const r of retired) {
      mkdirSync(path.dirname(path.join(ctx.paths.lake, r.uri)), { recursive: true });
      writeFileSync(path.join(ctx.paths.lake, r.uri), readFileSync(path.join(ctx.settings.home, r.kept_uri)));
    }
    await catalog.sql`update mdw.retired_partition set lake_cleared = false where id = any(${retired.map((r) => r.id)}::uuid[])`;
    const orphans = (await auditSeries(ctx, job, { tolerance: 0.005 }))!.integrity.map((p) => [p.problem, p.uri]);
    expect(orphans).toEqual(retired.map((r) => ['orphan', r.uri]).sort());

    const rerun = await runIngest(ctx, job, all);
    expect(rerun.skipped).toBe(1);
    for (const r of retired) expect(existsSync(path.join(ctx.paths.lake, r.uri))).toBe(false);
    const cleared = await catalog.sql`select bool_and(lake_cleared) as ok from mdw.retired_partition where id = any(${retired.map((r) => r.id)}::uuid[])`;
    expect(cleared).toEqual([{ ok: true }]);
    expect(await countsByDate('ret-crash')).toEqual(expected);
    expect((await auditSeries(ctx, job, { tolerance: 0.005 }))!.integrity).toEqual([]);
  });
  test('after its commit: the next retention finishes it too, though its plan has nothing new', async () => {
    const retired = await catalog.sql<{ id: string; uri: string; kept_uri: string }[]>`
      select r.id, r.uri, r.kept_uri from mdw.retired_partition r join mdw.data_source s on s.id = r.source_id
      where s.name = 'ret-crash' and cardinality(r.lake_uris) > 0`;
    for (const r of retired) {
      mkdirSync(path.dirname(path.join(ctx.paths.lake, r.uri)), { recursive: true });
      writeFileSync(path.join(ctx.paths.lake, r.uri), readFileSync(path.join(ctx.settings.home, r.kept_uri)));
    }
    await catalog.sql`update mdw.retired_partition set lake_cleared = false where id = any(${retired.map((r) => r.id)}::uuid[])`;
    const report = await runRetention(ctx, config(), options());
    expect(report.lines).toEqual([]);
    for (const r of retired) expect(existsSync(path.join(ctx.paths.lake, r.uri))).toBe(false);
    expect(await countsByDate('ret-crash')).toEqual(expected);
    expect((await auditSeries(ctx, job, { tolerance: 0.005 }))!.integrity).toEqual([]);
  });
});

describe('compaction', () => {
  test('a file of fragmented row groups is rewritten whole: same rows in the same order, same query answer, the manifest in one batch', async () => {
    const [march] = (await manifestRows('ret-minute')).filter((m) => (m.uri as string).includes('symbol=ACME/month=2024-03'));
    const cur = path.join(ctx.paths.lake, march!.uri as string);
    // A version written in row groups of 2,048 rows (a vector each), put in place of the current one as a load would record it.
    const fragmented = path.join(path.dirname(cur), 'data-000002.parquet');
    await duck.run(`COPY (SELECT * FROM read_parquet('${cur}')) TO '${fragmented}' (FORMAT PARQUET, COMPRESSION ZSTD, ROW_GROUP_SIZE 2048)`);
    const groups = async (file: string) => Number((await duck.all<{ n: number }>(`SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata('${file}')`))[0]!.n);
    expect(await groups(fragmented)).toBe(4);
    const bytes = readFileSync(fragmented);
    await catalog.sql`update mdw.partition_manifest set uri = ${path.relative(ctx.paths.lake, fragmented)}, bytes = ${bytes.length},
                      sha256 = ${createHash('sha256').update(bytes).digest('hex')} where uri = ${march!.uri as string}`;
    (await import('node:fs')).rmSync(cur);
    const rowsOf = async (file: string) => JSON.stringify(await duck.all(`SELECT * FROM read_parquet('${file}')`));
    const stored = await rowsOf(fragmented);
    const query = ['query', 'ohlcv', 'ACME', '-g', '1m', '--source', 'ret-minute', '--from', '2024-03-01', '--to', '2024-03-31', '--format', 'csv', '--columns', 'ts,open,high,low,close,volume,quality,flags'];
    const answer = await mdw(...query);
    expect(answer.stdout.trim().split('\n')).toHaveLength(1 + 20 * 390);

    const none = policies('none', 'policies: []\n');
    const dry = await runRetention(ctx, none, options({ compact: true, dryRun: true }));
    expect(dry.lines.map((l) => [l.action, l.source, l.partitions, l.rows])).toEqual([['compact', 'ret-minute', 1, 20 * 390]]);
    const report = await runRetention(ctx, none, options({ compact: true }));
    expect(report.lines.map((l) => [l.action, l.source, l.partitions, l.rows])).toEqual([['compact', 'ret-minute', 1, 20 * 390]]);

    const [after] = (await manifestRows('ret-minute')).filter((m) => (m.uri as string).includes('symbol=ACME/month=2024-03'));
    expect(after!.uri).toBe((march!.uri as string).replace('data-000001', 'data-000003'));
    expect(after!.rows).toBe(20 * 390);
    const compacted = path.join(ctx.paths.lake, after!.uri as string);
    expect(await groups(compacted)).toBe(1);
    expect(await rowsOf(compacted)).toBe(stored);
    expect((await mdw(...query)).stdout).toBe(answer.stdout);
    // Nothing left to compact; the audit finds the replaced version superseded, not an orphan.
    expect((await runRetention(ctx, none, options({ compact: true }))).lines).toEqual([]);
    const audit = await mdw('audit', 'ret-minute', '--fail-on', 'integrity,red', '--format', 'csv');
    expect(audit.code).toBe(0);
  });
});

describe('the raw landing', () => {
  test('pages fetched before the cut leave by day for the trash; later days, requests and curate documents stay', async () => {
    const base = path.join(ctx.paths.lake, 'raw', 'source=ret-minute', 'dataset=ohlcv');
    const put = (rel: string, text: string) => {
      mkdirSync(path.dirname(path.join(base, rel)), { recursive: true });
      writeFileSync(path.join(base, rel), text);
    };
    put('date=2024-01-05/aaaa-0000-11111111.json.gz', 'page one');
    put('date=2024-01-05/aaaa-0001-22222222.json.gz', 'page two');
    put('date=2024-03-30/bbbb-0000-33333333.json.gz', 'page three');
    put('requests/aaaa.json', '{"pages": []}');
    put('granularity=1d/ACME.json', '[]');
    const config = policies('raw', 'policies:\n  - name: raw-30d\n    dataset: ohlcv\n    raw: true\n    keep: { days: 30 }\n    then: delete\n');

    const files = fileHashes(ctx.paths.lake);
    const dry = await runRetention(ctx, config, options({ dryRun: true }));
    expect(dry.lines.map((l) => [l.policy, l.source, l.granularity, l.action, l.partitions, l.rows, l.bytes])).toEqual([['raw-30d', 'ret-minute', 'raw', 'delete', 1, 2, 16]]);
    expect(fileHashes(ctx.paths.lake)).toEqual(files);

    const done = await runRetention(ctx, config, options());
    expect(done.lines.map((l) => [l.action, l.partitions, l.rows])).toEqual([['delete', 1, 2]]);
    expect(existsSync(path.join(base, 'date=2024-01-05'))).toBe(false);
    expect(readdirSync(base).sort()).toEqual(['date=2024-03-30', 'granularity=1d', 'requests']);
    const [tomb] = await catalog.sql<{ kept_uri: string; granularity: string; period: string; rows: number; state: string }[]>`
      select kept_uri, granularity, period, rows, state from mdw.retired_partition where granularity = 'raw'`;
    expect(tomb).toMatchObject({ granularity: 'raw', period: '2024-01-05', rows: 2, state: 'trash' });
    expect(readFileSync(path.join(ctx.settings.home, tomb!.kept_uri, 'aaaa-0001-22222222.json.gz'), 'utf8')).toBe('page two');
    // A later run leaves the kept folder alone (its files are known through it), and purges it after the window.
    expect((await runRetention(ctx, config, options())).lines).toEqual([]);
    expect(existsSync(path.join(ctx.settings.home, tomb!.kept_uri))).toBe(true);
    await reopen('2024-04-20T00:00:00Z');
    const purged = await runRetention(ctx, policies('none', 'policies: []\n'), options());
    // With the four tombstones of the ret-crash retention (2 x 31 sessions of minutes), trashed on 2024-04-01 too.
    expect(purged.lines.map((l) => [l.action, l.partitions, l.rows])).toEqual([['purge', 5, 2 * 31 * 390 + 2]]);
    expect(existsSync(path.join(ctx.settings.home, tomb!.kept_uri))).toBe(false);
    await reopen();
  });

  test('a raw policy kept in sessions is refused at its line', () => {
    expect(() => policies('raw-bad', 'policies:\n  - dataset: ohlcv\n    raw: true\n    keep: { sessions: 5 }\n    then: delete\n')).toThrow(/raw-bad\.yml:4:\d+: the raw landing is kept by the day/);
  });
});

describe('the command line', () => {
  test('a policy that says what to keep but not what to do with the rest is refused with its file and line (exit 2)', async () => {
    const file = path.join(root, 'bad.yml');
    writeFileSync(file, 'policies:\n  - dataset: ohlcv\n    keep: { days: 30 }\n');
    const r = await mdw('retention', '--config', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.yml:2:\d+: .*then/);
  });

  test('a --purge-after that is not an age is refused (exit 2); --help teaches the policies', async () => {
    const r = await mdw('retention', '--purge-after', 'soon');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('expected an age such as 7d, 12h or 2w');
    const help = await mdw('retention', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('keep: { days: N }');
    expect(help.stdout).toContain('mdw retention --dry-run');
  });

  test('the shipped configs/retention.yml deletes nothing', async () => {
    const shipped = loadRetentionConfig(path.join(configs, 'retention.yml'), ctx.env, { required: true });
    expect(shipped.policies.filter((p) => p.keep !== null)).toEqual([]);
  });
});

describe('a partition the manifest names whose file is gone', () => {
  test('is left as it is, with a warning, and the audit still reports it missing; the others are retired', async () => {
    const [march] = (await manifestRows('ret-archive')).filter((m) => (m.uri as string).includes('symbol=ACME/month=2024-03'));
    (await import('node:fs')).rmSync(path.join(ctx.paths.lake, march!.uri as string));
    const config = policies('gone', 'policies:\n  - name: gone-5d\n    dataset: ohlcv\n    source: ret-archive\n    keep: { days: 5 }\n    then: delete\n');
    const report = await runRetention(ctx, config, options());
    // February of both symbols whole; March of GLOBEX rewritten; March of ACME left.
    expect(report.lines.map((l) => [l.action, l.partitions])).toEqual([
      ['delete', 2],
      ['rewrite', 1],
    ]);
    expect((await manifestRows('ret-archive')).map((m) => (m.uri as string).split('/').slice(3).join('/'))).toEqual([
      'symbol=ACME/month=2024-03/data-000001.parquet',
      'symbol=GLOBEX/month=2024-03/data-000002.parquet',
    ]);
    const audit = (await auditSeries(ctx, loadJob(configs, 'ret-archive', ctx.env), { tolerance: 0.005 }))!;
    expect(audit.integrity.map((p) => [p.problem, p.uri])).toEqual([['missing', march!.uri]]);
  });
});
