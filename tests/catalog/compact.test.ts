import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
 * Compaction into the next grain up on one-minute bars stored by day (this test's datasets.yml
 * puts 1m bars in a partition per symbol and day): two symbols, every minute of the XNYS
 * sessions of February and March 2024 and of 2024-04-01, 390 bars each. At 2024-04-02 February
 * and March have ended and their days are merged into months; April's one day stays. Checked:
 * the same rows in the same order, the same query answer, lineage moved, a clean audit, a later
 * ingest into a merged month writing there (no duplicate, no day partition), a re-run doing
 * nothing, and the replaced day files removed after the grace period.
 */
const all: IngestOptions = { window: { from: null, toExclusive: null }, symbols: null, dryRun: false, runId: null };
const now = '2024-04-02T12:00:00Z';
const sessions = calendars.XNYS.sessions('2024-02-01', '2024-04-01');
const symbols = ['ACME', 'GLOBEX'];
const february = sessions.filter((s) => s.date.startsWith('2024-02'));
const march = sessions.filter((s) => s.date.startsWith('2024-03'));

let root: string;
let configs: string;
let ctx: Context;
let catalog: Catalog;
let url: string | undefined;
let drop: () => Promise<void>;
let duck: DuckSession;
let job: Job;
let csv: string;

const at = (iso: string) => testContext({ home: ctx.settings.home, databaseUrl: url, configDir: configs, now: iso });

async function reopen(iso: string): Promise<void> {
  await ctx.close();
  ctx = at(iso);
  catalog = await ctx.catalog();
}

const mdw = async (...args: string[]) => {
  await ctx.close();
  const r = await runMdw(['--home', ctx.settings.home, '--config-dir', configs, ...args], { env: url ? { MDW_DATABASE_URL: url } : {} });
  ctx = at(now);
  catalog = await ctx.catalog();
  return r;
};

function minuteLines(change?: { symbol: string; date: string; minute: number; close: number }): string {
  const lines = ['ticker;day;time;o;h;l;c;qty'];
  for (const sym of symbols) {
    sessions.forEach((s, d) => {
      for (let i = 0; i < 390; i++) {
        const minutes = 9 * 60 + 30 + i;
        const time = `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
        const o = 10000 + d * 10 + (i % 13) + (sym === 'GLOBEX' ? 500 : 0);
        let c = o + ((i % 3) - 1);
        if (change && change.symbol === sym && change.date === s.date && change.minute === i) c = change.close;
        lines.push(`${sym.toLowerCase()};${s.date.replaceAll('-', '/')};${time};${o};${Math.max(o, c) + 2};${Math.min(o, c) - 2};${c};${1000 + ((i * 7 + d) % 50)}`);
      }
    });
  }
  return lines.join('\n') + '\n';
}

function policies(name: string, yaml: string): RetentionConfig {
  const file = path.join(root, `${name}.yml`);
  writeFileSync(file, yaml);
  return loadRetentionConfig(file, ctx.env, { required: true });
}

const smallDays = () => policies('small-days', 'policies:\n  - name: small-days\n    dataset: ohlcv\n    source: cmp-minute\n    compact: { below: 64MB, into: month }\n');
const options = (o: Partial<RetentionOptions> = {}): RetentionOptions => ({ dryRun: false, compact: false, purgeAfterMs: 7 * 86_400_000, runId: null, ...o });

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

async function manifest(): Promise<{ uri: string; rows: number; bytes: number; id: string }[]> {
  return catalog.sql<{ uri: string; rows: number; bytes: number; id: string }[]>`
    select m.id, m.uri, m.rows, m.bytes from mdw.partition_manifest m join mdw.data_source s on s.id = m.source_id where s.name = 'cmp-minute' order by m.uri`;
}

/** The partition folders the manifest names, below the series folder (symbol=ACME/month=2024-02). */
const folders = async () => (await manifest()).map((m) => [m.uri.split('/').slice(3, 5).join('/'), Number(m.rows)]);

/** Every row of the files readers open, as they open them: each file in order, rows in stored order. */
async function readerRows(): Promise<string[]> {
  const out: string[] = [];
  for (const file of currentFilesUnder(path.join(ctx.paths.lake, 'ohlcv', 'source=cmp-minute'))) {
    for (const r of await duck.all<Record<string, unknown>>(`SELECT * FROM read_parquet('${file}', hive_partitioning = false)`)) out.push(JSON.stringify(r));
  }
  return out;
}

const query = ['query', 'ohlcv', 'ACME', 'GLOBEX', '-g', '1m', '--source', 'cmp-minute', '--from', '2024-02-01', '--to', '2024-04-02', '--format', 'csv', '--columns', 'ts,symbol,open,high,low,close,volume,quality,flags'];

beforeAll(async () => {
  root = tempDir('mdw-compact-');
  configs = copyConfigs(root);
  // This warehouse stores minute bars by symbol and day, as second bars are by default.
  const grain = path.join(configs, 'datasets.yml');
  const text = readFileSync(grain, 'utf8');
  expect(text).toContain('      - granularities: [1s, 5s, 10s, 15s, 30s]\n');
  writeFileSync(grain, text.replace('      - granularities: [1s, 5s, 10s, 15s, 30s]\n', '      - granularities: [1s, 5s, 10s, 15s, 30s, 1m]\n'));
  ({ url, drop } = await freshCatalog());
  ctx = testContext({ home: path.join(root, 'home'), databaseUrl: url, configDir: configs, now });
  mkdirSync(ctx.paths.lake, { recursive: true });
  catalog = await ctx.catalog();
  duck = await DuckSession.open({ threads: 1 });
  const dir = path.join(root, 'data');
  mkdirSync(dir, { recursive: true });
  csv = path.join(dir, 'minutes.csv');
  writeFileSync(csv, minuteLines());
  writeFileSync(
    path.join(configs, 'jobs', 'cmp-minute.yml'),
    `dataset: ohlcv\ngranularity: 1m\ncalendar: XNYS\nsource: { name: cmp-minute, adapter: file, files: ['${csv}'] }\ntransform: custom-minute\n`,
  );
  job = loadJob(configs, 'cmp-minute', ctx.env);
  await runIngest(ctx, job, all);
});

afterAll(async () => {
  duck.close();
  await ctx.close();
  await drop();
  removeDir(root);
});

describe('compaction of minute bars by day into months', () => {
  let stored: string[];
  let answer: string;
  let lineageBefore: { batch_id: string; raw_uri: string; records_out: number; period: string }[];

  test('the fixture: a partition per symbol and session, 390 bars each', async () => {
    expect([february.length, march.length, sessions.length]).toEqual([20, 20, 41]);
    const parts = await folders();
    expect(parts).toHaveLength(2 * 41);
    expect(parts[0]).toEqual(['symbol=ACME/day=2024-02-01', 390]);
    expect(parts.every(([, rows]) => rows === 390)).toBe(true);
    stored = await readerRows();
    expect(stored).toHaveLength(2 * 41 * 390);
    const q = await mdw(...query);
    expect(q.code).toBe(0);
    answer = q.stdout;
    expect(answer.trim().split('\n')).toHaveLength(1 + 2 * 41 * 390);
    lineageBefore = await catalog.sql`
      select l.batch_id, l.raw_uri, l.records_out, m.period from mdw.lineage_item l join mdw.partition_manifest m on m.id = l.manifest_id order by m.period, l.raw_uri`;
    expect(lineageBefore).toHaveLength(2 * 41);
  });

  test('--dry-run lists the merges (partitions, rows, bytes) and changes no file and no catalog row', async () => {
    const files = fileHashes(ctx.paths.lake);
    const rows = await manifest();
    const report = await runRetention(ctx, smallDays(), options({ dryRun: true }));
    const merged = rows.filter((m) => !m.uri.includes('day=2024-04'));
    expect(report.lines.map((l) => [l.policy, l.action, l.partitions, l.rows, l.bytes])).toEqual([
      ['small-days', 'merge', 2 * 40, 2 * 40 * 390, merged.reduce((n, m) => n + Number(m.bytes), 0)],
    ]);
    expect(fileHashes(ctx.paths.lake)).toEqual(files);
    expect(await manifest()).toEqual(rows);
    // The command line says the same, as a table of the plan.
    const cli = await mdw('retention', '--dry-run', '--config', path.join(root, 'small-days.yml'), '--format', 'csv');
    expect(cli.code).toBe(0);
    expect(cli.stdout.trim().split('\n')[1]).toBe(`small-days,ohlcv,cmp-minute,1m,merge,,80,${80 * 390},${merged.reduce((n, m) => n + Number(m.bytes), 0)}`);
    expect(fileHashes(ctx.paths.lake)).toEqual(files);
  });

  test('applied: the ended months are one partition per symbol, with the same rows in the same order; the query answers the same', async () => {
    const report = await runRetention(ctx, smallDays(), options());
    expect(report.lines.map((l) => [l.action, l.partitions, l.rows])).toEqual([['merge', 80, 80 * 390]]);
    expect(await folders()).toEqual([
      ['symbol=ACME/day=2024-04-01', 390],
      ['symbol=ACME/month=2024-02', 20 * 390],
      ['symbol=ACME/month=2024-03', 20 * 390],
      ['symbol=GLOBEX/day=2024-04-01', 390],
      ['symbol=GLOBEX/month=2024-02', 20 * 390],
      ['symbol=GLOBEX/month=2024-03', 20 * 390],
    ]);
    // Readers open six files; the rows, their values, batch and flags, and their order are those of the days.
    const readers = currentFilesUnder(path.join(ctx.paths.lake, 'ohlcv', 'source=cmp-minute'));
    expect(readers.map((f) => path.relative(path.join(ctx.paths.lake, 'ohlcv', 'source=cmp-minute', 'granularity=1m'), f))).toEqual([
      'symbol=ACME/day=2024-04-01/data-000001.parquet',
      'symbol=ACME/month=2024-02/data-000001.parquet',
      'symbol=ACME/month=2024-03/data-000001.parquet',
      'symbol=GLOBEX/day=2024-04-01/data-000001.parquet',
      'symbol=GLOBEX/month=2024-02/data-000001.parquet',
      'symbol=GLOBEX/month=2024-03/data-000001.parquet',
    ]);
    const after = await readerRows();
    const byPeriod = (rows: string[]) => [...rows].sort((a, b) => {
      const x = JSON.parse(a) as { symbol: string; ts: string };
      const y = JSON.parse(b) as { symbol: string; ts: string };
      return x.symbol < y.symbol ? -1 : x.symbol > y.symbol ? 1 : String(x.ts) < String(y.ts) ? -1 : 1;
    });
    expect(after).toHaveLength(stored.length);
    // In file order: a month's rows are its days' rows, concatenated in day order.
    const acmeFeb = stored.filter((r) => r.includes('"ACME"') && r.includes('2024-02-'));
    expect(after.filter((r) => r.includes('"ACME"') && r.includes('2024-02-'))).toEqual(acmeFeb);
    expect(byPeriod(after)).toEqual(byPeriod(stored));
    const q = await mdw(...query);
    expect(q.stdout).toBe(answer);
    // The day files stay until the grace period ends, superseded: no reader opens them.
    expect(existsSync(path.join(ctx.paths.lake, 'ohlcv/source=cmp-minute/granularity=1m/symbol=ACME/day=2024-02-01/data-000001.parquet'))).toBe(true);
  });

  test('the lineage of every row now names the month holding it, and the merge is a batch with its own lineage', async () => {
    const moved = await catalog.sql<{ batch_id: string; raw_uri: string; records_out: number; period: string }[]>`
      select l.batch_id, l.raw_uri, l.records_out, m.period from mdw.lineage_item l join mdw.partition_manifest m on m.id = l.manifest_id
      where l.config_key not like 'compact:%' order by m.period, l.raw_uri`;
    expect(moved).toHaveLength(lineageBefore.length);
    const monthOf = (p: string) => (p.startsWith('2024-04') ? p : p.slice(0, 7));
    expect([...moved].sort((a, b) => (a.raw_uri + a.period < b.raw_uri + b.period ? -1 : 1))).toEqual(
      lineageBefore.map((l) => ({ ...l, period: monthOf(l.period) })).sort((a, b) => (a.raw_uri + a.period < b.raw_uri + b.period ? -1 : 1)),
    );
    const merge = await catalog.sql<{ raw_uri: string; records_in: number; records_out: number; period: string; status: string }[]>`
      select l.raw_uri, l.records_in, l.records_out, m.period, b.status from mdw.lineage_item l join mdw.partition_manifest m on m.id = l.manifest_id
      join mdw.batch b on b.id = l.batch_id where l.config_key = 'compact:small-days' order by l.raw_uri`;
    expect(merge).toHaveLength(80);
    expect(merge.every((l) => l.records_in === 390 && l.records_out === 390 && l.status === 'committed' && l.raw_uri.includes(`day=${l.period}-`))).toBe(true);
    // The rows keep the batch that loaded them.
    const [batches] = await duck.all<{ n: number; b: string }>(
      `SELECT count(DISTINCT batch_id) AS n, any_value(batch_id) AS b FROM read_parquet('${path.join(ctx.paths.lake, (await manifest())[1]!.uri)}')`,
    );
    expect(Number(batches!.n)).toBe(1);
    expect(batches!.b).toBe(lineageBefore[0]!.batch_id);
  });

  test('the audit is clean: no orphan, nothing missing, every session of the ledger complete', async () => {
    const audit = (await auditSeries(ctx, job, { tolerance: 0.005 }))!;
    expect(audit.integrity).toEqual([]);
    expect(audit.ledger).toEqual(
      symbols.map((symbol) => ({ symbol, firstSession: '2024-02-01', lastSession: '2024-04-01', status: 'GREEN', sessions: 41, expectedBars: 41 * 390, presentBars: 41 * 390, quarantined: 0 })),
    );
    const cli = await mdw('audit', 'cmp-minute', '--fail-on', 'integrity,red', '--section', 'integrity', '--format', 'csv');
    expect(cli.code).toBe(0);
    expect(cli.stdout.trim().split('\n')).toHaveLength(1);
  });

  test('a re-run merges nothing and changes no file', async () => {
    const files = fileHashes(ctx.paths.lake);
    const report = await runRetention(ctx, smallDays(), options());
    expect(report.lines).toEqual([]);
    expect((await runRetention(ctx, policies('none', 'policies: []\n'), options({ compact: true }))).lines).toEqual([]);
    expect(fileHashes(ctx.paths.lake)).toEqual(files);
  });

  test('an ingest of the same bars again changes nothing; a corrected bar of a merged month lands in the month, with no duplicate and no day partition', async () => {
    const files = fileHashes(ctx.paths.lake);
    const again = await runIngest(ctx, job, { ...all, full: true });
    expect(again.partitions.written).toBe(0);
    expect(fileHashes(ctx.paths.lake)).toEqual(files);

    // The 10:00 bar of 2024-02-14 for ACME (100.93 as first loaded), corrected by its vendor to 100.99 (the file has cents).
    writeFileSync(csv, minuteLines({ symbol: 'ACME', date: '2024-02-14', minute: 30, close: 10099 }));
    const fix = await runIngest(ctx, job, all);
    expect(fix.partitions.written).toBe(1);
    expect(fix.writes.filter((w) => w.changes > 0).map((w) => w.uri.split('/').slice(3).join('/'))).toEqual(['symbol=ACME/month=2024-02/data-000002.parquet']);
    expect(await folders()).toEqual([
      ['symbol=ACME/day=2024-04-01', 390],
      ['symbol=ACME/month=2024-02', 20 * 390],
      ['symbol=ACME/month=2024-03', 20 * 390],
      ['symbol=GLOBEX/day=2024-04-01', 390],
      ['symbol=GLOBEX/month=2024-02', 20 * 390],
      ['symbol=GLOBEX/month=2024-03', 20 * 390],
    ]);
    expect((await manifest()).find((m) => m.uri.includes('ACME/month=2024-02'))!.uri).toMatch(/data-000002\.parquet$/);
    expect(readdirSync(path.join(ctx.paths.lake, 'ohlcv/source=cmp-minute/granularity=1m/symbol=ACME/day=2024-02-14'))).toEqual(['data-000001.parquet']);
    const rows = await duck.all<{ n: number; keys: number; close: number }>(
      `SELECT count(*) AS n, count(DISTINCT (symbol, ts)) AS keys, max(close) FILTER (WHERE symbol = 'ACME' AND ts = TIMESTAMP '2024-02-14 15:00:00') AS close ` +
        `FROM read_parquet([${currentFilesUnder(path.join(ctx.paths.lake, 'ohlcv', 'source=cmp-minute')).map((f) => `'${f}'`).join(', ')}], hive_partitioning = false)`,
    );
    expect(rows.map((r) => [Number(r.n), Number(r.keys), Number(r.close)])).toEqual([[2 * 41 * 390, 2 * 41 * 390, 100.99]]);
    const q = await mdw(...query);
    const was = answer.split('\n');
    const changed = q.stdout.split('\n').filter((l, i) => l !== was[i]);
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatch(/^2024-02-14T15:00:00(\.000)?Z,ACME,/);
    const audit = (await auditSeries(ctx, job, { tolerance: 0.005 }))!;
    expect(audit.integrity).toEqual([]);
  });

  test('after the grace period the replaced day files and their folders leave the lake; readers and the audit see the same', async () => {
    const rowsBefore = await readerRows();
    await reopen('2024-04-03T12:00:00Z');
    await runRetention(ctx, policies('none', 'policies: []\n'), options({ compact: true }));
    await runIngest(ctx, job, all);
    const left = readdirSync(path.join(ctx.paths.lake, 'ohlcv/source=cmp-minute/granularity=1m/symbol=ACME')).sort();
    expect(left).toEqual(['day=2024-04-01', 'month=2024-02', 'month=2024-03']);
    expect(await readerRows()).toEqual(rowsBefore);
    const audit = (await auditSeries(ctx, job, { tolerance: 0.005 }))!;
    expect(audit.integrity).toEqual([]);
    await reopen(now);
  });
});
