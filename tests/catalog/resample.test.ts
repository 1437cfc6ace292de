import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { calendars } from '../../src/calendar/registry.js';
import { loadCurateJob } from '../../src/config/curate.js';
import { loadJob } from '../../src/config/jobs.js';
import { curatedLoads, runCurate } from '../../src/curate/run-curate.js';
import { landResampled } from '../../src/curate/resampled.js';
import { docStem } from '../../src/curate/landing.js';
import { auditSeries } from '../../src/audit/run-audit.js';
import { curatedPartitionInputs } from '../../src/catalog/curate-catalog.js';
import type { Context } from '../../src/context.js';
import { parseWindow } from '../../src/core/time-window.js';
import { runIngest, type IngestOptions } from '../../src/pipeline/run-ingest.js';
import { resolveBars } from '../../src/query/resampled-ohlcv.js';
import { Warehouse } from '../../src/warehouse.js';
import { currentFilesUnder } from '../../src/lake/partition-files.js';
import { currentFiles, lakeHashes, openWarehouse, runMdw } from '../support/helpers.js';

/**
 * Bars resampled on the fly by `mdw query ohlcv -g` and Warehouse.ohlcv, from minute bars
 * ingested as a job would: the demo minutes against an independent GROUP BY, and a Thanksgiving
 * week generated here (four sessions, the 13:00 early close on Friday 2024-11-29).
 */
const all: IngestOptions = { window: { from: null, toExclusive: null }, symbols: null, dryRun: false, runId: null };

let wh: Awaited<ReturnType<typeof openWarehouse>>;
let ctx: Context;
let lib: Warehouse;

/** Minute i of a session: prices in cents that count the minutes, so every aggregate is known. */
const bar = (i: number) => ({ open: 10_000 + i, high: 10_005 + i, low: 9_995 + i, close: 10_001 + i, qty: 100 + (i % 7) });

/**
 * Every minute of the XNYS sessions of Thanksgiving week in the custom-minute layout (New York
 * time, cents), for each symbol, minus the minutes `drop` leaves out. Written with a job of
 * `granularity` bars (each row one bar of that size).
 */
function writeWeek(name: string, symbols: Record<string, (date: string, minute: number) => boolean>, stepMinutes = 1): void {
  const lines = ['ticker;day;time;o;h;l;c;qty'];
  for (const [symbol, keep] of Object.entries(symbols)) {
    for (const s of calendars.XNYS.sessions('2024-11-25', '2024-11-29')) {
      const count = (s.close.getTime() - s.open.getTime()) / 60_000 / stepMinutes;
      for (let i = 0; i < count; i++) {
        if (!keep(s.date, i)) continue;
        const minutes = 9 * 60 + 30 + i * stepMinutes;
        const time = `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
        const b = bar(i);
        lines.push(`${symbol};${s.date.replace(/-/g, '/')};${time};${b.open};${b.high};${b.low};${b.close};${b.qty}`);
      }
    }
  }
  const file = path.join(wh.root, 'data', `${name}.csv`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, lines.join('\n') + '\n');
  writeFileSync(
    path.join(wh.configs, 'jobs', `${name}.yml`),
    `dataset: ohlcv\ngranularity: ${stepMinutes}m\ncalendar: XNYS\nsource: { name: ${name}, adapter: file, files: ['${file}'] }\ntransform: custom-minute\n`,
  );
}

beforeAll(async () => {
  wh = await openWarehouse('mdw-resample-');
  ctx = wh.ctx;
  writeWeek('thanksgiving', {
    FULL: () => true,
    // GAPPY lacks the last half hour of Wednesday; HOLE has no minute on Tuesday.
    GAPPY: (date, i) => !(date === '2024-11-27' && i >= 360),
    HOLE: (date) => date !== '2024-11-26',
  });
  writeWeek('five', { FIVE: () => true }, 5);
  // Daily bars of another symbol, all symbols in one file a year: they must not hide FULL's minutes from -g 1d.
  const daily = path.join(wh.root, 'data', 'daily', 'DAILY.csv');
  mkdirSync(path.dirname(daily), { recursive: true });
  writeFileSync(daily, 'Date,Open,High,Low,Close,Adj Close,Volume\n2024-11-25,10,11,9,10.5,10.5,1000\n2024-11-26,10.5,12,10,11,11,2000\n');
  writeFileSync(path.join(wh.configs, 'jobs', 'daily.yml'), `dataset: ohlcv\ngranularity: 1d\ncalendar: XNYS\nsource: { name: daily, adapter: file, files: ['${daily}'] }\ntransform: yahoo\n`);
  for (const job of ['demo-minute', 'thanksgiving', 'five', 'daily']) await runIngest(ctx, loadJob(wh.configs, job, ctx.env), all);
  lib = await Warehouse.open({ home: ctx.settings.home, threads: 1 });
});

afterAll(async () => {
  lib?.close();
  await wh.close();
});

/** A library result as rows of plain values (ts as ISO text). */
async function rows(query: Parameters<Warehouse['ohlcv']>[0]): Promise<Record<string, unknown>[]> {
  const r = await lib.ohlcv(query);
  return Array.from({ length: r.rowCount }, (_, i) =>
    Object.fromEntries(
      r.names.map((n, j) => {
        const v = r.columns[j]![i];
        if (n === 'ts') return [n, new Date(Number(v as bigint) / 1000).toISOString().replace('.000Z', 'Z')];
        return [n, r.nulls[j]?.[i] ? null : v];
      }),
    ),
  );
}

describe('1m -> 1d from the demo minutes', () => {
  test('equals the daily bars of an independent GROUP BY over the same minutes, each session whole', async () => {
    const files = currentFiles(path.join(ctx.settings.home, 'lake', 'ohlcv', 'source=demo-minute'));
    const duck = await ctx.duck();
    const expected = await duck.all<Record<string, unknown>>(
      `SELECT symbol, strftime(day, '%Y-%m-%dT00:00:00Z') AS ts, first(open ORDER BY ts) AS open, max(high) AS high, min(low) AS low, ` +
        `last(close ORDER BY ts) AS close, sum(volume) AS volume, count(*) <> 390 AS partial ` +
        `FROM (SELECT *, CAST(timezone('America/New_York', CAST(ts AS TIMESTAMPTZ)) AS DATE) AS day FROM read_parquet(${files})) GROUP BY symbol, day ORDER BY symbol, day`,
    );
    expect(expected.map((r) => [r.symbol, r.ts])).toEqual([
      ['ACME', '2024-03-08T00:00:00Z'],
      ['ACME', '2024-03-11T00:00:00Z'],
      ['GLOBEX', '2024-03-08T00:00:00Z'],
      ['GLOBEX', '2024-03-11T00:00:00Z'],
    ]);
    const got = await rows({ symbols: ['ACME', 'GLOBEX'], granularity: '1d' });
    expect(got).toEqual(expected.map((r) => ({ ...r, partial: false })));
    expect(expected.every((r) => r.partial === false)).toBe(true);
  });
});

describe('Thanksgiving week', () => {
  test('four daily bars, the early close a 09:30-13:00 session of 210 minutes; the week of four sessions is whole', async () => {
    const days = await rows({ symbols: ['FULL'], granularity: '1d', source: 'thanksgiving' });
    const sum = (n: number) => Array.from({ length: n }, (_, i) => bar(i).qty).reduce((a, b) => a + b, 0);
    expect(days).toEqual(
      ['2024-11-25', '2024-11-26', '2024-11-27', '2024-11-29'].map((d) => {
        const n = d === '2024-11-29' ? 210 : 390;
        return { symbol: 'FULL', ts: `${d}T00:00:00Z`, open: 100, high: (10_005 + n - 1) / 100, low: 99.95, close: (10_001 + n - 1) / 100, volume: sum(n), partial: false };
      }),
    );
    const [week, ...more] = await rows({ symbols: ['FULL'], granularity: '1w', source: 'thanksgiving' });
    expect(more).toEqual([]);
    expect(week).toEqual({ symbol: 'FULL', ts: '2024-11-25T00:00:00Z', open: 100, high: 103.94, low: 99.95, close: 102.1, volume: 3 * sum(390) + sum(210), partial: false });
  });

  test('a session with minutes missing is a partial day; a week missing a session or a minute is partial', async () => {
    const days = await rows({ symbols: ['GAPPY', 'HOLE'], granularity: '1d', source: 'thanksgiving', columns: ['symbol', 'ts', 'close', 'partial'] });
    expect(days.map((r) => [r.symbol, r.ts, r.close, r.partial])).toEqual([
      ['GAPPY', '2024-11-25T00:00:00Z', 103.9, false],
      ['GAPPY', '2024-11-26T00:00:00Z', 103.9, false],
      ['GAPPY', '2024-11-27T00:00:00Z', 103.6, true],
      ['GAPPY', '2024-11-29T00:00:00Z', 102.1, false],
      ['HOLE', '2024-11-25T00:00:00Z', 103.9, false],
      ['HOLE', '2024-11-27T00:00:00Z', 103.9, false],
      ['HOLE', '2024-11-29T00:00:00Z', 102.1, false],
    ]);
    const weeks = await rows({ symbols: ['FULL', 'GAPPY', 'HOLE'], granularity: '1w', source: 'thanksgiving', columns: ['symbol', 'ts', 'partial'] });
    expect(weeks).toEqual([
      { symbol: 'FULL', ts: '2024-11-25T00:00:00Z', partial: false },
      { symbol: 'GAPPY', ts: '2024-11-25T00:00:00Z', partial: true },
      { symbol: 'HOLE', ts: '2024-11-25T00:00:00Z', partial: true },
    ]);
  });

  test('hourly bars: the 09:00 bar holds 09:30-09:59, the early close has four; 5m bars start at the open', async () => {
    const hours = await rows({ symbols: ['FULL'], granularity: '1h', source: 'thanksgiving', from: '2024-11-29', to: '2024-11-29', columns: ['ts', 'open', 'close', 'volume'] });
    const qty = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => bar(from + i).qty).reduce((a, b) => a + b, 0);
    expect(hours).toEqual([
      { ts: '2024-11-29T14:00:00Z', open: 100, close: 100.3, volume: qty(0, 30) },
      { ts: '2024-11-29T15:00:00Z', open: 100.3, close: 100.9, volume: qty(30, 90) },
      { ts: '2024-11-29T16:00:00Z', open: 100.9, close: 101.5, volume: qty(90, 150) },
      { ts: '2024-11-29T17:00:00Z', open: 101.5, close: 102.1, volume: qty(150, 210) },
    ]);
    const five = await rows({ symbols: ['FULL'], granularity: '5m', source: 'thanksgiving', from: '2024-11-29T14:30:00Z', to: '2024-11-29T14:39:59Z', columns: ['ts', 'open', 'close'] });
    expect(five).toEqual([
      { ts: '2024-11-29T14:30:00Z', open: 100, close: 100.05 },
      { ts: '2024-11-29T14:35:00Z', open: 100.05, close: 100.1 },
    ]);
  });

  test('stored daily bars of other symbols do not hide minutes; stored daily bars are read as stored', async () => {
    const resampled = await rows({ symbols: ['FULL'], granularity: '1d', from: '2024-11-29', to: '2024-11-29' });
    expect(resampled).toEqual([{ symbol: 'FULL', ts: '2024-11-29T00:00:00Z', open: 100, high: 102.14, low: 99.95, close: 102.1, volume: 3085 + 6182 + 6177 + 6186, partial: false }]);
    const stored = await rows({ symbols: ['DAILY'], granularity: '1d' });
    expect(stored).toEqual([
      { symbol: 'DAILY', ts: '2024-11-25T00:00:00Z', open: 10, high: 11, low: 9, close: 10.5, volume: 1000 },
      { symbol: 'DAILY', ts: '2024-11-26T00:00:00Z', open: 10.5, high: 12, low: 10, close: 11, volume: 2000 },
    ]);
    const [week] = await rows({ symbols: ['DAILY'], granularity: '1w' });
    expect(week).toEqual({ symbol: 'DAILY', ts: '2024-11-25T00:00:00Z', open: 10, high: 12, low: 9, close: 11, volume: 3000, partial: true });
  });

  test('a size the stored bars do not divide is refused, saying why; the finest stored series that divides is used', async () => {
    const duck = await ctx.duck();
    const req = { symbols: ['FIVE'], window: parseWindow('2024-11-29', '2024-11-29'), granularity: '7m', source: 'five' };
    await expect(resolveBars(duck, path.join(ctx.settings.home, 'lake'), req)).rejects.toThrow(
      'no 7m bars are stored for five, and the finer bars stored cannot be resampled to 7m (from 5m: 7m is not a whole multiple of 5m, so its bars would split 5m bars)',
    );
    const plan = await resolveBars(duck, path.join(ctx.settings.home, 'lake'), { ...req, granularity: '1h' });
    expect(plan.resampled).toEqual({ from: '5m', calendar: 'XNYS', stored: false });
    const hours = await rows({ symbols: ['FIVE'], granularity: '1h', source: 'five', from: '2024-11-29', to: '2024-11-29', columns: ['ts', 'open', 'close'] });
    // Bar i of the five-minute file is minute i's prices: the 09:00 bar holds bars 0-5.
    expect(hours.map((r) => [r.ts, r.open, r.close])).toEqual([
      ['2024-11-29T14:00:00Z', 100, 100.06],
      ['2024-11-29T15:00:00Z', 100.06, 100.18],
      ['2024-11-29T16:00:00Z', 100.18, 100.3],
      ['2024-11-29T17:00:00Z', 100.3, 100.42],
    ]);
  });
});

describe('stored by a curate job (outputs: resampled)', () => {
  const job = () => {
    writeFileSync(
      path.join(wh.configs, 'jobs', 'thanksgiving-resampled.yml'),
      'kind: curate\nbars: thanksgiving\noutputs: [resampled]\nresample:\n  to: [5m, 1h, 1d, 1w]\n',
    );
    return loadCurateJob(wh.configs, 'thanksgiving-resampled', ctx.env);
  };
  const sizes = ['5m', '1h', '1d', '1w'];
  const symbols = ['FULL', 'GAPPY', 'HOLE'];
  const read = async (granularity: string) => {
    const plan = await resolveBars(await ctx.duck(), path.join(ctx.settings.home, 'lake'), {
      symbols,
      granularity,
      source: 'thanksgiving',
      window: parseWindow(undefined, undefined),
      columns: ['symbol', 'ts', 'open', 'high', 'low', 'close', 'volume', 'partial'],
    });
    return { stored: plan.resampled?.stored, rows: await (await ctx.duck()).all<Record<string, unknown>>(plan.sql) };
  };

  test('a size the bars do not divide is refused at the job, saying why', () => {
    writeFileSync(path.join(wh.configs, 'jobs', 'bad-resample.yml'), 'kind: curate\nbars: thanksgiving\noutputs: [resampled]\nresample:\n  to: [1h, 90s]\n');
    expect(() => loadCurateJob(wh.configs, 'bad-resample', ctx.env)).toThrow(/bad-resample\.yml:5:\d+: job thanksgiving's 1m bars cannot be resampled to 90s: 90s is not a whole multiple of 1m/);
  });

  test('the stored bars equal those computed on the fly, and queries read them; a second run writes nothing', async () => {
    const before = Object.fromEntries(await Promise.all(sizes.map(async (g) => [g, await read(g)] as const)));
    for (const g of sizes) expect(before[g]!.stored).toBe(false);
    expect(before['1d']!.rows.length).toBe(11); // FULL and GAPPY 4 sessions, HOLE 3
    expect(before['1w']!.rows.length).toBe(3);

    const results = await runCurate(ctx, job(), { symbols: null, dryRun: false, runId: null });
    expect(results.map((r) => [r.output, r.granularity, r.units, r.changed, r.load?.counts.out, r.load?.counts.quarantined])).toEqual(
      sizes.map((g) => ['resampled', g, 3, 3, before[g]!.rows.length, 0]),
    );
    for (const g of sizes) {
      const after = await read(g);
      expect(after.stored).toBe(true);
      expect(after.rows).toEqual(before[g]!.rows);
    }
    // The partial flags came through the load: GAPPY's Wednesday, HOLE's week.
    const days = (await read('1d')).rows.filter((r) => r.partial === true).map((r) => `${r.symbol} ${(r.ts as Date).toISOString().slice(0, 10)}`);
    expect(days).toEqual(['GAPPY 2024-11-27']);
    expect((await read('1w')).rows.map((r) => [r.symbol, r.partial])).toEqual([['FULL', false], ['GAPPY', true], ['HOLE', true]]);

    const lake = path.join(ctx.settings.home, 'lake');
    const hashes = lakeHashes(lake);
    const again = await runCurate(ctx, job(), { symbols: null, dryRun: false, runId: null });
    expect(again.map((r) => [r.changed, r.rows, r.load?.partitions.written ?? 0])).toEqual(sizes.map(() => [0, 0, 0]));
    expect(lakeHashes(lake)).toEqual(hashes);

    // Lineage: the curated daily partition traces to the documents its batch loaded, one per
    // symbol, and each to the minute partitions it was computed from.
    const [curatedDaily] = currentFilesUnder(path.join(lake, 'curated', 'ohlcv_resampled', 'source=thanksgiving', 'granularity=1d'));
    const traced = await curatedPartitionInputs(wh.catalog.sql, path.relative(lake, curatedDaily!));
    const minutes = currentFilesUnder(path.join(lake, 'ohlcv', 'source=thanksgiving')).map((f) => path.relative(lake, f));
    expect(minutes.length).toBe(3);
    expect(new Set(traced.map((t) => path.basename(t.doc).split('.')[0]))).toEqual(new Set(['symbol=FULL', 'symbol=GAPPY', 'symbol=HOLE']));
    expect(traced.map((t) => [t.kind, t.input]).sort()).toEqual(minutes.map((m) => ['partition', m]).sort());

    // The audit checks the curated files against their manifest, as ingested ones.
    const daily = curatedLoads(wh.configs, lake, ctx.env, job()).find((l) => l.granularity === '1d')!;
    expect(daily.job.dataset.name).toBe('ohlcv_resampled');
    expect((await auditSeries(ctx, daily.job, { tolerance: 0.005 }))!.integrity).toEqual([]);
    const [file] = currentFilesUnder(path.join(lake, 'curated', 'ohlcv_resampled', 'source=thanksgiving', 'granularity=1d'));
    const bytes = readFileSync(file!);
    const flipped = Buffer.from(bytes);
    flipped[100] = flipped[100]! ^ 0xff;
    writeFileSync(file!, flipped);
    try {
      const audit = await auditSeries(ctx, daily.job, { tolerance: 0.005 });
      expect(audit!.integrity.map((p) => [path.basename(path.dirname(p.uri)), p.problem])).toEqual([['year=2024', 'hash_mismatch']]);
    } finally {
      writeFileSync(file!, bytes);
    }
  });

  test('new minutes of one symbol: queries compute on the fly until curate has loaded them, which computes that symbol only', async () => {
    // GAPPY's missing half hour of Wednesday arrives.
    writeWeek('thanksgiving', { FULL: () => true, GAPPY: () => true, HOLE: (date) => date !== '2024-11-26' });
    await runIngest(ctx, loadJob(wh.configs, 'thanksgiving', ctx.env), all);
    const fresh = await read('1d');
    expect(fresh.stored).toBe(false);
    expect(fresh.rows.filter((r) => r.partial === true)).toEqual([]);
    // Landed but not loaded yet (a curate run between the two, or one that died): still computed.
    const spec = job().resample!;
    const landed = await landResampled(ctx, spec, spec.to[2]!, { symbols: null, dryRun: false, record: async () => {} });
    expect([landed.changed, landed.groups]).toEqual([1, 3]);
    expect((await read('1d')).stored).toBe(false);

    const results = await runCurate(ctx, job(), { symbols: null, dryRun: false, runId: null });
    // GAPPY's document of each size: six new 5m bars, the changed 15:00 hour, Wednesday and the week.
    // 1d's document had landed already: its load stores it now.
    expect(results.map((r) => [r.granularity, r.changed, r.load?.counts.out])).toEqual([
      ['5m', 1, 6],
      ['1h', 1, 1],
      ['1d', 0, 1],
      ['1w', 1, 1],
    ]);
    const after = await read('1d');
    expect(after.stored).toBe(true);
    expect(after.rows).toEqual(fresh.rows);
    const wednesday = after.rows.find((r) => r.symbol === 'GAPPY' && (r.ts as Date).toISOString().startsWith('2024-11-27'))!;
    const sum = Array.from({ length: 390 }, (_, i) => bar(i).qty).reduce((a, b) => a + b, 0);
    expect([wednesday.volume, wednesday.close, wednesday.partial]).toEqual([sum, bar(389).close / 100, false]);
  });
});

describe('resampled documents', () => {
  test('a stem is matched whole: BRK is not the start of BRK.B', () => {
    expect(docStem('symbol=BRK.B.0123456789abcdef.fedcba9876543210.ndjson')).toBe('symbol=BRK.B');
    expect(docStem('symbol=BRK.0123456789abcdef.fedcba9876543210.ndjson')).toBe('symbol=BRK');
    expect(docStem('year=2024.0123456789abcdef.ndjson')).toBe('year=2024');
    expect(docStem('loaded.json')).toBeNull();
  });

  test('bars resampled another way (extended hours) are refused over those stored, saying what to remove', async () => {
    writeFileSync(path.join(wh.configs, 'jobs', 'thanksgiving-extended.yml'), 'kind: curate\nbars: thanksgiving\noutputs: [resampled]\nresample:\n  to: [1h]\n  extended_hours: true\n');
    await expect(runCurate(ctx, loadCurateJob(wh.configs, 'thanksgiving-extended', ctx.env), { symbols: null, dryRun: false, runId: null })).rejects.toThrow(
      /the 1h bars of thanksgiving stored in lake\/curated\/ohlcv_resampled were resampled another way .* remove lake\/curated\/ohlcv_resampled\/source=thanksgiving\/granularity=1h/,
    );
  });
});

describe('the CLI', () => {
  test('query ohlcv -g 1h reads the hourly bars the curate job stored (up to date) and says so on stderr', async () => {
    lib.close();
    await ctx.close();
    const r = await runMdw(['--home', ctx.settings.home, '--config-dir', wh.configs, 'query', 'ohlcv', 'full', '-g', '1h', '--from', '2024-11-29', '--to', '2024-11-29', '--format', 'csv']);
    lib = await Warehouse.open({ home: ctx.settings.home, threads: 1 });
    expect(r.stderr).toContain('no 1h bars from the vendor: read the 1h bars a curate job resampled from the 1m bars stored now, on the XNYS calendar');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      'symbol,ts,open,high,low,close,volume',
      'FULL,2024-11-29T14:00:00Z,100,100.34,99.95,100.3,3085',
      'FULL,2024-11-29T15:00:00Z,100.3,100.94,100.25,100.9,6182',
      'FULL,2024-11-29T16:00:00Z,100.9,101.54,100.85,101.5,6177',
      'FULL,2024-11-29T17:00:00Z,101.5,102.14,101.45,102.1,6186',
    ]);
    // 30m bars are not stored: computed from the minutes, and said so.
    const half = await runMdw(['--home', ctx.settings.home, '--config-dir', wh.configs, 'query', 'ohlcv', 'full', '-g', '30m', '--from', '2024-11-29', '--to', '2024-11-29', '--format', 'csv', '--limit', '1']);
    expect(half.stderr).toContain('no 30m bars stored: resampled from 1m bars on the XNYS calendar');
    expect(half.stdout.trim().split('\n')).toEqual(['symbol,ts,open,high,low,close,volume', 'FULL,2024-11-29T14:30:00Z,100,100.34,99.95,100.3,3085']);
  });
});
